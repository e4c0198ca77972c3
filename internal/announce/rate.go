package announce

import "time"

// The Pacer's side of adaptive pacing (adapt.go): the verifier's evidence
// in, the rate out to the bucket, and the log of each change.

// Congestion tells an adaptive pacer that an announced VIP was found
// stale at the upstream after its announcement, Delivered that one was
// found at its new owner. A window of these outcomes whose share of stale
// VIPs is above MaxLoss cuts the rate (see rateControl); a fixed rate is
// kept.
func (p *Pacer) Congestion() { p.Outcome(time.Time{}, true) }

// Delivered: see Congestion.
func (p *Pacer) Delivered() { p.Outcome(time.Time{}, false) }

// Outcome tells an adaptive pacer that a frame it wrote at sent (a repair,
// SendNow) was lost at the upstream, or got through. It counts like
// Congestion and Delivered, except that the outcome of a frame written
// before the pacer last slowed down is no evidence against the new rate
// and is ignored, however late it comes.
func (p *Pacer) Outcome(sent time.Time, lost bool) {
	p.mu.Lock()
	cut := p.rc.outcome(p.clock.Now(), sent, lost)
	if cut {
		p.setRate()
	}
	rate := p.rc.rate
	p.mu.Unlock()
	if cut {
		p.log.Info("announce: slowing down: most announced VIPs found stale at the upstream, as behind a policer", "rate", rate)
	}
}

// Rate returns the current rate in packets per second.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rc.rate
}

// logRate logs a rate change from from made in next.
func (p *Pacer) logRate(from float64) {
	rate := p.Rate()
	switch {
	case rate < from:
		p.log.Info("announce: slowing down: most announced VIPs found stale at the upstream, as behind a policer", "rate", rate)
	default:
		p.log.Debug("announce: speeding up", "rate", rate)
	}
}

// setRate gives the bucket the rate control's rate and, when it adapts,
// the burst that goes with it (adaptiveBurst). Callers hold p.mu.
func (p *Pacer) setRate() {
	burst := p.burst
	if p.rc.adaptive {
		burst = adaptiveBurst(p.rc.rate, p.burst)
	}
	p.bucket.setRate(p.rc.rate, burst)
}
