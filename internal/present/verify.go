package present

import (
	"context"
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/verify"
)

// manageVerifier runs the verifier while every VIP is ours (held and
// reported by the kernel), from verifyAt on; it never probes or repairs a
// VIP this node does not hold. It returns when to look again.
func (p *L2) manageVerifier(now time.Time, w desired) time.Time {
	ready := p.addFailed != w.takeover
	for _, pfx := range w.set.VIPs {
		if s := p.states[pfx]; s == nil || s.state != stOurs {
			ready = false
			break
		}
	}
	if !ready {
		if p.stopVerifier() {
			p.log.Info("verification paused until every VIP is back")
		}
		if p.verifyAt.IsZero() || p.verifyAt.Before(now) {
			p.verifyAt = now
		}
		return time.Time{}
	}
	if p.verifyAt.IsZero() {
		return time.Time{}
	}
	if now.Before(p.verifyAt) {
		return p.verifyAt
	}
	p.verifyAt = time.Time{}
	p.startVerifier(w.set.VIPs, w.set.Verify)
	return time.Time{}
}

// startVerifier begins the per-VIP proof of vips.
func (p *L2) startVerifier(vips []netip.Prefix, vc VerifyConfig) {
	p.stopVerifier()
	if !vc.Enabled || p.deps.Prober == nil {
		return
	}
	targets, err := p.deps.Targets(p.cfg.Interface.Index, vips, vc.Targets)
	if err != nil {
		p.log.Warn("cannot find the upstream targets to verify against", "err", err)
	}
	if len(targets) == 0 {
		p.log.Warn("no upstream target to verify the VIPs against: no gateway on the VIPs' subnets and none configured (verify.targets)", "err", errNoTargets)
		return
	}
	var p4, p6 netip.Addr
	if p.cfg.Primary.Is4() {
		p4 = p.cfg.Primary
	} else {
		p6 = p.cfg.Primary
	}
	period := vc.Period
	if period == 0 {
		period = 100 * 365 * 24 * time.Hour // only after takeover
	}
	v := verify.New(verify.Config{
		Instance:  p.cfg.Instance,
		Interface: p.cfg.Interface.Name,
		IfIndex:   p.vipIndex(),
		MAC:       p.vipMAC(),
		Primary4:  p4,
		Primary6:  p6,
		VIPs:      addrsOf(vips),
		Targets:   targets,
		Timing:    verify.Timing{Period: period},
	}, verify.Deps{
		Prober:    p.deps.Prober,
		Pacer:     p.deps.Announcer,
		Sender:    p.deps.Sender,
		Neighbors: p.deps.Neighbors,
		Clock:     p.deps.Clock,
		Logger:    p.log,
		OnEvent:   p.verifyEvent,
	})
	p.mu.Lock()
	p.verifier = v
	p.mu.Unlock()
	v.Start(context.Background())
}

// stopVerifier stops the verifier, if any; true if one ran.
func (p *L2) stopVerifier() bool {
	p.mu.Lock()
	v := p.verifier
	p.verifier = nil
	p.mu.Unlock()
	if v == nil {
		return false
	}
	v.Stop()
	return true
}

// verifyEvent forwards the verifier's events; it runs on the verifier's
// goroutine.
func (p *L2) verifyEvent(e verify.Event) {
	p.deps.Report(Verify{Event: e})
	switch e := e.(type) {
	case verify.StateChanged:
		// The adaptive pacer's evidence (announce.Pacer) on the
		// takeover's announcements: announced (verification starts once
		// the upstream had time to process the burst), yet the upstream
		// still sends the VIP elsewhere, or the VIP found at its new
		// owner. Once repairs were sent, RungOutcome reports on them.
		if e.Status.Attempts > 0 {
			break
		}
		switch {
		case e.Status.State == verify.Stale && e.From != verify.Stale:
			p.deps.Announcer.Congestion()
		case e.Status.State == verify.Verified && e.From != verify.Verified:
			p.deps.Announcer.Delivered()
		}
	case verify.RungOutcome:
		// A repair lost or delivered, with when it left the pacer.
		p.deps.Announcer.Outcome(e.Sent, e.Lost)
	}
	if _, ok := e.(verify.AllVerified); !ok {
		return
	}
	p.mu.Lock()
	since := p.since
	p.since = time.Time{}
	p.mu.Unlock()
	if !since.IsZero() {
		p.deps.Report(FailoverVerified{Duration: p.deps.Clock.Now().Sub(since)})
	}
}
