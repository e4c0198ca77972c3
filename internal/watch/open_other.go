//go:build !linux

package watch

import (
	"errors"
	"fmt"
	"net"
)

// Open is only implemented on Linux; New works everywhere.
func Open(ifi *net.Interface, deps Deps) (*Watcher, error) {
	return nil, fmt.Errorf("watch: open %s: %w", ifi.Name, errors.ErrUnsupported)
}
