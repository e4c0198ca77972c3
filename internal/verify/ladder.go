package verify

import "time"

// The ladder's timing: when a stale pair's next rung goes to the pacer, and
// how long the pair waits after a whole climb went unanswered.
//
// A rung counts from when the pacer wrote it (stepSent), not from when it
// was handed over: the probe that judges it follows the write, and the
// locktime runs from it. A rung that waited in the pacer longer than
// HeldBack was held back by the pacer's rate: the pacer has more frames
// than its rate lets out, which an adaptive pacer only does once it has
// slowed down on a policer's evidence (or a fixed rate set for one). A
// climb with such a rung that went unanswered is not a failed climb: its
// frames most likely died at the policer, not at a device that ignores
// them, and the queue already spaced them as much as the rate needs. So it
// does not double the backoff, and the wait before the next climb is at
// most the time the pacer took to get the climb's rungs through the queue
// (and at least Locktime, the ladder's own floor). When a climb's first
// rung was held back, the climb goes on in LadderHeld's order (the unicast
// reply before the directed request). A climb that left at once and still
// failed is a failed climb: the backoff doubles, from Locktime up to
// BackoffMax; unless the same target followed a rung for another VIP
// meanwhile (lossyClimb): then this climb's frames were most likely lost,
// and the pair climbs again after Locktime.

// stepSent records that the pacer wrote the last frame of step id of pair
// i at now. ok false means the step never went out (the pacer refused it).
func (c *core) stepSent(now time.Time, i int, id uint64, ok bool) {
	if i < 0 || i >= len(c.pairs) {
		return
	}
	pr := &c.pairs[i]
	if pr.queued > 0 {
		pr.queued--
	}
	if ok && now.After(pr.stepAt) {
		pr.stepAt = now // any step of the pair, even an old one, starts the locktime
	}
	if ok && id == pr.step {
		w := now.Sub(pr.issuedAt)
		pr.stepHeld = w > c.t.HeldBack
		if pr.stepHeld {
			pr.heldFor = max(pr.heldFor, w)
		}
	}
	switch {
	case pr.phase == phSending && pr.step == id:
		pr.phase, pr.wake = phWaitProbe, now.Add(c.t.Settle)
	case pr.phase == phWaitPacer && pr.queued == 0:
		pr.phase, pr.wake = phWaitProbe, now.Add(c.t.Settle)
	}
}

// stepsCancelled records that the pacer dropped every queued step (Stop).
func (c *core) stepsCancelled() {
	for i := range c.pairs {
		c.pairs[i].queued = 0
	}
}

// remediate sends the next rung of the ladder for stale pair i, or
// schedules what must come first.
func (c *core) remediate(now time.Time, i int) {
	pr := &c.pairs[i]
	if pr.level == Ladder[0] && pr.heldFor > 0 {
		pr.heldOrder = true // decided once per climb, after its first rung
	}
	_, more := nextRung(pr.level, pr.heldOrder)
	switch {
	case !more:
		// The whole ladder went unanswered: wait, probe, and climb again.
		wait, failed := climbWait(c.t, pr.climbs, pr.heldFor)
		if failed && c.lossyClimb(pr) {
			wait, failed = c.t.Locktime, false
			pr.lossy++
		}
		if failed {
			pr.climbs++
		}
		pr.level, pr.heldFor, pr.heldOrder = StepNone, 0, false
		pr.phase, pr.wake = phWaitProbe, later(now, pr.stepAt.Add(wait))
	case pr.queued > 0:
		// An older step is still in the pacer: probe once it is out.
		pr.phase = phWaitPacer
	case !pr.stepAt.IsZero() && !pr.missAt.After(pr.stepAt) && now.Before(pr.stepAt.Add(c.t.Locktime)):
		// The probe that missed left before the last step did, so nothing
		// shows that step failed; another update within the target's
		// locktime would be ignored anyway. Probe again first.
		pr.phase, pr.wake = phWaitProbe, later(now, pr.stepAt.Add(c.t.Settle))
	default:
		c.sendStep(now, i)
	}
}

// climbWait decides, for a climb of the ladder that went unanswered after
// climbs failed ones, how long after its last rung the pair waits before
// it probes and climbs again, and whether this climb counts as failed.
// heldFor is the longest any of its rungs waited in the pacer beyond
// HeldBack (zero: none was held back).
func climbWait(t Timing, climbs int, heldFor time.Duration) (wait time.Duration, failed bool) {
	if heldFor <= 0 {
		return backoff(t.Locktime, climbs+1, t.BackoffMax), true
	}
	// Held back by the pacer's rate: no doubling, and no longer than the
	// pacer needed to get the climb through (the next climb queues
	// behind the same backlog), but never below Locktime.
	return max(t.Locktime, min(backoff(t.Locktime, climbs, t.BackoffMax), heldFor)), false
}

// LossyClimbs is how many failed climbs of one pair, in one incident, may
// be taken for loss (see lossyClimb) before the backoff grows again.
const LossyClimbs = 3

// lossyClimb tells whether the failed climb of pr was most likely lost on
// the way rather than ignored: while it climbed, a rung fixed another VIP
// at the same target, so the target follows the ladder, and on a lossy
// path (half the ARP or ND lost, say) a climb of three rungs and their
// probes fails now and then. Such a climb does not double the backoff:
// the pair climbs again after Locktime. Only LossyClimbs times per
// incident, so that a VIP the target pins (a static entry) still backs off
// while the others are repaired.
func (c *core) lossyClimb(pr *pair) bool {
	return pr.lossy < LossyClimbs && pr.tgt >= 0 && !pr.climbAt.IsZero() &&
		c.targets[pr.tgt].fixedAt.After(pr.climbAt)
}

func (c *core) sendStep(now time.Time, i int) {
	pr := &c.pairs[i]
	if pr.level == StepNone {
		pr.climbAt = now // a climb's first rung
	}
	pr.level, _ = nextRung(pr.level, pr.heldOrder) // remediate checked there is one
	pr.attempts++
	pr.queued++
	pr.lastStep = pr.level
	c.nextID++
	pr.step, pr.issuedAt = c.nextID, now
	pr.phase, pr.wake = phSending, now.Add(c.t.SendTimeout)
	c.acts = append(c.acts, action{kind: actStep, id: pr.step, pair: i, step: pr.level})
	c.changed(i)
}

// confirmLater schedules, for pair i just verified after its rung fixed
// left the pacer, one unicast reply a Locktime later when the last rung
// was held back in the pacer (a policer upstream) and was not itself the
// unicast reply. Any other rung leaves a Linux upstream's entry STALE: it
// works, but a few seconds later the upstream probes the entry, and behind
// the policer the node's answer to that probe competes with every repair;
// when it loses, the entry fails and the VIP goes dark again until the
// upstream resolves it by itself (tens of seconds in the lab). A reply sent
// to the upstream makes the entry REACHABLE instead, once the locktime of
// the fix has passed. One frame per VIP, and only behind a policer.
func (c *core) confirmLater(i int, fixed Step) {
	pr := &c.pairs[i]
	if c.checkOnly || !pr.stepHeld || fixed == StepNone || fixed == StepUnicast || pr.stepAt.IsZero() {
		return
	}
	pr.confirm = pr.stepAt.Add(c.t.Locktime + c.t.Settle)
}

// sendConfirm hands pair i's confirming unicast reply to the pacer; no
// probe judges it (the pair is verified), and the pair's cycle goes on.
func (c *core) sendConfirm(now time.Time, i int) {
	pr := &c.pairs[i]
	pr.confirm = time.Time{}
	if pr.queued > 0 || pr.state != Verified || now.Before(pr.stepAt.Add(c.t.Locktime)) {
		return
	}
	pr.queued++
	c.nextID++
	c.acts = append(c.acts, action{kind: actStep, id: c.nextID, pair: i, step: StepUnicast})
}

// rungOutcome reports, once per rung, whether the rung of pair i that
// left at at got through: a probe sent after it was answered (lost
// false), or missed with the target answering the primary (lost true).
// The adaptive pacer judges its rate on these (announce.Pacer.Outcome):
// each names when its frame left, so outcomes of frames sent before the
// pacer last slowed down are not held against the new rate. A zero at
// (the probe judged no rung that had left) reports nothing.
func (c *core) rungOutcome(i int, at time.Time, lost bool) {
	pr := &c.pairs[i]
	if at.IsZero() || !at.After(pr.judged) {
		return
	}
	pr.judged = at
	c.acts = append(c.acts, action{kind: actOutcome, pair: i, at: at, lost: lost})
}

// backoff returns base doubled n-1 times, at most limit.
func backoff(base time.Duration, n int, limit time.Duration) time.Duration {
	d := base
	for k := 1; k < n && d < limit; k++ {
		d *= 2
	}
	return min(d, limit)
}
