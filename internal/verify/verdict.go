package verify

import "time"

// Telling stale from unverifiable: a missed echo from a VIP means its
// target's entry points elsewhere only if the target answers the node's
// primary address (see doc.go, "Proof"). These are the core's decisions on
// that, and what a pair does with the verdict.

// verdict is what the primary's echoes say about a target.
type verdict uint8

const (
	vPending verdict = iota
	vUp
	vDown
)

// verdictFor says whether target ti answered an echo from the primary sent
// at most PrimaryFresh before sent, probing the primary if nothing fresh
// is known.
func (c *core) verdictFor(now time.Time, ti int, sent time.Time) verdict {
	if v, ok := c.knownVerdict(ti, sent); ok {
		return v
	}
	tg := &c.targets[ti]
	if tg.probe != 0 && !tg.probeSent.Before(sent.Add(-c.t.PrimaryFresh)) {
		return vPending
	}
	c.sendPrimary(now, ti)
	return vPending
}

// knownVerdict is verdictFor without probing: ok is false if nothing fresh
// is known.
func (c *core) knownVerdict(ti int, sent time.Time) (verdict, bool) {
	tg := &c.targets[ti]
	at, v := tg.replySent, vUp
	if tg.missSent.After(at) {
		at, v = tg.missSent, vDown
	}
	if !at.IsZero() && !at.Before(sent.Add(-c.t.PrimaryFresh)) {
		return v, true
	}
	if !tg.primary.IsValid() {
		return vUp, true // nothing to cross-check with: assume stale, repairs are harmless
	}
	return vPending, false
}

// classify decides what pair i's missed probe (sent at sent) means.
func (c *core) classify(now time.Time, i int, sent time.Time) {
	pr := &c.pairs[i]
	v := c.verdictFor(now, pr.tgt, sent)
	if v != vPending && pr.state == Verified {
		// A new incident. (Between Stale and Unverifiable the climb goes
		// on where it was: a lost echo from the primary must not send
		// the ladder back to its first rung.)
		pr.attempts, pr.lastStep, pr.fixedBy = 0, StepNone, StepNone
		pr.level, pr.climbs, pr.heldFor, pr.heldOrder, pr.lossy = StepNone, 0, 0, false, 0
		pr.confirm = time.Time{}
	}
	switch v {
	case vPending:
		pr.phase, pr.missedAt = phClassify, sent
	case vDown:
		pr.unverif++
		c.setState(now, i, Unverifiable)
		pr.phase, pr.wake = phWaitProbe, now.Add(backoff(c.t.ProbeInterval, pr.unverif, min(c.t.Period, c.t.BackoffMax)))
	case vUp:
		pr.unverif = 0
		c.setState(now, i, Stale)
		c.rungOutcome(i, pr.missRung, true)
		if c.checkOnly {
			c.nextProbe(now, i, sent)
			return
		}
		c.remediate(now, i)
	}
}

// resolve classifies the pairs of target ti that wait for its verdict, and
// takes back an Unverifiable verdict that a late reply from the primary
// has just contradicted (a target slower than ProbeTimeout).
func (c *core) resolve(now time.Time, ti int) {
	for i := range c.pairs {
		pr := &c.pairs[i]
		if pr.tgt != ti {
			continue
		}
		switch {
		case pr.phase == phClassify:
			c.classify(now, i, pr.missedAt)
		case pr.state == Unverifiable && pr.phase == phWaitProbe:
			if v, ok := c.knownVerdict(ti, pr.missAt); ok && v == vUp {
				c.classify(now, i, pr.missAt)
			}
		}
	}
}
