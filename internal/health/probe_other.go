//go:build !linux

package health

import (
	"context"
	"errors"

	"github.com/vipd/vipd/internal/config"
)

var errNotLinux = errors.New("health: this check type needs Linux")

// ProbeExec fails: exec checks need Linux.
func ProbeExec(context.Context, config.Check) error { return errNotLinux }

// ProbeInterface fails: interface checks need Linux.
func ProbeInterface(context.Context, config.Check) error { return errNotLinux }
