package watch

import (
	"bytes"
	"net/netip"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/announce"
)

// A claim is an ARP or NDP packet from another MAC that binds a VIP we
// hold or probe to that MAC. Claims are kept per (VIP, MAC):
//
//	           claim                     ConflictClaims spanning ConflictSpan
//	(none) ───────────▶ candidate ─────────────────────────────────────▶ confirmed
//	                      │  ConflictWindow without confirmation            │ ConflictForget quiet,
//	                      ▼                                                 │ or VIP neither held
//	                    (none)  ◀───────────────────────────────────────────┘ nor probed
//	                                      (ReportConflictEnded)
//
// A confirmed conflict is reported once, as an error. The watcher never
// acts on it beyond the report: deciding who should own the VIP is the
// VRRP state machine's job, and a flapping reaction to a hung peer would
// only make things worse.

type conflictKey struct {
	vip netip.Addr
	mac mac
}

type claims struct {
	count       uint64
	first, last time.Time
	confirmed   bool
}

// probeRun is Probe's schedule for one VIP.
type probeRun struct {
	sent  int
	next  time.Time // when the next probe is due; zero once all are sent
	until time.Time // replies count as claims until then
}

// claim counts one claim of vip by m.
func (d *detector) claim(now time.Time, vip netip.Addr, m mac, fx *effects) DropReason {
	if until, ok := d.handover[m]; ok && now.Before(until) {
		return DropHandover
	}
	k := conflictKey{vip: vip, mac: m}
	c := d.conflicts[k]
	if c == nil {
		if len(d.conflicts) >= d.cfg.MaxFlows {
			return DropTableFull
		}
		c = &claims{first: now}
		d.conflicts[k] = c
		fx.rearm = true
	} else if !c.confirmed && now.Sub(c.first) > d.cfg.ConflictWindow {
		*c = claims{first: now}
	}
	c.count++
	c.last = now
	d.stats.Claims++
	if !c.confirmed && c.count >= d.cfg.ConflictClaims && now.Sub(c.first) >= d.cfg.ConflictSpan {
		c.confirmed = true
		fx.reports = append(fx.reports, Report{Kind: ReportConflict, Iface: d.iface, Conflict: c.row(k), At: now})
		fx.rearm = true
	}
	return 0
}

func (c *claims) row(k conflictKey) Conflict {
	return Conflict{VIP: k.vip, MAC: k.mac.hw(), Count: c.count, First: c.first, Last: c.last}
}

// expectHandover makes claims from m expected for Config.HandoverGrace,
// and forgets the claims it made so far: a master handing over answers
// for its VIPs until it has let them go.
func (d *detector) expectHandover(now time.Time, m mac, fx *effects) {
	d.handover[m] = now.Add(d.cfg.HandoverGrace)
	for k, c := range d.conflicts {
		if k.mac == m && !c.confirmed {
			delete(d.conflicts, k)
		}
	}
	fx.rearm = true
}

// probe starts probing vips at now: Config.ProbeCount probes each, the
// first at once. Probing a VIP that is being probed starts it over.
func (d *detector) probe(now time.Time, vips []netip.Addr, fx *effects) {
	for _, a := range vips {
		a = normAddr(a)
		if !usableVIP(a) {
			continue
		}
		d.probing[a] = &probeRun{next: now}
	}
	d.tickProbes(now, fx)
	fx.rearm = true
}

// tickProbes sends the probes due at now and ends probe runs whose wait
// is over; it returns when the next probe or end is due.
func (d *detector) tickProbes(now time.Time, fx *effects) time.Time {
	var next time.Time
	soon := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	ended := false
	var due []netip.Addr
	for a, p := range d.probing {
		switch {
		case p.next.IsZero() && !now.Before(p.until):
			delete(d.probing, a)
			ended = true
		case p.next.IsZero():
			soon(p.until)
		case now.Before(p.next):
			soon(p.next)
		default:
			due = append(due, a)
		}
	}
	slices.SortFunc(due, netip.Addr.Compare) // a stable order on the wire
	for _, a := range due {
		p := d.probing[a]
		pkt, err := probe(d.our, a)
		if err == nil { // a VIP is a usable address (config)
			fx.sends = append(fx.sends, send{pkt: pkt})
		}
		d.stats.Probes++
		p.sent++
		if p.sent < d.cfg.ProbeCount {
			p.next = now.Add(d.cfg.ProbeInterval)
			soon(p.next)
			continue
		}
		p.next = time.Time{}
		p.until = now.Add(d.cfg.ProbeWait)
		soon(p.until)
	}
	if ended {
		d.dropUnguarded(now, fx)
	}
	return next
}

// tickConflicts ends quiet conflicts and stale candidates. A confirmed
// conflict of a held VIP is checked again actively: ConflictRecheck after
// the last claim the VIP is probed again, and if the other MAC no longer
// answers (a split brain that healed: the other node let the VIP go) the
// conflict ends when that probe run is over. One that keeps its VIP (a
// hung ex-master) answers, and the conflict stays.
func (d *detector) tickConflicts(now time.Time, fx *effects) time.Time {
	var next time.Time
	soon := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	recheckRun := time.Duration(d.cfg.ProbeCount-1)*d.cfg.ProbeInterval + d.cfg.ProbeWait
	for k, c := range d.conflicts {
		due := c.first.Add(d.cfg.ConflictWindow)
		if c.confirmed {
			due = c.last.Add(d.cfg.ConflictForget)
			if _, held := d.held[k.vip]; held {
				recheck := c.last.Add(d.cfg.ConflictRecheck)
				switch {
				case now.Before(recheck):
					soon(recheck)
				case !now.Before(recheck.Add(recheckRun)) && !d.probingVIP(k.vip):
					due = now // probed again, and no answer from that MAC
				case !d.probingVIP(k.vip):
					d.probing[k.vip] = &probeRun{next: now}
					fx.rearm = true
					soon(now)
				}
			}
		}
		if !now.Before(due) {
			d.endConflict(now, k, c, fx)
			continue
		}
		soon(due)
	}
	return next
}

// dropUnguarded ends the conflicts of VIPs neither held nor probed.
func (d *detector) dropUnguarded(now time.Time, fx *effects) {
	for k, c := range d.conflicts {
		if !d.guarded(k.vip) {
			d.endConflict(now, k, c, fx)
		}
	}
}

func (d *detector) endConflict(now time.Time, k conflictKey, c *claims, fx *effects) {
	delete(d.conflicts, k)
	if c.confirmed {
		fx.reports = append(fx.reports, Report{Kind: ReportConflictEnded, Iface: d.iface, Conflict: c.row(k), At: now})
	}
}

// conflictRows returns the confirmed conflicts, sorted by VIP and MAC.
func (d *detector) conflictRows() []Conflict {
	var rows []Conflict
	for k, c := range d.conflicts {
		if c.confirmed {
			rows = append(rows, c.row(k))
		}
	}
	slices.SortFunc(rows, func(a, b Conflict) int {
		if c := a.VIP.Compare(b.VIP); c != 0 {
			return c
		}
		return bytes.Compare(a.MAC, b.MAC)
	})
	return rows
}

// probingVIP reports whether a is being probed (for log wording).
func (d *detector) probingVIP(a netip.Addr) bool {
	_, ok := d.probing[a]
	return ok
}

// probe returns the frame that asks whether anyone else uses vip without
// claiming it: an ARP probe, or a DAD Neighbor Solicitation.
func probe(our mac, vip netip.Addr) (announce.Packet, error) {
	if vip.Is4() {
		return announce.From(our.hw()).ARPProbe(vip)
	}
	return announce.From(our.hw()).DADProbe(vip)
}
