package labnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
)

// SetRouterBehaviour switches the router's behaviour on its LAN interface.
// vips are the addresses Sticky and ReplyOnly apply to; param is the rate
// of Policer (packets per second) or the drop percentage of Lossy. Neighbour
// entries the router already has keep their timers: set Sticky before the
// router learns the addresses (or FlushRouterNeigh).
func (l *Lab) SetRouterBehaviour(b Behaviour, vips []netip.Addr, param int) error {
	script, err := ruleset(b, vips, param, routerLAN)
	if err != nil {
		return err
	}
	if err := l.Router.setSysctls(neighSysctls(b, routerLAN)); err != nil {
		return err
	}
	cmd := l.Router.Command(context.Background(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("labnet: router behaviour %v: nft: %w: %s", b, err, strings.TrimSpace(out.String()))
	}
	l.log.Debug("labnet: router behaviour", "behaviour", b, "vips", len(vips), "param", param)
	return nil
}

// RouterRuleset returns the router's nftables ruleset with its counters.
func (l *Lab) RouterRuleset(ctx context.Context) (string, error) {
	out, err := l.Router.Run(ctx, "nft", "list", "ruleset")
	return string(out), err
}

// RouterNeigh returns the router's LAN-side neighbour table, IPv4 and IPv6:
// every entry that has a link-layer address (incomplete and failed entries
// are left out).
func (l *Lab) RouterNeigh() (map[netip.Addr]net.HardwareAddr, error) {
	r := l.Router
	link, err := r.nl.LinkByName(routerLAN)
	if err != nil {
		return nil, fmt.Errorf("labnet: find %s in %s: %w", routerLAN, r.NS, err)
	}
	var list []netlink.Neigh
	for range 5 {
		list, err = r.nl.NeighList(link.Attrs().Index, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("labnet: router neighbours: %w", err)
	}
	m := make(map[netip.Addr]net.HardwareAddr, len(list))
	for _, n := range list {
		if n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED|netlink.NUD_NOARP) != 0 || len(n.HardwareAddr) == 0 {
			continue
		}
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		m[a.Unmap()] = n.HardwareAddr
	}
	return m, nil
}

// FlushRouterNeigh empties the router's LAN-side neighbour table.
func (l *Lab) FlushRouterNeigh(ctx context.Context) error {
	_, err := l.Router.Run(ctx, "ip", "neigh", "flush", "dev", routerLAN)
	return err
}
