//go:build !linux

package statedir

import (
	"errors"
	"fmt"
)

// Lock is implemented on Linux only.
func Lock(dir string) (*DirLock, error) {
	return nil, fmt.Errorf("statedir: lock %s: %w", dir, errors.ErrUnsupported)
}
