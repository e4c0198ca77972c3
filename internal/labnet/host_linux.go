package labnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Command returns a command that runs inside the host's namespace (through
// ip netns exec, which also gives it the namespace's view of /sys). It is
// killed when ctx ends or the lab closes; Close also kills every other
// process found in the lab's namespaces, such as the command's children.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithCancel(ctx)
	context.AfterFunc(h.lab.ctx, cancel)
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Run runs a command inside the host's namespace and returns its combined
// output; a failure's error includes the output.
func (h *Host) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := h.Command(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("labnet: %s in %s: %s %s: %w: %s", name, h.Name, name,
			strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// Do runs fn on an OS thread that has entered the host's network namespace.
// Sockets fn opens belong to the namespace and may be used from any
// goroutine afterwards. Goroutines fn starts do not inherit the namespace,
// and the mount namespace is the caller's (so /sys shows the host's
// devices; /proc/sys/net and netlink show the namespace's). Interface names,
// including the zone of an address such as fe80::1%eth0, are looked up on
// the thread that uses them: use them inside fn. The thread is thrown away
// afterwards, never reused.
func (h *Host) Do(fn func() error) error {
	if h.ns < 0 {
		return fmt.Errorf("labnet: %s: lab closed", h.Name)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the runtime ends the thread with this goroutine, so
		// no other goroutine ever runs in the namespace by accident.
		if err := netns.Set(h.ns); err != nil {
			errc <- fmt.Errorf("labnet: enter namespace %s: %w", h.NS, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// AddAddrs adds addresses to the host's LAN interface (a VIP "by hand":
// /32 or /128 for a VIP). IPv6 addresses skip duplicate address detection.
func (h *Host) AddAddrs(ps ...netip.Prefix) error {
	return h.addAddrs(h.Iface, ps...)
}

// DelAddrs removes addresses from the host's LAN interface.
func (h *Host) DelAddrs(ps ...netip.Prefix) error {
	return h.delAddrs(h.Iface, ps...)
}

// Addrs returns the addresses on the host's LAN interface.
func (h *Host) Addrs() ([]netip.Prefix, error) {
	link, err := h.nl.LinkByName(h.Iface)
	if err != nil {
		return nil, fmt.Errorf("labnet: find %s in %s: %w", h.Iface, h.NS, err)
	}
	var list []netlink.Addr
	for range 5 {
		list, err = h.nl.AddrList(link, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("labnet: addresses of %s in %s: %w", h.Iface, h.NS, err)
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out, nil
}

// HasAddrs reports whether every one of addrs is on the host's LAN
// interface.
func (h *Host) HasAddrs(addrs ...netip.Addr) (bool, error) {
	have, err := h.Addrs()
	if err != nil {
		return false, err
	}
	set := make(map[netip.Addr]bool, len(have))
	for _, p := range have {
		set[p.Addr()] = true
	}
	for _, a := range addrs {
		if !set[a] {
			return false, nil
		}
	}
	return true, nil
}

// HoldsAddrs reports whether every one of addrs is on some interface of
// the host (a VIP on a virtual MAC interface is not on the LAN interface).
func (h *Host) HoldsAddrs(addrs ...netip.Addr) (bool, error) {
	var list []netlink.Addr
	var err error
	for range 5 {
		list, err = h.nl.AddrList(nil, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return false, fmt.Errorf("labnet: addresses in %s: %w", h.NS, err)
	}
	set := make(map[netip.Addr]bool, len(list))
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			set[ip.Unmap()] = true
		}
	}
	for _, a := range addrs {
		if !set[a] {
			return false, nil
		}
	}
	return true, nil
}
