package daemon

import (
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/metrics"
	"github.com/vipd/vipd/internal/verify"
)

// Observer receives the measurements that are events rather than state
// (the state is read from Status at scrape time). *metrics.Metrics
// implements it.
type Observer interface {
	// DeclareInstance announces an instance's series, so that they exist
	// (at 0) before anything happens: remediation kinds, VIPs, checks.
	DeclareInstance(instance string, kinds, vips, checks []string)
	// ForgetInstance drops the series of an instance a reload removed.
	ForgetInstance(instance string)
	// ObserveFailover records a takeover from another master: reason is
	// one of metrics.FailoverReasons.
	ObserveFailover(instance, reason string, d time.Duration)
	RemediationSent(instance, kind string, n int)
	Misdirected(instance, vip string, n int)
	HealthCheck(instance, check string, healthy bool)
}

type nopObserver struct{}

func (nopObserver) DeclareInstance(string, []string, []string, []string) {}
func (nopObserver) ForgetInstance(string)                                {}
func (nopObserver) ObserveFailover(string, string, time.Duration)        {}
func (nopObserver) RemediationSent(string, string, int)                  {}
func (nopObserver) Misdirected(string, string, int)                      {}
func (nopObserver) HealthCheck(string, string, bool)                     {}

// failoverReason tells whether a takeover by a transition for reason is a
// failover, and which: only a takeover from another master is. A start-up
// election (no master heard within the last two Master_Down_Intervals),
// the address owner starting, or a fault clearing with no master around
// is not, and is not measured ("").
func failoverReason(reason fsm.Reason, preempting bool, lastHeard, now time.Time, masterDown time.Duration) string {
	switch {
	case preempting:
		return metrics.FailoverPreempted
	case reason == fsm.ReasonMasterResigned:
		return metrics.FailoverResigned
	case reason == fsm.ReasonMasterDown && !lastHeard.IsZero() && now.Sub(lastHeard) <= 2*masterDown:
		return metrics.FailoverMasterDown
	}
	return ""
}

// remediationKinds are the repair packets an instance of the family can
// send (the verifier's ladder), declared at 0 for the metrics.
func remediationKinds(ipv6 bool) []string {
	var out []string
	for _, s := range verify.Ladder {
		for _, k := range s.Kinds(ipv6) {
			out = append(out, k.String())
		}
	}
	return out
}

// declare announces ic's series to the observer.
func (d *Daemon) declare(ic config.Instance) {
	vips := make([]string, len(ic.VIPs))
	for i, p := range ic.VIPs {
		vips[i] = p.String()
	}
	checks := make([]string, len(ic.Checks))
	for i, c := range ic.Checks {
		checks[i] = c.Name
	}
	d.obs.DeclareInstance(ic.Name, remediationKinds(ic.IPv6()), vips, checks)
}
