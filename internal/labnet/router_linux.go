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

// PinRouterNeigh makes the router's entries for vips permanent with the
// MAC each has now (the Pinned behaviour): it returns that MAC per VIP,
// and an error naming the VIPs the router has no entry for yet.
func (l *Lab) PinRouterNeigh(vips []netip.Addr) (map[netip.Addr]net.HardwareAddr, error) {
	have, err := l.RouterNeigh()
	if err != nil {
		return nil, err
	}
	link, err := l.Router.nl.LinkByName(routerLAN)
	if err != nil {
		return nil, fmt.Errorf("labnet: find %s in %s: %w", routerLAN, l.Router.NS, err)
	}
	pinned := make(map[netip.Addr]net.HardwareAddr, len(vips))
	var missing []string
	for _, v := range vips {
		v = v.Unmap()
		mac, ok := have[v]
		if !ok {
			missing = append(missing, v.String())
			continue
		}
		fam := netlink.FAMILY_V4
		if v.Is6() {
			fam = netlink.FAMILY_V6
		}
		n := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: fam, State: netlink.NUD_PERMANENT,
			IP: v.AsSlice(), HardwareAddr: mac}
		if err := l.Router.nl.NeighSet(n); err != nil {
			return pinned, fmt.Errorf("labnet: pin %s at %s: %w", v, mac, err)
		}
		pinned[v] = mac
	}
	if len(missing) > 0 {
		return pinned, fmt.Errorf("labnet: pin: the router has no entry for %s yet", strings.Join(missing, ", "))
	}
	l.log.Debug("labnet: router entries pinned", "vips", len(pinned))
	return pinned, nil
}
