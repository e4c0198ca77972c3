//go:build !linux

package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Listen is implemented on Linux only.
func Listen(ifi *net.Interface, ipv6 bool) (*Conn, error) {
	return nil, fmt.Errorf("transport: listen on %s: %w", ifi.Name, errors.ErrUnsupported)
}

// PrimaryAddr is implemented on Linux only.
func PrimaryAddr(ifi *net.Interface, ipv6 bool, exclude ...netip.Addr) (netip.Addr, error) {
	return netip.Addr{}, fmt.Errorf("transport: addresses of %s: %w", ifi.Name, errors.ErrUnsupported)
}

// Writer sends VRRP packets on one interface and receives nothing.
type Writer interface {
	WriteTo(payload []byte, src, dst netip.Addr) error
	Close() error
}

// OpenWriter is implemented on Linux only.
func OpenWriter(ifi *net.Interface, ipv6 bool) (Writer, error) {
	return nil, fmt.Errorf("transport: open writer on %s: %w", ifi.Name, errors.ErrUnsupported)
}
