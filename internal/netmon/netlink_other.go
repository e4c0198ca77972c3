//go:build !linux

package netmon

import (
	"errors"
	"fmt"
)

// Open is implemented on Linux only.
func Open(opts Options) (*Monitor, error) {
	return nil, fmt.Errorf("netmon: open: %w", errors.ErrUnsupported)
}
