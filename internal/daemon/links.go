package daemon

import (
	"context"
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
)

// watchLinks follows the configured interfaces, woken by the kernel's link
// events (and every linkResync in case one was missed): an instance whose
// interface disappears stops and waits for it; a recreated interface (new
// index) gets new sockets and a fresh start; a link that is down or has no
// carrier holds its instances in FAULT (interface), so a node never masters
// an island it cannot hear; when it returns, the instance listens for a
// Master_Down_Interval before it claims.
func (d *Daemon) watchLinks(ctx context.Context) {
	for {
		t := d.clock.NewTimer(linkResync)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.linkChanged:
		case <-t.C():
		}
		t.Stop()
		d.mu.Lock()
		d.checkLinksLocked()
		d.mu.Unlock()
	}
}

// checkLinksLocked compares the instances with the kernel's links. Callers
// hold d.mu.
func (d *Daemon) checkLinksLocked() {
	if d.closing {
		return
	}
	changed := false
	for _, ic := range d.cfg.Instances {
		lk, exists := d.kernel.Link(ic.Interface)
		r, running := d.insts[ic.Name]
		switch {
		case !exists && running:
			d.log.Error("interface disappeared; instance stopped until it returns", "instance", ic.Name, "iface", ic.Interface)
			d.publishLink(ic, "interface disappeared")
			d.stopInstance(r)
			delete(d.insts, ic.Name)
			delete(d.linkDown, ic.Name)
			d.waiting[ic.Name] = true
			changed = true
		case !exists:
		case running && lk.Index != r.in.ifi.Index:
			d.log.Warn("interface was recreated; restarting the instance on it", "instance", ic.Name, "iface", ic.Interface)
			d.publishLink(ic, "interface recreated")
			d.stopInstance(r)
			delete(d.insts, ic.Name)
			delete(d.linkDown, ic.Name)
			d.startAttached(ic)
			changed = true
		case !running && d.waiting[ic.Name]:
			d.log.Info("interface is back", "instance", ic.Name, "iface", ic.Interface)
			d.startAttached(ic)
			changed = true
		case running:
			if d.checkSourceLocked(ic, r) {
				changed = true
				continue
			}
			down := !lk.Up || !lk.Running
			if down == d.linkDown[ic.Name] {
				continue
			}
			d.linkDown[ic.Name] = down
			msg := "link up"
			if down {
				msg = "link down"
				d.log.Warn("link down: instance in fault until it returns", "instance", ic.Name, "iface", ic.Interface,
					"admin_up", lk.Up, "carrier", lk.Running)
			} else {
				d.log.Info("link up: instance listens for a master before it claims", "instance", ic.Name, "iface", ic.Interface)
			}
			d.publishLink(ic, msg)
			r.in.do(context.Background(), r.done, func() { r.in.setFault(faultInterface, down) })
		}
	}
	if changed {
		d.indexPresenters()
	}
}

// checkSourceLocked follows the address an instance sends advertisements
// from. If it vanishes (an operator's `ip addr flush`, a renumbering), the
// instance restarts with another address of the interface if there is
// one; else it stays in FAULT (source) until the address returns: a
// master that cannot advertise would leave the others to take over while
// it keeps the VIPs. It reports whether it restarted the instance.
// Callers hold d.mu.
func (d *Daemon) checkSourceLocked(ic config.Instance, r *running) (restarted bool) {
	// Every address event of a takeover of thousands of VIPs comes here:
	// a lookup, not a sorted copy of them all.
	has := d.kernel.Carries(r.in.ifi.Index, r.in.src)
	switch {
	case has:
		r.srcSeen = true
		if r.srcGone {
			r.srcGone = false
			d.log.Info("source address is back", "instance", ic.Name, "iface", ic.Interface, "src", r.in.src)
			d.publishLink(ic, "source address back")
			r.in.do(context.Background(), r.done, func() { r.in.setFault(faultSource, false) })
		}
		return false
	case !r.srcSeen || r.srcGone:
		return false
	}
	if src, err := d.env.SourceAddr(r.in.ifi, ic.IPv6(), d.vipsOn(ic.Interface, config.Instance{})); err == nil && src != r.in.src {
		d.log.Warn("source address gone; restarting the instance with another address of the interface",
			"instance", ic.Name, "iface", ic.Interface, "old", r.in.src, "src", src)
		d.publishLink(ic, "source address changed to "+src.String())
		d.stopInstance(r)
		delete(d.insts, ic.Name)
		delete(d.linkDown, ic.Name)
		d.startAttached(ic)
		return true
	}
	r.srcGone = true
	d.log.Error("source address gone: cannot advertise; instance in fault until an address returns",
		"instance", ic.Name, "iface", ic.Interface, "src", r.in.src)
	d.publishLink(ic, "source address gone")
	r.in.do(context.Background(), r.done, func() { r.in.setFault(faultSource, true) })
	return false
}

func (d *Daemon) publishLink(ic config.Instance, msg string) {
	d.publish(control.Event{Type: control.EventLink, Instance: ic.Name, Message: msg,
		Fields: map[string]string{"iface": ic.Interface}})
}

// startAttached attaches and starts an instance; on failure it stays
// waiting. Callers hold d.mu.
func (d *Daemon) startAttached(ic config.Instance) {
	in, err := d.attach(ic)
	if err != nil {
		d.log.Error("cannot start instance; will retry", "instance", ic.Name, "err", err)
		d.waiting[ic.Name] = true
		return
	}
	delete(d.waiting, ic.Name)
	r := &running{in: in}
	d.insts[ic.Name] = r
	if lk, ok := d.kernel.Link(ic.Interface); ok && (!lk.Up || !lk.Running) {
		d.linkDown[ic.Name] = true
	}
	d.startInstance(r)
}

// removeOrphans removes the addresses an earlier vipd recorded as added
// that no instance takes over as its own leftovers (an instance removed
// from the configuration, a VIP dropped), and forgets them. Callers hold
// d.mu; it runs once, as the daemon starts.
func (d *Daemon) removeOrphans() {
	led := d.opts.Ledger
	if led == nil {
		return
	}
	adopted := map[string]map[netip.Prefix]bool{} // by instance name
	for name, r := range d.insts {
		m := map[netip.Prefix]bool{}
		for _, p := range r.in.leftovers {
			m[p] = true
		}
		adopted[name] = m
	}
	for _, e := range led.Entries() {
		var orphans []netip.Prefix
		for _, p := range e.Prefixes {
			if !adopted[e.Instance][p] {
				orphans = append(orphans, p)
			}
		}
		if len(orphans) == 0 {
			continue
		}
		lk, ok := d.kernel.Link(e.Interface)
		if ok && lk.Index == e.Ifindex {
			var present []netip.Prefix
			here := map[netip.Prefix]bool{}
			for _, p := range d.kernel.Addrs(lk.Index) {
				here[p] = true
			}
			for _, p := range orphans {
				switch name := adopter(adopted, p); {
				case name != "":
					// Taken over by an instance of another name (renamed):
					// recorded under that one from now on.
					if err := led.Record(name, e.Interface, e.Ifindex, []netip.Prefix{p}); err != nil {
						d.log.Error("cannot update the record of added VIPs", "err", err)
					}
				case here[p]:
					present = append(present, p)
				}
			}
			if len(present) > 0 {
				d.log.Warn("removing VIPs an earlier run added and no instance claims now", "iface", e.Interface, "count", len(present))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := d.env.Addresses().Remove(ctx, lk.Index, present)
				cancel()
				if err != nil {
					d.log.Error("cannot remove VIPs left by an earlier run", "iface", e.Interface, "err", err)
					continue
				}
			}
		}
		if err := led.Forget(e.Instance, e.Ifindex, orphans); err != nil {
			d.log.Error("cannot update the record of added VIPs", "err", err)
		}
	}
}

// adopter returns the instance that took p over as a leftover, or "".
func adopter(adopted map[string]map[netip.Prefix]bool, p netip.Prefix) string {
	for name, m := range adopted {
		if m[p] {
			return name
		}
	}
	return ""
}
