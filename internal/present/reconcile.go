package present

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/watch"
)

// reconcile brings the interface to the desired state once and returns
// when it must run again (zero: on the next change), or stop.
func (p *L2) reconcile(now time.Time) (wake time.Time, stop bool) {
	p.mu.Lock()
	w := p.want
	roundDone := p.roundDone
	p.mu.Unlock()
	seen := p.loop.takeSeen()
	if p.waitRound != 0 && roundDone >= p.waitRound {
		// The takeover's first round is on the wire: probe now, verify
		// once the upstream had a moment to work through its backlog.
		// (The round's length is mostly the adds and the pacing, which
		// the upstream does not wait for: it processed each frame as it
		// came.)
		p.waitRound = 0
		took := now.Sub(p.announcedAt)
		p.log.Info("takeover announced: every VIP's first round is on the wire", "vips", len(w.set.VIPs), "took", took)
		if !p.verifyAt.IsZero() {
			p.verifyAt = now.Add(verifySettle + took/10)
		}
		if !p.probeAt.IsZero() {
			p.probeAt = now
		}
	}
	for _, pfx := range seen {
		// The kernel reported our add: ours, even if it is gone again
		// (deleted behind our back right after; decide restores it).
		if s := p.states[pfx]; s != nil && s.state == stAdding {
			s.state = stOurs
		}
	}
	ifindex := p.cfg.Interface.Index
	vipsChanged := w.vipsGen != p.applied.vipsGen
	takeover := w.held && (!p.applied.held || w.takeover != p.applied.takeover)
	reassert := w.held && w.reassert != p.applied.reassert

	// Watch first: from now on claims of the VIPs by others are conflicts
	// (held), or traffic for them is misdirected (not held).
	switch {
	case w.held && (takeover || vipsChanged):
		p.deps.Watch.set(p, true, w.set.VIPs, watch.Owner{})
	case !w.held && (p.applied.held || vipsChanged || !sameOwner(w.owner, p.applied.owner)):
		p.deps.Watch.set(p, false, w.set.VIPs, w.owner)
	}
	if !w.held && p.applied.held {
		// Released: nothing of ours may go out for the VIPs any more.
		p.stopVerifier()
		p.deps.Announcer.Cancel(p.cfg.Instance)
		p.verifyAt, p.probeAt = time.Time{}, time.Time{}
		p.waitRound = 0
	}
	if takeover {
		p.addFailed = 0
		p.stopVerifier()
	}
	p.syncLink(w)
	ifindex = p.vipIndex()

	actual := p.actual(ifindex, w.set.VIPs)
	pl := decide(now, w.held, p.deps.Kernel.LinkUp(ifindex), w.set.VIPs, p.states, actual)
	all := addrsOf(w.set.VIPs)
	announcing := takeover && p.addFailed != w.takeover
	if announcing {
		// Announcements are the takeover's critical path. The schedule
		// starts before the adds and holds each VIP until its address is
		// there (carryOut releases them chunk by chunk): thousands of VIPs
		// are announced while the last ones are still being added.
		sch := w.set.Schedule
		sch.Targets = p.cachedUpstreams(now, w)
		sch.Wait = true
		sch.Repeat = true
		p.waitRound = p.announce(all, sch)
		p.announcedAt = now
		// Conflict probes (three frames per VIP) and verification wait
		// until the pacer reports the first round written, else they
		// queue ahead of it, and a healthy upstream looks stale. The
		// estimate is only a bound, should that report never come.
		bound := 2*p.announceRound(len(all)) + roundSlack
		p.probeAt = now.Add(bound)
		p.verifyAt = now.Add(bound)
	}
	p.carryOut(now, w, pl, actual)
	if !w.held && now.Sub(p.upstreamsAt) >= upstreamsRefresh {
		// A backup looks its upstreams up ahead (routes and neighbours
		// are netlink dumps): a takeover then starts announcing at once.
		p.cachedUpstreams(now, w)
	}
	if announcing && p.addFailed != w.takeover {
		// What was there already (adopted, ours) goes too.
		p.deps.Announcer.Ready(p.cfg.Instance, all)
	}

	if w.held && p.addFailed != w.takeover && !takeover && (reassert || vipsChanged) {
		// Announce replaces the instance's schedule: give it every VIP,
		// so that rounds still due for the others are kept.
		p.announce(all, w.set.Schedule)
		p.stopVerifier()
		p.verifyAt = now
	}
	p.applied = w

	wake = pl.wake
	if !w.held && !w.closing && !p.upstreamsAt.IsZero() {
		wake = earliest(wake, p.upstreamsAt.Add(upstreamsRefresh))
	}
	if w.held && !p.probeAt.IsZero() {
		if now.Before(p.probeAt) {
			wake = earliest(wake, p.probeAt)
		} else {
			p.probeAt = time.Time{}
			p.deps.Watch.probe(probeSample(addrsOf(w.set.VIPs)))
		}
	}
	if w.held {
		if t := p.manageVerifier(now, w); !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	if w.closing {
		p.stopVerifier()
		if !w.held {
			p.deps.Announcer.Cancel(p.cfg.Instance)
			p.closeLink()
		}
		p.deps.Watch.forget(p)
		return time.Time{}, true
	}
	return wake, false
}

// carryOut performs a plan and moves the VIPs' states.
func (p *L2) carryOut(now time.Time, w desired, pl plan, actual map[netip.Prefix]bool) {
	ifindex := p.vipIndex()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	state := func(pfx netip.Prefix) *vip {
		s := p.states[pfx]
		if s == nil {
			s = &vip{}
			p.states[pfx] = s
		}
		return s
	}
	if len(pl.remove) > 0 {
		err := p.deps.Addresses.Remove(ctx, ifindex, pl.remove)
		if err != nil {
			// Remove tries every address; those that stay are removed
			// again after confirmWait.
			p.log.Error("cannot remove VIPs; retrying", "err", err)
			p.deps.Report(RemoveFailed{Err: err})
		} else {
			p.log.Info("VIPs removed", "count", len(pl.remove))
		}
		for _, pfx := range pl.remove {
			s := state(pfx)
			s.state, s.at = stRemoving, now
		}
		if err == nil {
			p.forget(pl.remove)
		}
	}
	if len(pl.gone) > 0 {
		p.forget(pl.gone)
		for _, pfx := range pl.gone {
			delete(p.states, pfx)
		}
	}
	for _, pfx := range pl.confirmed {
		state(pfx).state = stOurs
	}
	if len(pl.adopt) > 0 && w.held {
		p.record(pl.adopt)
		for _, pfx := range pl.adopt {
			s := state(pfx)
			s.state, s.unexpected = stOurs, false
		}
	}
	if len(pl.add) > 0 && w.held && p.addFailed != w.takeover {
		err := p.linkBeforeAdd()
		if err == nil {
			p.record(pl.add)
			err = p.addChunks(ctx, pl.add)
		}
		if err != nil {
			// All or nothing: no address this call added is left.
			p.addFailed = w.takeover
			p.deps.Announcer.Cancel(p.cfg.Instance)
			p.log.Error("cannot add VIPs", "err", err)
			p.deps.Report(AddFailed{Err: err})
		} else {
			// confirmWait counts from the end of the adds: thousands of
			// them take a second, and their events come after.
			added := p.deps.Clock.Now()
			for _, pfx := range pl.add {
				s := state(pfx)
				s.state, s.at, s.unexpected = stAdding, added, false
			}
			if len(pl.restored) > 0 {
				p.restore(pl.restored)
			} else {
				p.log.Info("VIPs added", "count", len(pl.add))
			}
		}
	}
	if len(pl.unexpected) > 0 {
		for _, pfx := range pl.unexpected {
			state(pfx).unexpected = true
			p.log.Warn("VIP present on a node that is not master; vipd did not add it and leaves it alone", "vip", pfx)
		}
		p.unexpected.Add(uint64(len(pl.unexpected)))
		p.deps.Report(Unexpected{VIPs: pl.unexpected})
	}
	for pfx, s := range p.states {
		if s.state == stAbsent && !actual[pfx] {
			delete(p.states, pfx) // an unexpected one went away
		}
	}
}

// actual is which of the instance's VIPs, configured or still tracked, the
// kernel has on ifindex.
func (p *L2) actual(ifindex int, vips []netip.Prefix) map[netip.Prefix]bool {
	ask := slices.Clip(vips)
	for pfx := range p.states {
		ask = append(ask, pfx) // a repeat costs a lookup, nothing more
	}
	have := p.deps.Kernel.Present(ifindex, ask)
	actual := make(map[netip.Prefix]bool, len(have))
	for _, a := range have {
		actual[a] = true
	}
	return actual
}

// addChunk is how many VIPs are added before their announcements are
// released to the pacer.
const addChunk = 128

// addChunks adds vips a chunk at a time and releases each chunk's
// announcements as soon as it is added. All or nothing: if a chunk fails,
// the chunks added before are removed again.
func (p *L2) addChunks(ctx context.Context, vips []netip.Prefix) error {
	ifindex := p.vipIndex()
	for i := 0; i < len(vips); i += addChunk {
		chunk := vips[i:min(i+addChunk, len(vips))]
		if err := p.deps.Addresses.Add(ctx, ifindex, chunk); err != nil {
			if i > 0 {
				if rerr := p.deps.Addresses.Remove(ctx, ifindex, vips[:i]); rerr != nil {
					err = errors.Join(err, rerr)
				}
			}
			return err
		}
		p.deps.Announcer.Ready(p.cfg.Instance, addrsOf(chunk))
	}
	return nil
}

// restore finishes putting back VIPs removed behind vipd's back.
func (p *L2) restore(vips []netip.Prefix) {
	for _, pfx := range vips {
		p.log.Warn("VIP removed behind vipd's back; restored", "vip", pfx)
	}
	p.restored.Add(uint64(len(vips)))
	p.deps.Report(Restored{VIPs: vips})
	// The upstream's entry still points here: one announcement, out of
	// turn, in case a switch or neighbour forgot it meanwhile.
	pkts, err := announce.Announcements(p.vipMAC(), addrsOf(vips))
	if err == nil {
		err = p.deps.Announcer.SendNow(p.cfg.Instance+"/restore", p.deps.Sender, pkts...)
	}
	if err != nil {
		p.log.Warn("cannot announce restored VIPs", "err", err)
	}
}

// record notes vips in the ledger before they are added, so that a run
// after a crash removes them.
func (p *L2) record(vips []netip.Prefix) {
	var todo []netip.Prefix
	for _, pfx := range vips {
		if s := p.states[pfx]; s == nil || !s.recorded {
			todo = append(todo, pfx)
		}
	}
	if len(todo) > 0 && p.deps.Ledger != nil {
		if err := p.deps.Ledger.Record(p.cfg.Instance, p.vipName(), p.vipIndex(), todo); err != nil {
			p.log.Error("cannot record the VIPs added in the state directory; a restart after a crash would not remove them", "err", err)
		}
	}
	for _, pfx := range todo {
		s := p.states[pfx]
		if s == nil {
			s = &vip{}
			p.states[pfx] = s
		}
		s.recorded = true
	}
}

// forget takes vips, removed, out of the ledger.
func (p *L2) forget(vips []netip.Prefix) {
	var todo []netip.Prefix
	for _, pfx := range vips {
		if s := p.states[pfx]; s != nil && s.recorded {
			s.recorded = false
			todo = append(todo, pfx)
		}
	}
	if len(todo) > 0 && p.deps.Ledger != nil {
		if err := p.deps.Ledger.Forget(p.cfg.Instance, p.vipIndex(), todo); err != nil {
			p.log.Error("cannot update the record of added VIPs in the state directory", "err", err)
		}
	}
}

// upstreamsRefresh is how old the upstreams a takeover uses may be.
const upstreamsRefresh = 30 * time.Second

// cachedUpstreams returns the upstreams, looked up again if they are older
// than upstreamsRefresh or the VIPs changed since.
func (p *L2) cachedUpstreams(now time.Time, w desired) []announce.Target {
	if p.upstreamsAt.IsZero() || now.Sub(p.upstreamsAt) >= upstreamsRefresh || p.upstreamsGen != w.vipsGen {
		p.upstreamsList, p.upstreamsAt, p.upstreamsGen = p.upstreams(w.set), now, w.vipsGen
	}
	return p.upstreamsList
}

// upstreams returns the neighbours a takeover's first round addresses
// directly (the verification targets: the VIPs' gateways and the
// configured ones), with their MACs as far as the neighbour table knows.
func (p *L2) upstreams(set Settings) []announce.Target {
	if p.deps.Targets == nil {
		return nil
	}
	addrs, err := p.deps.Targets(p.cfg.Interface.Index, set.VIPs, set.Verify.Targets)
	if err != nil || len(addrs) == 0 {
		return nil
	}
	ts := make([]announce.Target, 0, len(addrs))
	for _, a := range addrs {
		t := announce.Target{Addr: a}
		if p.deps.Neighbors != nil {
			if mac, err := p.deps.Neighbors.Lookup(p.cfg.Interface.Index, a); err == nil {
				t.MAC = mac
			}
		}
		ts = append(ts, t)
	}
	return ts
}

// maxProbed bounds the VIPs probed for conflicts at a takeover: a second
// owner (a hung ex-master) holds all or most of them, so a sample finds it,
// and passive listening covers every VIP. Probing thousands (three frames
// each) would crowd the pacer and the upstream right after the takeover.
const maxProbed = 64

// probeSample returns at most maxProbed of vips, spread evenly.
func probeSample(vips []netip.Addr) []netip.Addr {
	if len(vips) <= maxProbed {
		return vips
	}
	out := make([]netip.Addr, 0, maxProbed)
	for i := range maxProbed {
		out = append(out, vips[i*len(vips)/maxProbed])
	}
	return out
}

// verifySettle (and a tenth of the time the first round took) is the
// pause between a takeover's first round leaving and its verification: an
// upstream still working through thousands of announcements would answer
// the first probes the old way, and the VIPs would look stale.
const verifySettle = 150 * time.Millisecond

// roundSlack bounds the wait for the pacer's report of a first round
// beyond twice its estimate.
const roundSlack = 2 * time.Second

// announce starts the instance's announcement schedule and returns its
// number; the pacer's report that its first round was written wakes the
// Presenter.
func (p *L2) announce(vips []netip.Addr, sch announce.Schedule) uint64 {
	p.announceGen++
	gen := p.announceGen
	sch.FirstRound = func() {
		p.mu.Lock()
		p.roundDone = max(p.roundDone, gen)
		p.mu.Unlock()
		p.Reconcile()
	}
	p.deps.Announcer.Announce(p.cfg.Instance, p.deps.Sender, p.vipMAC(), vips, sch)
	return gen
}

// announceRound estimates how long the pacer takes to send one round of
// announcements for n VIPs.
func (p *L2) announceRound(n int) time.Duration {
	rate, burst := p.cfg.Rate, p.cfg.Burst
	if rate <= 0 { // adaptive: assume the floor
		rate, burst = announce.AutoMinRate, announce.AutoBurst
	}
	frames := n
	if p.cfg.Interface.HardwareAddr != nil && p.cfg.Primary.Is4() {
		frames *= 2 // request and reply
	}
	frames -= burst
	if frames <= 0 {
		return 0
	}
	return time.Duration(float64(frames) / rate * float64(time.Second))
}

var errNoTargets = errors.New("no upstream target")

// earliest returns the earlier of two wake times (zero: none).
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func sameOwner(a, b watch.Owner) bool { return a.Node == b.Node && a.MAC.String() == b.MAC.String() }
