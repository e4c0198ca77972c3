package health

import (
	"time"

	"github.com/vipd/vipd/internal/config"
)

// Result is the outcome of one run of a check.
type Result struct {
	Check   string
	Healthy bool
	// Err says why the run failed; empty when it passed.
	Err     string
	At      time.Time     // when the run started
	Latency time.Duration // how long it took
}

// CheckStatus is where one check stands.
type CheckStatus struct {
	Name, Type string
	// Pending: the check has not run yet. A pending check counts as
	// failing (see the package documentation).
	Pending bool
	// Healthy is the check's state after rise/fall; false while pending.
	Healthy bool
	// Since is when Healthy last changed (the first result counts); zero
	// while pending.
	Since time.Time
	// LastErr is the message of the most recent failed run, kept after
	// later runs pass so that the last cause stays visible.
	LastErr string
	// LastRun is the start of the most recent run, LastLatency its
	// duration.
	LastRun     time.Time
	LastLatency time.Duration
	// Successes and Failures count the current streak of passes or
	// failures (one of them is 0 once the check has run).
	Successes, Failures int
	// Runs and RunFailures are totals since the monitor started.
	Runs, RunFailures uint64
	// Weight and FaultCheck are the check's effect, from its config.
	Weight     int
	FaultCheck bool
}

// Failing reports whether the check counts as failing: it has failed
// (after fall) or has not run yet.
func (c CheckStatus) Failing() bool { return !c.Healthy }

// Status is the state of an instance's checks and their combined effect.
type Status struct {
	Checks []CheckStatus
	// PriorityDelta is the sum of the weights that apply: negative
	// weights of failing checks and positive weights of healthy ones.
	PriorityDelta int
	// Fault is true while any fault check is failing.
	Fault bool
}

// summarize computes the combined effect of the checks' states.
func summarize(checks []CheckStatus) Status {
	s := Status{Checks: checks}
	for _, c := range checks {
		failing := c.Failing()
		switch {
		case c.FaultCheck && failing:
			s.Fault = true
		case c.Weight < 0 && failing, c.Weight > 0 && !failing:
			s.PriorityDelta += c.Weight
		}
	}
	return s
}

// Effective returns the priority to advertise and whether the instance is
// in fault, given its configured priority base and its checks' status. The
// priority is base plus s.PriorityDelta, clamped to 1..254: checks can
// neither make a router the address owner nor take it out of the election
// (0 means "resigning" in VRRP). The address owner's priority (255) never
// changes. Fault is s.Fault, for the owner too.
func Effective(base uint8, s Status) (prio uint8, fault bool) {
	if base == 255 {
		return base, s.Fault
	}
	p := min(max(int(base)+s.PriorityDelta, 1), 254)
	return uint8(p), s.Fault
}

// tracker applies a check's rise/fall hysteresis to its results. It is
// the pure core of the monitor.
type tracker struct {
	rise, fall int
	st         CheckStatus
}

func newTracker(c config.Check) tracker {
	return tracker{
		rise: max(c.Rise, 1),
		fall: max(c.Fall, 1),
		st: CheckStatus{Name: c.Name, Type: c.Type, Pending: true,
			Weight: c.Weight, FaultCheck: c.Fault},
	}
}

// observe applies one result and reports whether the check's state
// (Pending or Healthy) changed. The first result decides the state at
// once; after that, rise passes in a row make a failing check healthy and
// fall failures in a row make a healthy check failing.
func (t *tracker) observe(r Result) (changed bool) {
	st := &t.st
	st.LastRun, st.LastLatency = r.At, r.Latency
	st.Runs++
	if r.Healthy {
		st.Successes++
		st.Failures = 0
	} else {
		st.Failures++
		st.Successes = 0
		st.RunFailures++
		st.LastErr = r.Err
	}
	switch {
	case st.Pending:
		st.Pending = false
	case st.Healthy && st.Failures >= t.fall:
	case !st.Healthy && st.Successes >= t.rise:
	default:
		return false
	}
	st.Healthy = r.Healthy
	st.Since = r.At
	return true
}
