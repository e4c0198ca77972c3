package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/present"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/watch"
)

// attach opens (or shares) the edges of an instance and builds it with its
// Presenter. Callers hold d.mu, or run before the daemon starts.
func (d *Daemon) attach(ic config.Instance) (*instance, error) {
	if ic.Routed() {
		return d.attachRouted(ic)
	}
	env := d.env
	ifi, err := env.InterfaceByName(ic.Interface)
	if err != nil {
		hint := ""
		if !ic.WaitForInterface {
			hint = " (set wait_for_interface: true to wait for it)"
		}
		return nil, fmt.Errorf("daemon: instance %s: interface %s: %w%s", ic.Name, ic.Interface, err, hint)
	}
	leftovers, err := d.checkVIPs(ic, ifi)
	if err != nil {
		return nil, err
	}
	if err := env.PrepareInterface(ifi); err != nil {
		return nil, fmt.Errorf("daemon: instance %s: prepare %s: %w", ic.Name, ic.Interface, err)
	}
	key := linkKey{ifi.Index, ic.IPv6()}
	l := d.links[key]
	newLink := l == nil
	if newLink {
		conn, err := env.ListenVRRP(ifi, ic.IPv6())
		if err != nil {
			return nil, fmt.Errorf("daemon: instance %s: open VRRP socket on %s: %w", ic.Name, ic.Interface, err)
		}
		v6 := ic.IPv6()
		l = &link{ifi: ifi, ipv6: v6, conn: conn, byVRID: map[uint8]*instance{}, drops: linkDrops(),
			log: d.log.With("iface", ifi.Name), clock: d.clock, publish: d.publish,
			reopen: func() (transport.PacketConn, error) { return env.ListenVRRP(ifi, v6) }}
	}
	fail := func(err error) (*instance, error) {
		if newLink {
			l.close()
		}
		return nil, err
	}
	s := d.senders[ifi.Index]
	newSender := s == nil
	if newSender {
		if s, err = env.OpenSender(ifi); err != nil {
			return fail(fmt.Errorf("daemon: instance %s: open announcement socket on %s: %w", ic.Name, ic.Interface, err))
		}
	}
	fail2 := func(err error) (*instance, error) {
		if newSender {
			s.Close()
		}
		return fail(err)
	}
	src, err := env.SourceAddr(ifi, ic.IPv6(), d.vipsOn(ic.Interface, ic))
	if err != nil {
		return fail2(fmt.Errorf("daemon: instance %s: source address on %s: %w", ic.Name, ic.Interface, err))
	}
	in, err := newInstance(ic, ifi, l, src, d.clock, d.log, d.publish)
	if err != nil {
		return fail2(fmt.Errorf("daemon: instance %s: %w", ic.Name, err))
	}
	in.busy = d.busy
	if newLink {
		d.links[key] = l
		if d.edgeCtx != nil {
			d.startReader(l)
		}
	}
	if newSender {
		d.senders[ifi.Index] = s
	}
	in.obs = d.obs
	in.node = d.cfg.Node
	in.bindIndex = ifi.Index
	if ic.Verify.Enabled && d.prober == nil {
		p, err := env.Prober()
		if err != nil {
			d.log.Error("cannot open the ICMP sockets for verification; VIPs will not be verified", "err", err)
		}
		d.prober = p
	}
	deps := present.Deps{
		Kernel:    d.kernel,
		Addresses: env.Addresses(),
		Announcer: d.pacer,
		Sender:    s,
		Watch:     d.watchFor(ifi, s),
		Neighbors: env.Neighbors(),
		Targets:   env.Targets,
		Clock:     d.clock,
		Logger:    in.log,
		Report:    in.report,
	}
	if ic.Verify.Enabled {
		deps.Prober = d.prober
	}
	if d.opts.Ledger != nil {
		deps.Ledger = d.opts.Ledger
	}
	if ic.VirtualMAC {
		vl, err := d.attachVMAC(ic, ifi, in)
		if err != nil {
			return fail2(err)
		}
		deps.VMAC = vl
	}
	in.pres = present.NewL2(present.Config{
		Instance:  ic.Name,
		Interface: *ifi,
		Primary:   src,
		Rate:      d.cfg.AnnounceRate,
		Burst:     pacerBurst(d.cfg.AnnounceRate),
		Settings:  settings(ic),
		Leftovers: leftovers,
	}, deps)
	in.leftovers = leftovers
	if len(leftovers) > 0 {
		// The Presenter removes them unless this node becomes master
		// first; say why addresses vanish.
		in.log.Info("removing VIPs left on the interface by an earlier run", "count", len(leftovers))
	}
	l.add(in)
	return in, nil
}

// settings are the parts of an instance's configuration its Presenter uses.
func settings(ic config.Instance) present.Settings {
	return present.Settings{
		VIPs: ic.VIPs,
		Schedule: announce.Schedule{Count: ic.Announce.Count, Interval: ic.Announce.Interval, Refresh: ic.Announce.Refresh,
			Router: ic.NARouter},
		Verify: present.VerifyConfig{Enabled: ic.Verify.Enabled, Targets: ic.Verify.Targets, Period: ic.Verify.Period},
	}
}

// checkVIPs refuses an instance whose VIP is on the node already, unless
// an earlier vipd recorded it as added on this interface (a leftover of a
// crash, returned: its Presenter removes it). A VIP on another interface,
// or one added by hand, would make this node answer for it even as backup:
// two owners. The address owner (priority 255) holds its VIPs anyway.
func (d *Daemon) checkVIPs(ic config.Instance, ifi *net.Interface) (leftovers []netip.Prefix, err error) {
	if ic.Priority == 255 {
		return nil, nil
	}
	recorded := map[netip.Addr]bool{}
	if d.opts.Ledger != nil {
		for _, e := range d.opts.Ledger.Entries() {
			if e.Interface == ifi.Name && e.Ifindex == ifi.Index {
				for _, p := range e.Prefixes {
					recorded[p.Addr()] = true
				}
			}
		}
	}
	here := map[netip.Prefix]bool{}
	for _, p := range d.kernel.Addrs(ifi.Index) {
		here[p] = true
	}
	var errs []string
	for _, p := range ic.VIPs {
		for _, name := range d.kernel.Holders(p.Addr()) {
			switch {
			case d.vmacGone[name]:
				// On a virtual MAC interface of an earlier run, deleted
				// with it at start.
			case name != ifi.Name:
				errs = append(errs, fmt.Sprintf("VIP %s is already on %s: this node would answer for it even as backup (remove it there, or from the configuration)", p.Addr(), name))
			case recorded[p.Addr()] && here[p]:
				leftovers = append(leftovers, p)
			case recorded[p.Addr()]:
				errs = append(errs, fmt.Sprintf("VIP %s is on %s with another prefix length than vipd added it: remove it (ip addr del %s dev %s)", p.Addr(), name, p.Addr(), name))
			default:
				errs = append(errs, fmt.Sprintf("VIP %s is already on %s and vipd did not add it: this node would answer for it even as backup (remove it: ip addr del %s dev %s)", p.Addr(), name, p, name))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("daemon: instance %s: %s", ic.Name, strings.Join(errs, "; "))
	}
	return leftovers, nil
}

// watchFor returns the interface's watch set, opening its watcher on first
// use. A watcher that cannot be opened is logged: the VIPs still fail over,
// only misdirected traffic and conflicts go unseen. Callers hold d.mu.
func (d *Daemon) watchFor(ifi *net.Interface, s announce.Sender) *present.WatchSet {
	if ws, ok := d.watches[ifi.Index]; ok {
		return ws
	}
	w, err := d.env.OpenWatcher(ifi, watch.Deps{
		Pacer: d.pacer, Sender: s, Logger: d.log, OnReport: d.onWatchReport,
	})
	if err != nil {
		d.log.Error("cannot watch for misdirected traffic and conflicts", "iface", ifi.Name, "err", err)
	}
	var ws *present.WatchSet
	if w != nil {
		ws = present.NewWatchSet(w)
		if d.edgeCtx != nil {
			d.startWatcher(ws)
		}
	}
	d.watches[ifi.Index] = ws
	return ws
}

// onWatchReport turns a watcher's report into an event and a metric.
func (d *Daemon) onWatchReport(r watch.Report) {
	idx := *d.vipIndex.Load()
	switch r.Kind {
	case watch.ReportMisdirected, watch.ReportMisdirectedEnded:
		m := r.Misdirected
		msg := "upstream " + m.SrcMAC.String() + " still sends " + m.VIP.String() + " here"
		if m.Owner.Node != "" {
			msg += "; owner is " + m.Owner.Node
		}
		if r.Kind == watch.ReportMisdirectedEnded {
			msg = "misdirected traffic from " + m.SrcMAC.String() + " ended"
		} else {
			d.obs.Misdirected(idx[m.VIP], m.VIP.String(), int(m.Packets))
		}
		d.publish(control.Event{Type: control.EventMisdirected, Instance: idx[m.VIP], VIP: m.VIP.String(), Message: msg,
			Fields: map[string]string{"src_mac": m.SrcMAC.String(), "src_ip": m.SrcIP.String(),
				"packets": strconv.FormatUint(m.Packets, 10), "repairs": strconv.FormatUint(m.Repairs, 10)}})
	case watch.ReportConflict, watch.ReportConflictEnded:
		c := r.Conflict
		msg := "duplicate owner " + c.MAC.String() + " answers for " + c.VIP.String()
		if r.Kind == watch.ReportConflictEnded {
			msg = "conflict with " + c.MAC.String() + " ended"
		}
		d.publish(control.Event{Type: control.EventConflict, Instance: idx[c.VIP], VIP: c.VIP.String(), Message: msg,
			Fields: map[string]string{"mac": c.MAC.String(), "claims": strconv.FormatUint(c.Count, 10)}})
	}
}

// detach unregisters an instance that has stopped and closes the edges
// nobody uses any more. Callers hold d.mu.
func (d *Daemon) detach(in *instance) {
	d.detachVMAC(in)
	if l := in.link; l != nil && l.remove(in) == 0 {
		l.close()
		delete(d.links, linkKey{l.ifi.Index, l.ipv6})
	}
	for _, r := range d.insts {
		if r.in != in && r.in.ifi.Index == in.ifi.Index {
			return
		}
	}
	if s := d.senders[in.ifi.Index]; s != nil {
		s.Close()
		delete(d.senders, in.ifi.Index)
	}
	if ws := d.watches[in.ifi.Index]; ws != nil {
		ws.Watcher().Close()
	}
	delete(d.watches, in.ifi.Index)
}

// vipsOn lists the VIPs of every instance on an interface (they are not
// candidates for the advertisement source address).
func (d *Daemon) vipsOn(ifname string, extra config.Instance) []netip.Prefix {
	vips := slices.Clone(extra.VIPs)
	for _, ic := range d.cfg.Instances {
		if ic.Interface == ifname {
			vips = append(vips, ic.VIPs...)
		}
	}
	return vips
}
