package watch

import (
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/announce"
)

// detector is the pure core of a Watcher: it takes parsed frames, control
// changes and the time, and returns what to report and what to send. It
// does no I/O, reads no clock and is not safe for concurrent use; the
// Watcher serialises calls with its mutex.
type detector struct {
	cfg   Config
	our   mac
	iface string

	watched map[netip.Addr]Owner     // VIPs of our instances we do not hold
	held    map[netip.Addr]struct{}  // VIPs we hold
	probing map[netip.Addr]*probeRun // VIPs being probed

	flows     map[flowKey]*flow
	conflicts map[conflictKey]*claims
	// handover: MACs of masters handing VIPs over, and until when their
	// claims are expected.
	handover map[mac]time.Time

	// neigh4 and neigh6 remember the addresses other hosts used in ARP
	// and NDP, so that a repair can name the stale upstream's own address.
	neigh4 map[mac]netip.Addr
	neigh6 map[mac]netip.Addr

	stats Stats
}

// maxNeigh bounds the learned neighbour addresses per family.
const maxNeigh = 1024

// effects is what the Watcher does after a detector call, outside its
// lock: make reports and hand packets to the pacer.
type effects struct {
	reports []Report
	sends   []send
	// rearm: a deadline may have moved earlier; the Run loop must ask
	// next() again.
	rearm bool
}

// send is one frame to write.
type send struct {
	pkt    announce.Packet
	repair bool // a repair, else a probe
	// For repairs: to rebuild the frame with a better target, and for
	// the log line.
	upstream mac
	ownerMAC mac
	owner    Owner
	// guessed: the upstream's own address was not known; the target is
	// a fallback (see maybeRepair).
	guessed bool
	repairs uint64
	wait    time.Duration // until the next repair may go
}

func newDetector(cfg Config, our mac, iface string) *detector {
	d := &detector{
		cfg:       cfg.normalize(),
		our:       our,
		iface:     iface,
		watched:   make(map[netip.Addr]Owner),
		held:      make(map[netip.Addr]struct{}),
		probing:   make(map[netip.Addr]*probeRun),
		flows:     make(map[flowKey]*flow),
		conflicts: make(map[conflictKey]*claims),
		handover:  make(map[mac]time.Time),
		neigh4:    make(map[mac]netip.Addr),
		neigh6:    make(map[mac]netip.Addr),
	}
	d.stats.Dropped = make(map[DropReason]uint64, numDropReasons-1)
	return d
}

// normAddr is the form VIPs are kept in: IPv4 unmapped, no zone.
func normAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// usableVIP reports whether a can be a VIP: a valid unicast address.
func usableVIP(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// handle looks at one frame received at now. It returns the reason the
// frame was of no use, or zero.
func (d *detector) handle(now time.Time, b []byte, fx *effects) DropReason {
	d.stats.Frames++
	f, r := parseFrame(b)
	if r == 0 {
		r = d.handleFrame(now, &f, fx)
	}
	if r != 0 {
		d.stats.Dropped[r]++
	}
	return r
}

func (d *detector) handleFrame(now time.Time, f *frame, fx *effects) DropReason {
	if f.ethSrc == d.our {
		return DropOwnFrame
	}
	switch f.kind {
	case kindIP:
		if f.ethDst != d.our {
			return DropNotForUs
		}
		if _, held := d.held[f.dst]; held {
			return DropNotWatched
		}
		owner, ok := d.watched[f.dst]
		if !ok {
			return DropNotWatched
		}
		return d.misdirected(now, f, owner, fx)
	case kindARP:
		d.learn(d.neigh4, f.sha, f.spa)
		if f.spa.IsUnspecified() {
			if d.guarded(f.tpa) {
				return DropOtherProbe
			}
			return DropNoClaim
		}
		if d.guarded(f.spa) && f.sha != d.our {
			return d.claim(now, f.spa, f.sha, fx)
		}
		return DropNoClaim
	case kindNS:
		if f.src.IsUnspecified() {
			if d.guarded(f.target) {
				return DropOtherProbe
			}
			return DropNoClaim
		}
		d.learn(d.neigh6, f.ethSrc, f.src)
		if d.guarded(f.src) && f.claimMAC() != d.our {
			return d.claim(now, f.src, f.claimMAC(), fx)
		}
		return DropNoClaim
	case kindNA:
		d.learn(d.neigh6, f.ethSrc, f.src)
		if d.guarded(f.target) && f.claimMAC() != d.our {
			return d.claim(now, f.target, f.claimMAC(), fx)
		}
		return DropNoClaim
	}
	return DropMalformed
}

// learn remembers that m uses address a, unless a is no host's own
// address or one of the VIPs (which speak for their owner, not for m).
func (d *detector) learn(tab map[mac]netip.Addr, m mac, a netip.Addr) {
	if m.isZero() || m[0]&1 != 0 || !usableVIP(a) {
		return
	}
	if _, ok := d.watched[a]; ok {
		return
	}
	if d.guarded(a) {
		return
	}
	if _, ok := tab[m]; !ok && len(tab) >= maxNeigh {
		for k := range tab { // evict an arbitrary entry
			delete(tab, k)
			break
		}
	}
	tab[m] = a
}

// guarded reports whether a is held or being probed: a claim of it by
// another MAC is a conflict.
func (d *detector) guarded(a netip.Addr) bool {
	if _, ok := d.held[a]; ok {
		return true
	}
	_, ok := d.probing[a]
	return ok
}

// setWatched replaces the watched VIPs. Rows of VIPs no longer watched
// are dropped (a reported episode ends); a VIP whose owner's MAC changed
// may be repaired again at once. Probing a VIP that is now watched stops,
// and so do its conflicts unless it is also held.
func (d *detector) setWatched(now time.Time, vips map[netip.Addr]Owner, fx *effects) {
	next := make(map[netip.Addr]Owner, len(vips))
	for a, o := range vips {
		a = normAddr(a)
		if !usableVIP(a) {
			continue
		}
		next[a] = Owner{Node: o.Node, MAC: cloneMAC(o.MAC)}
	}
	for a := range next {
		// Another node's now: its claims are not a conflict, and probing
		// it would only ask the new owner to answer.
		delete(d.probing, a)
	}
	d.dropUnguarded(now, fx)
	for k, fl := range d.flows {
		o, ok := next[k.vip]
		if !ok {
			d.endFlow(now, k, fl, fx)
			delete(d.flows, k)
			continue
		}
		if !sameMAC(o.MAC, d.watched[k.vip].MAC) {
			fl.nextRepair, fl.interval = time.Time{}, 0
		}
	}
	d.watched = next
	fx.rearm = true
}

// setHeld replaces the held VIPs. Conflicts of VIPs neither held nor
// probed any more end.
func (d *detector) setHeld(now time.Time, vips []netip.Addr, fx *effects) {
	next := make(map[netip.Addr]struct{}, len(vips))
	for _, a := range vips {
		a = normAddr(a)
		if usableVIP(a) {
			next[a] = struct{}{}
		}
	}
	d.held = next
	d.dropUnguarded(now, fx)
	fx.rearm = true
}

// watchedLists returns the watched VIPs by family, for the kernel filter.
func (d *detector) watchedLists() (v4, v6 []netip.Addr) {
	for a := range d.watched {
		if _, held := d.held[a]; held {
			continue
		}
		if a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	return v4, v6
}

// tick does what is due at now (probes to send, episodes and conflicts to
// end, rows to forget) and returns when it should be called again (zero:
// not until something changes).
func (d *detector) tick(now time.Time, fx *effects) time.Time {
	var next time.Time
	soon := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	soon(d.tickProbes(now, fx))
	soon(d.tickFlows(now, fx))
	soon(d.tickConflicts(now, fx))
	for m, until := range d.handover {
		if !now.Before(until) {
			delete(d.handover, m)
		} else {
			soon(until)
		}
	}
	return next
}

func (d *detector) snapshotStats() Stats {
	s := d.stats
	s.Dropped = make(map[DropReason]uint64, numDropReasons-1)
	for _, r := range DropReasons() {
		s.Dropped[r] = d.stats.Dropped[r]
	}
	return s
}
