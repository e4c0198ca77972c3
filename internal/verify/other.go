//go:build !linux

package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Targets is only implemented on Linux.
func Targets(ifindex int, vips []netip.Prefix, configured []netip.Addr) ([]netip.Addr, error) {
	return nil, fmt.Errorf("verify: targets: %w", errors.ErrUnsupported)
}

// CheckTargets is only implemented on Linux.
func CheckTargets(ifindex int, configured []netip.Addr) error {
	return fmt.Errorf("verify: check targets: %w", errors.ErrUnsupported)
}

// Nudge is only implemented on Linux.
func Nudge(ctx context.Context, ifi *net.Interface, vips, targets []netip.Addr, log *slog.Logger) ([]VIPStatus, error) {
	return nil, fmt.Errorf("verify: nudge: %w", errors.ErrUnsupported)
}

// Check is only implemented on Linux.
func Check(ctx context.Context, ifi *net.Interface, vips, targets []netip.Addr) ([]VIPStatus, error) {
	return nil, fmt.Errorf("verify: check: %w", errors.ErrUnsupported)
}

// ICMP is the Linux Prober; elsewhere it cannot be opened.
type ICMP struct{}

// ListenICMP is only implemented on Linux.
func ListenICMP(window time.Duration, log *slog.Logger) (*ICMP, error) {
	return nil, fmt.Errorf("verify: open ICMP sockets: %w", errors.ErrUnsupported)
}

// Echo implements Prober.
func (*ICMP) Echo(ifindex int, src, dst netip.Addr, reply func()) error {
	return fmt.Errorf("verify: echo: %w", errors.ErrUnsupported)
}

// Close does nothing.
func (*ICMP) Close() error { return nil }
