package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/vipd/vipd/internal/config"
)

// ErrTimeout is wrapped by the error of a run that did not finish within
// the check's timeout.
var ErrTimeout = errors.New("health: timed out")

// ProbeFunc runs a check once. It returns nil if the check passed, or an
// error that says why not. It must return soon after ctx is done; ctx
// carries the check's timeout.
type ProbeFunc func(ctx context.Context, c config.Check) error

// Deps are what a Monitor needs from outside. The zero value works: the
// system clock, no logging, the built-in probers, no callback.
type Deps struct {
	// Clock schedules the runs; nil means SystemClock.
	Clock Clock
	// Logger gets the checks' state changes (Info, Warn) and every run
	// (Debug). Nil discards. The caller adds the instance key.
	Logger *slog.Logger
	// Probers run the checks, by type (config.CheckExec, ...); types not
	// in the map use DefaultProbers.
	Probers map[string]ProbeFunc
	// OnChange is called when a check's state changes (its first result,
	// or a rise/fall flip), with the status current at the time of the
	// call. Calls come from one goroutine, one at a time; changes that
	// happen while a call runs are delivered in one later call. It may
	// call Status; it should return soon (hand the status to the
	// instance's loop), as later changes wait for it.
	OnChange func(Status)
}

// Monitor runs the health checks of one instance, each in its own
// goroutine, and keeps their state. Runs never block the caller: the
// protocol loop reads Status or gets OnChange calls.
type Monitor struct {
	checks   []config.Check
	probes   []ProbeFunc
	clock    Clock
	log      *slog.Logger
	onChange func(Status)

	mu       sync.Mutex // guards trackers and pending
	trackers []tracker
	pending  int // checks without a result yet

	ready   chan struct{} // closed when pending reaches 0
	changed chan struct{} // capacity 1: a state change for onChange
}

// NewMonitor returns a monitor for checks; Run starts it. A check of a
// type with no prober fails every run with an error saying so.
func NewMonitor(checks []config.Check, deps Deps) *Monitor {
	m := &Monitor{
		checks:   append([]config.Check(nil), checks...),
		clock:    deps.Clock,
		log:      deps.Logger,
		onChange: deps.OnChange,
		pending:  len(checks),
		ready:    make(chan struct{}),
		changed:  make(chan struct{}, 1),
	}
	if m.clock == nil {
		m.clock = SystemClock()
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	defaults := DefaultProbers()
	for _, c := range m.checks {
		p := deps.Probers[c.Type]
		if p == nil {
			p = defaults[c.Type]
		}
		if p == nil {
			typ := c.Type
			p = func(context.Context, config.Check) error {
				return fmt.Errorf("health: no prober for check type %q", typ)
			}
		}
		m.probes = append(m.probes, p)
		m.trackers = append(m.trackers, newTracker(c))
	}
	if m.pending == 0 {
		close(m.ready)
	}
	return m
}

// Run runs the checks until ctx is done, then returns once every run in
// progress has ended (each is bounded by its timeout and by ctx). Call it
// once.
func (m *Monitor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range m.checks {
		wg.Go(func() { m.loop(ctx, i) })
	}
	if m.onChange != nil {
		wg.Go(func() { m.deliver(ctx) })
	}
	wg.Wait()
}

// Ready is closed once every check has its first result; from then on
// Status reflects real results rather than pending checks.
func (m *Monitor) Ready() <-chan struct{} { return m.ready }

// Status returns a copy of the checks' state and their combined effect.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	checks := make([]CheckStatus, len(m.trackers))
	for i := range m.trackers {
		checks[i] = m.trackers[i].st
	}
	m.mu.Unlock()
	return summarize(checks)
}

// loop runs check i every Interval, measured from the start of one run
// to the start of the next.
func (m *Monitor) loop(ctx context.Context, i int) {
	c := m.checks[i]
	for {
		r := m.run(ctx, i)
		if ctx.Err() != nil {
			return // a run cut short by shutdown says nothing about the check
		}
		m.record(i, r)
		if wait := c.Interval - r.Latency; wait > 0 {
			t := m.clock.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
	}
}

// run runs check i once, within its timeout.
func (m *Monitor) run(ctx context.Context, i int) Result {
	c := m.checks[i]
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = config.DefaultCheckTimeout
	}
	start := m.clock.Now()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	err := m.probes[i](rctx, c)
	timedOut := errors.Is(rctx.Err(), context.DeadlineExceeded)
	cancel()
	r := Result{Check: c.Name, At: start, Latency: m.clock.Now().Sub(start), Healthy: err == nil && !timedOut}
	switch {
	case timedOut && err != nil:
		r.Err = fmt.Errorf("%w after %s: %w", ErrTimeout, timeout, err).Error()
	case timedOut:
		r.Err = fmt.Errorf("%w after %s", ErrTimeout, timeout).Error()
	case err != nil:
		r.Err = err.Error()
	}
	return r
}

// record applies a result and signals a state change.
func (m *Monitor) record(i int, r Result) {
	m.mu.Lock()
	t := &m.trackers[i]
	wasPending := t.st.Pending
	changed := t.observe(r)
	st := t.st
	if wasPending {
		m.pending--
		if m.pending == 0 {
			close(m.ready)
		}
	}
	m.mu.Unlock()

	c := m.checks[i]
	m.log.Debug("health check ran", "check", c.Name, "healthy", r.Healthy, "latency", r.Latency, "err", r.Err)
	if !changed {
		return
	}
	switch {
	case st.Healthy && wasPending:
		m.log.Info("health check healthy", "check", c.Name, "type", c.Type)
	case st.Healthy:
		m.log.Info("health check healthy again", "check", c.Name, "type", c.Type, "successes", st.Successes)
	default:
		m.log.Warn("health check failing", "check", c.Name, "type", c.Type, "failures", st.Failures, "err", r.Err)
	}
	select {
	case m.changed <- struct{}{}:
	default: // a delivery is pending already; it will read the new status
	}
}

// deliver calls onChange for every signalled change.
func (m *Monitor) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.changed:
			m.onChange(m.Status())
		}
	}
}
