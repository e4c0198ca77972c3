package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/bgp"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/present"
)

// Routed mode (mode: bgp). A routed instance runs no VRRP: no socket, no
// advertisements, no election. Every node announces the VIPs with its
// priority and the router picks the best path, so the instance's state
// machine runs as an address owner would (priority 255: "master" at once,
// which for a routed instance means "announcing"); its faults (health,
// maintenance, interface, shutdown) withdraw the routes like they release
// VIPs in VRRP mode. The priority (after health-check weights) is carried
// to the router by the Presenter (present.Routed) as the routes'
// preference.

// bindInterface is where routed VIPs are bound: the loopback accepts
// their traffic, and nothing answers ARP or ND for them on the LAN as long
// as they are outside the LAN's subnets (the router routes them to the
// node's own address; nobody asks for them).
const bindInterface = "lo"

// startSpeaker starts the BGP speaker when an instance is routed.
func (d *Daemon) startSpeaker(cfg *config.Config) error {
	routed := -1
	for i, ic := range cfg.Instances {
		if ic.Routed() {
			routed = i
			break
		}
	}
	if routed < 0 || cfg.BGP == nil {
		return nil
	}
	id := cfg.BGP.RouterID
	if !id.IsValid() {
		ic := cfg.Instances[routed]
		ifi, err := d.env.InterfaceByName(ic.Interface)
		if err != nil {
			return fmt.Errorf("daemon: bgp router id: interface %s: %w (set bgp.router_id)", ic.Interface, err)
		}
		if id, err = d.env.SourceAddr(ifi, false, nil); err != nil {
			return fmt.Errorf("daemon: bgp router id: no IPv4 address on %s (set bgp.router_id): %w", ic.Interface, err)
		}
	}
	bc := bgp.Config{ASN: cfg.BGP.ASN, RouterID: id}
	for _, p := range cfg.BGP.Peers {
		bc.Peers = append(bc.Peers, bgp.PeerConfig{Address: p.Address, ASN: p.ASN, HoldTime: p.HoldTime})
	}
	sp, err := bgp.Start(context.Background(), bc, bgp.Deps{Logger: d.log, OnPeer: d.peerChanged})
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.speaker, d.routerID = sp, id
	d.log.Info("bgp speaker started", "asn", bc.ASN, "router_id", id.String(), "peers", len(bc.Peers))
	return nil
}

// stopSpeaker closes the sessions (after the instances withdrew).
func (d *Daemon) stopSpeaker() {
	if d.speaker != nil {
		d.speaker.Stop()
	}
}

// peerChanged publishes a session's state change and wakes the routed
// Presenters (a session up or down changes what they verify). It runs on
// the speaker's goroutine.
func (d *Daemon) peerChanged(p bgp.PeerStatus) {
	d.publish(control.Event{Type: control.EventBGP, Message: "session " + p.State,
		Fields: map[string]string{"peer": p.Address.String(), "state": p.State}})
	if m := d.byIndex.Load(); m != nil {
		for _, ps := range *m {
			for _, pr := range ps {
				if r, ok := pr.(*present.Routed); ok {
					r.Reconcile()
				}
			}
		}
	}
}

// attachRouted builds a routed instance: no VRRP socket, no announcement
// sender, no watcher; its Presenter binds the VIPs to the loopback and
// announces them through the speaker. Callers hold d.mu, or run before the
// daemon starts.
func (d *Daemon) attachRouted(ic config.Instance) (*instance, error) {
	env := d.env
	if d.speaker == nil {
		return nil, fmt.Errorf("daemon: instance %s: mode bgp without a BGP speaker (the bgp: block was added by a reload? restart vipd)", ic.Name)
	}
	ifi, err := env.InterfaceByName(ic.Interface)
	if err != nil {
		hint := ""
		if !ic.WaitForInterface {
			hint = " (set wait_for_interface: true to wait for it)"
		}
		return nil, fmt.Errorf("daemon: instance %s: interface %s: %w%s", ic.Name, ic.Interface, err, hint)
	}
	lo, err := env.InterfaceByName(bindInterface)
	if err != nil {
		return nil, fmt.Errorf("daemon: instance %s: interface %s: %w", ic.Name, bindInterface, err)
	}
	leftovers, err := d.checkVIPs(ic, lo)
	if err != nil {
		return nil, err
	}
	src, err := env.SourceAddr(ifi, ic.IPv6(), nil)
	if err != nil {
		if src, err = env.SourceAddr(ifi, !ic.IPv6(), nil); err != nil {
			return nil, fmt.Errorf("daemon: instance %s: no address on %s to reach the BGP peers from: %w", ic.Name, ic.Interface, err)
		}
	}
	in, err := newInstance(ic, ifi, nil, src, d.clock, d.log, d.publish)
	if err != nil {
		return nil, fmt.Errorf("daemon: instance %s: %w", ic.Name, err)
	}
	in.busy = d.busy
	in.obs, in.node, in.bindIndex = d.obs, d.cfg.Node, lo.Index
	if ic.Verify.Enabled && d.prober == nil {
		p, err := env.Prober()
		if err != nil {
			d.log.Error("cannot open the ICMP sockets for verification; routes will not be verified", "err", err)
		}
		d.prober = p
	}
	var peers []netip.Addr
	for _, p := range d.cfg.BGP.Peers {
		peers = append(peers, p.Address)
	}
	deps := present.RoutedDeps{
		Kernel: d.kernel, Addresses: env.Addresses(), Routes: d.speaker,
		Clock: d.clock, Logger: in.log, Report: in.report,
	}
	if ic.Verify.Enabled {
		deps.Prober = d.prober
	}
	if d.opts.Ledger != nil {
		deps.Ledger = d.opts.Ledger
	}
	in.pres = present.NewRouted(present.RoutedConfig{
		Instance: ic.Name, Bind: *lo, Uplink: *ifi, Peers: peers, Priority: ic.Priority,
		Settings: settings(ic), Leftovers: leftovers,
	}, deps)
	in.leftovers = leftovers
	if len(leftovers) > 0 {
		in.log.Info("VIPs left bound by an earlier run are taken over", "count", len(leftovers), "bind", bindInterface)
	}
	return in, nil
}

// bgpStatus reports the speaker and its sessions; nil without one.
func (d *Daemon) bgpStatus(ctx context.Context) *control.BGPStatus {
	d.mu.Lock()
	sp, cfg, id := d.speaker, d.cfg.BGP, d.routerID
	d.mu.Unlock()
	if sp == nil || cfg == nil {
		return nil
	}
	st := &control.BGPStatus{ASN: cfg.ASN, RouterID: id.String(), Peers: []control.BGPPeerStatus{}}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	peers, err := sp.Peers(ctx)
	if err != nil {
		d.log.Warn("cannot list the BGP sessions", "err", err)
	}
	now := d.clock.Now()
	for _, p := range peers {
		ps := control.BGPPeerStatus{Address: p.Address.String(), ASN: p.ASN, State: p.State,
			PrefixesSent: p.Sent, PrefixesReceived: p.Received, HoldTime: control.Duration(p.HoldTime)}
		if !p.Since.IsZero() {
			ps.Since, ps.Uptime = p.Since, control.Duration(now.Sub(p.Since).Round(time.Second))
		}
		st.Peers = append(st.Peers, ps)
	}
	return st
}

// addRoutes fills a routed instance's VIP routes from the Presenter's view.
func addRoutes(st *control.InstanceStatus, ps present.Status) {
	for i, v := range ps.VIPs {
		if v.Route == nil || i >= len(st.VIPs) {
			continue
		}
		st.VIPs[i].Route = v.Route.State
		for _, pr := range v.Route.Peers {
			st.VIPs[i].RoutePeers = append(st.VIPs[i].RoutePeers, control.RoutePeerStatus{Peer: pr.Peer.String(), State: pr.State})
		}
	}
}

// routedStatus adjusts a routed instance's status: its mode, its
// families, its priority after health checks, and "ANNOUNCING" for the
// state machine's MASTER.
func (in *instance) routedStatus(st *control.InstanceStatus) {
	st.Mode = config.ModeBGP
	v4, v6 := false, false
	for _, p := range in.cfg.VIPs {
		v4, v6 = v4 || p.Addr().Is4(), v6 || p.Addr().Is6()
	}
	switch {
	case v4 && v6:
		st.Family = "ipv4+ipv6"
	case v6:
		st.Family = "ipv6"
	default:
		st.Family = "ipv4"
	}
	st.EffectivePriority = in.routedPrio
	st.AdvertInterval, st.MasterAdvertInterval, st.Master = 0, 0, nil
	if st.State == fsm.Master.String() {
		st.State = StateAnnouncing
	}
}

// StateAnnouncing is a routed instance's state while its VIPs are
// announced.
const StateAnnouncing = "ANNOUNCING"
