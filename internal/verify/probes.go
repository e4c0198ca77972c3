package verify

import "time"

// Probes: when a pair is probed next, and the echoes the core asks for.

// nextProbe schedules pair i's next probe after one sent at sent: soon
// while the takeover's initial probes last, else a Period later.
func (c *core) nextProbe(now time.Time, i int, sent time.Time) {
	pr := &c.pairs[i]
	if pr.probesOut < c.t.InitialProbes {
		pr.phase, pr.wake = phWaitProbe, later(now, sent.Add(c.t.ProbeInterval))
		return
	}
	next := c.t.Period
	if pr.lookAgain && pr.state == Verified && c.t.SecondLook < next {
		next = c.t.SecondLook
	}
	pr.lookAgain = false
	pr.phase, pr.wake = phWaitProbe, c.slot(now.Add(next+pr.spread))
}

// probeSlot groups the periodic probes: their wake-ups are rounded up to a
// slot, so that at rest the verifier wakes once per slot rather than once
// per VIP (1000 VIPs, a 30 s period spread over 3 s: 30 wake-ups per
// period instead of 1000).
const probeSlot = 100 * time.Millisecond

// slot rounds t up to the next probeSlot boundary counted from the first
// time slot was asked.
func (c *core) slot(t time.Time) time.Time {
	if c.epoch.IsZero() {
		c.epoch = t
	}
	d := t.Sub(c.epoch)
	if r := d % probeSlot; r > 0 {
		d += probeSlot - r
	}
	return c.epoch.Add(d)
}

func (c *core) sendProbe(now time.Time, i int) {
	pr := &c.pairs[i]
	tg := &c.targets[pr.tgt]
	p := c.newProbe(now, i, pr.tgt)
	p.after = pr.lastStep
	if pr.attempts > 0 && pr.queued == 0 {
		p.rungAt = pr.stepAt
	}
	pr.probe = p.id
	pr.probesOut++
	pr.phase = phProbing
	c.counts.probesSent++
	c.acts = append(c.acts, action{kind: actProbe, id: p.id, pair: i, src: pr.vip, dst: tg.addr})
}

func (c *core) sendPrimary(now time.Time, ti int) {
	tg := &c.targets[ti]
	p := c.newProbe(now, -1, ti)
	tg.probe, tg.probeSent = p.id, now
	c.counts.primarySent++
	c.acts = append(c.acts, action{kind: actProbe, id: p.id, pair: -1, src: tg.primary, dst: tg.addr})
}

func (c *core) newProbe(now time.Time, i, ti int) *probe {
	c.nextID++
	p := &probe{id: c.nextID, pair: i, tgt: ti, sent: now, deadline: now.Add(c.t.ProbeTimeout)}
	c.probes = append(c.probes, p)
	c.byID[p.id] = p
	return p
}
