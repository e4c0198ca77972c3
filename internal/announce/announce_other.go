//go:build !linux

package announce

import (
	"errors"
	"fmt"
	"net"
)

// OpenSender is only implemented on Linux.
func OpenSender(ifi *net.Interface) (SenderCloser, error) {
	return nil, fmt.Errorf("announce: open sender on %s: %w", ifi.Name, errors.ErrUnsupported)
}
