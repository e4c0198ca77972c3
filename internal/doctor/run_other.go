//go:build !linux

package doctor

import (
	"context"
	"errors"
	"fmt"
)

// Run is only implemented on Linux.
func Run(ctx context.Context, o Options) (Report, error) {
	return Report{}, fmt.Errorf("doctor: %w", errors.ErrUnsupported)
}
