//go:build !linux

package vipaddr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// Netlink implements Addresses on Linux only.
type Netlink struct{}

var _ Addresses = (*Netlink)(nil)

// NewNetlink is implemented on Linux only.
func NewNetlink() (*Netlink, error) {
	return nil, fmt.Errorf("vipaddr: netlink: %w", errors.ErrUnsupported)
}

// Close does nothing.
func (n *Netlink) Close() error { return nil }

// Add is implemented on Linux only.
func (n *Netlink) Add(context.Context, int, []netip.Prefix) error { return errors.ErrUnsupported }

// Remove is implemented on Linux only.
func (n *Netlink) Remove(context.Context, int, []netip.Prefix) error { return errors.ErrUnsupported }

// Present is implemented on Linux only.
func (n *Netlink) Present(context.Context, int, []netip.Prefix) ([]netip.Prefix, error) {
	return nil, errors.ErrUnsupported
}
