package labnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// WarmRouterNeigh has the router resolve every VIP, at most perSecond new
// resolutions a second, as a router that has carried their traffic for a
// while has: it sends one UDP datagram to the discard port of each VIP the
// router has no link-layer address for, paced, and repeats for those still
// missing, until every VIP has one or ctx ends.
//
// Behind the policer this is how a steady state is reached at all: when
// the client reaches a thousand VIPs at once, the router asks for them all
// in the same instant, every second, the answers arrive in one burst and
// the policer's bucket passes a handful of each burst, so that the
// router's own resolution takes minutes.
func (l *Lab) WarmRouterNeigh(ctx context.Context, vips []netip.Addr, perSecond int) error {
	if perSecond < 1 {
		return fmt.Errorf("labnet: warm the router's neighbours: %d per second, want at least 1", perSecond)
	}
	var c4, c6 *net.UDPConn
	err := l.Router.Do(func() error {
		var err error
		if c4, err = net.ListenUDP("udp4", nil); err != nil {
			return err
		}
		c6, err = net.ListenUDP("udp6", nil)
		return err
	})
	for _, c := range []*net.UDPConn{c4, c6} {
		if c != nil {
			defer c.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("labnet: warm the router's neighbours: %w", err)
	}
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	for pass := 1; ; pass++ {
		have, err := l.RouterNeigh()
		if err != nil {
			return err
		}
		var missing []netip.Addr
		for _, v := range vips {
			if _, ok := have[v.Unmap()]; !ok {
				missing = append(missing, v.Unmap())
			}
		}
		if len(missing) == 0 {
			l.log.Debug("labnet: router resolved every VIP", "vips", len(vips), "passes", pass-1)
			return nil
		}
		for _, v := range missing {
			c := c4
			if v.Is6() {
				c = c6
			}
			// An error (no route, a full queue) leaves the VIP missing:
			// the next pass sends again.
			_, _ = c.WriteToUDPAddrPort([]byte{0}, netip.AddrPortFrom(v, 9))
			select {
			case <-ctx.Done():
				return fmt.Errorf("labnet: warm the router's neighbours: %d of %d VIPs unresolved: %w", len(missing), len(vips), ctx.Err())
			case <-tick.C:
			}
		}
		// The last answers are on their way: one retransmission interval.
		select {
		case <-ctx.Done():
			return fmt.Errorf("labnet: warm the router's neighbours: %d of %d VIPs unresolved: %w", len(missing), len(vips), ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
