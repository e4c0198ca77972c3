package watch

import (
	"net/netip"
)

// apply does a detector call's effects: logs, reports, sends.
func (w *Watcher) apply(fx effects) {
	for _, r := range fx.reports {
		w.logReport(r)
		if w.onReport != nil {
			w.onReport(r)
		}
	}
	for _, s := range fx.sends {
		w.send(s)
	}
	if fx.rearm {
		w.poke()
	}
}

// betterTarget rebuilds a repair whose target was a fallback, if this
// node's neighbour table knows the upstream's own address, and remembers
// that address.
func (w *Watcher) betterTarget(s *send) {
	if !s.repair || !s.guessed || w.neigh == nil {
		return
	}
	v4 := s.pkt.VIP.Is4()
	var best netip.Addr
	for _, a := range w.neigh(s.upstream.hw()) {
		a = normAddr(a)
		if a.Is4() != v4 || !usableVIP(a) {
			continue
		}
		// IPv6: a global address before a link-local one; either is the
		// upstream's own.
		if !best.IsValid() || (best.IsLinkLocalUnicast() && !a.IsLinkLocalUnicast()) {
			best = a
		}
	}
	if !best.IsValid() {
		return
	}
	w.mu.Lock()
	if v4 {
		w.d.learn(w.d.neigh4, s.upstream, best)
	} else {
		w.d.learn(w.d.neigh6, s.upstream, best)
	}
	w.mu.Unlock()
	if pkt, err := repair(w.d.our, s.ownerMAC, s.pkt.VIP, s.upstream, best); err == nil {
		s.pkt = pkt
		s.guessed = false
	}
}

func (w *Watcher) send(s send) {
	w.betterTarget(&s)
	var err error
	if w.pacer != nil {
		err = w.pacer.SendNow(w.key, w.sender, s.pkt)
	} else {
		err = w.sender.Send(s.pkt.Frame)
	}
	w.mu.Lock()
	first := err != nil && !w.sendFailing
	recovered := err == nil && w.sendFailing
	w.sendFailing = err != nil
	if err != nil {
		w.d.stats.SendErrors++
	}
	w.mu.Unlock()
	switch {
	case first:
		w.log.Warn("watch: send failed; further failures are counted until one succeeds",
			"iface", w.ifName, "vip", s.pkt.VIP, "kind", s.pkt.Kind, "err", err)
	case recovered:
		w.log.Info("watch: sending recovered", "iface", w.ifName)
	}
	if err == nil && s.repair {
		w.log.Debug("watch: repair sent", "iface", w.ifName, "vip", s.pkt.VIP, "src_mac", s.upstream.String(),
			"owner", s.owner.Node, "owner_mac", s.owner.MAC.String(), "target", s.pkt.Target, "target_guessed", s.guessed,
			"repairs", s.repairs, "next_after", s.wait)
	}
}

func (w *Watcher) logReport(r Report) {
	switch r.Kind {
	case ReportMisdirected:
		m := r.Misdirected
		msg := "watch: an upstream still sends a VIP's traffic here; told it the owner's MAC"
		if len(m.Owner.MAC) == 0 {
			msg = "watch: an upstream still sends a VIP's traffic here; no repair without the owner's MAC"
		}
		w.log.Warn(msg, "iface", r.Iface, "vip", m.VIP, "src_mac", m.SrcMAC.String(), "src_ip", m.SrcIP,
			"packets", m.Packets, "sources", r.Sources, "since", m.First, "owner", m.Owner.Node,
			"owner_mac", m.Owner.MAC.String())
	case ReportMisdirectedEnded:
		m := r.Misdirected
		w.log.Info("watch: the upstream no longer sends the VIP's traffic here",
			"iface", r.Iface, "vip", m.VIP, "src_mac", m.SrcMAC.String(), "repairs", m.Repairs,
			"last", m.Last)
	case ReportConflict:
		c := r.Conflict
		w.log.Error("watch: duplicate owner: another host claims a VIP held here",
			"iface", r.Iface, "vip", c.VIP, "mac", c.MAC.String(), "count", c.Count, "since", c.First)
	case ReportConflictEnded:
		c := r.Conflict
		w.log.Info("watch: the other host no longer claims the VIP",
			"iface", r.Iface, "vip", c.VIP, "mac", c.MAC.String(), "count", c.Count, "last", c.Last)
	}
}
