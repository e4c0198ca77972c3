//go:build linux

package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Deadlines of the one-shot runs when ctx has none.
const (
	DefaultNudgeTimeout = 10 * time.Second
	DefaultCheckTimeout = 3 * time.Second
)

// ErrNotAssigned: a VIP given to Nudge or Check is not an address of the
// interface; its echoes could not come from it.
var ErrNotAssigned = errors.New("VIP not assigned to the interface")

// Nudge is `vipd nudge`: without a daemon, it verifies each VIP on ifi now
// and climbs the remediation ladder for the stale ones until every VIP is
// verified (or unverifiable), or ctx ends (DefaultNudgeTimeout if ctx has
// no deadline). The targets are the gateways of the VIPs' prefixes plus
// targets (see Targets). The VIPs must be assigned to ifi. It returns the
// statuses at the end; a VIP still stale is not an error.
func Nudge(ctx context.Context, ifi *net.Interface, vips, targets []netip.Addr, log *slog.Logger) ([]VIPStatus, error) {
	return oneShot(ctx, ifi, vips, targets, false, DefaultNudgeTimeout, log)
}

// Check is `vipd doctor`'s verification: like Nudge but it only probes,
// sending nothing but echo requests, and returns once every VIP is
// verified or has had its initial probes (DefaultCheckTimeout at most if
// ctx has no deadline).
func Check(ctx context.Context, ifi *net.Interface, vips, targets []netip.Addr) ([]VIPStatus, error) {
	return oneShot(ctx, ifi, vips, targets, true, DefaultCheckTimeout, nil)
}

func oneShot(ctx context.Context, ifi *net.Interface, vips, targets []netip.Addr, checkOnly bool, timeout time.Duration, log *slog.Logger) ([]VIPStatus, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	prefixes, p4, p6, err := interfaceAddrs(ifi, vips)
	if err != nil {
		return nil, err
	}
	tgts, err := Targets(ifi.Index, prefixes, targets)
	if err != nil {
		return nil, err
	}
	prober, err := ListenICMP(0, log)
	if err != nil {
		return nil, err
	}
	defer prober.Close()

	neigh, err := OpenNeighbors()
	if err != nil {
		return nil, err
	}
	defer neigh.Close()

	deps := Deps{Prober: prober, Neighbors: neigh, Logger: log, Pacer: nopPacer{}}
	runCtx, stopRun := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopRun()
	if !checkOnly {
		sender, err := announce.OpenSender(ifi)
		if err != nil {
			return nil, err
		}
		defer sender.Close()
		pacer := announce.NewPacer(0, 0, nil, log)
		wg.Add(1)
		go func() {
			defer wg.Done()
			pacer.Run(runCtx)
		}()
		deps.Pacer, deps.Sender = pacer, sender
	}
	v := New(Config{
		Instance:  "oneshot",
		Interface: ifi.Name,
		IfIndex:   ifi.Index,
		MAC:       ifi.HardwareAddr,
		Primary4:  p4,
		Primary6:  p6,
		VIPs:      vips,
		Targets:   tgts,
		CheckOnly: checkOnly,
	}, deps)
	v.Start(runCtx)
	v.waitSettled(ctx)
	st := v.Status()
	v.Stop()
	return st, nil
}

// interfaceAddrs returns the prefixes of vips as assigned to ifi, and the
// interface's own (primary) IPv4 and IPv6 addresses: the first ones that
// are no VIP, preferring global scope, skipping tentative and DAD-failed
// IPv6 addresses.
func interfaceAddrs(ifi *net.Interface, vips []netip.Addr) (prefixes []netip.Prefix, p4, p6 netip.Addr, err error) {
	link, err := netlink.LinkByIndex(ifi.Index)
	if err != nil {
		return nil, p4, p6, fmt.Errorf("verify: interface %s: %w", ifi.Name, err)
	}
	var as []netlink.Addr
	err = retryDump(func() (err error) {
		as, err = netlink.AddrList(link, netlink.FAMILY_ALL)
		return err
	})
	if err != nil {
		return nil, p4, p6, fmt.Errorf("verify: addresses of %s: %w", ifi.Name, err)
	}
	assigned := make(map[netip.Addr]netip.Prefix)
	var ll6 netip.Addr
	isVIP := make(map[netip.Addr]bool)
	for _, v := range vips {
		isVIP[v.Unmap()] = true
	}
	for _, a := range as {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || a.IPNet == nil {
			continue
		}
		ip = ip.Unmap()
		ones, _ := a.Mask.Size()
		if ip.Is4() && ones > 32 {
			ones -= 96
		}
		assigned[ip] = netip.PrefixFrom(ip, ones)
		if isVIP[ip] || a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
			continue
		}
		switch {
		case ip.Is4() && !p4.IsValid():
			p4 = ip
		case ip.Is6() && ip.IsLinkLocalUnicast() && !ll6.IsValid():
			ll6 = ip
		case ip.Is6() && !ip.IsLinkLocalUnicast() && !p6.IsValid():
			p6 = ip
		}
	}
	if !p6.IsValid() {
		p6 = ll6
	}
	var missing []netip.Addr
	for _, v := range vips {
		p, ok := assigned[v.Unmap()]
		if !ok {
			missing = append(missing, v)
			continue
		}
		prefixes = append(prefixes, p)
	}
	if len(missing) > 0 {
		return nil, p4, p6, fmt.Errorf("verify: %v on %s: %w", missing, ifi.Name, ErrNotAssigned)
	}
	return prefixes, p4, p6, nil
}

// nopPacer refuses everything; Check never sends.
type nopPacer struct{}

func (nopPacer) SendNow(string, announce.Sender, ...announce.Packet) error {
	return errors.New("verify: check sends nothing")
}
func (nopPacer) Cancel(string) {}
