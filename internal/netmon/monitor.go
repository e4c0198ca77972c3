package netmon

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/clock"
)

// Options configure Open. The zero value is usable.
type Options struct {
	// Logger receives the monitor's log; nil discards it.
	Logger *slog.Logger
	// Clock drives the backoff and the periodic resync; nil is the
	// system clock.
	Clock clock.Clock
	// ResyncInterval is how often a full dump is compared with the
	// snapshot; 0 means DefaultResyncInterval, a negative value none.
	ResyncInterval time.Duration
	// ReceiveBuffer is the receive buffer size asked for on the event
	// sockets, in bytes (the kernel doubles it for its bookkeeping); 0
	// means DefaultReceiveBuffer. With CAP_NET_ADMIN it is forced past
	// net.core.rmem_max (SO_RCVBUFFORCE). A burst larger than the buffer
	// still overflows, and is survived.
	ReceiveBuffer int
	// Namespace is the path of the network namespace to watch, for
	// example /run/netns/NAME; empty means the namespace of the thread
	// that calls Open. Sockets are opened in it by the netlink library,
	// which returns the thread to its own namespace.
	Namespace string
}

// Defaults of Options.
const (
	DefaultResyncInterval = 30 * time.Second
	DefaultReceiveBuffer  = 4 << 20
)

// The resubscription backoff: the first retry after minBackoff, doubling
// up to maxBackoff. An episode of failures ends, and the backoff starts
// over, once a subscription has stayed healthy for maxBackoff.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// Stats count what the monitor did since Open.
type Stats struct {
	// Events is the link and address messages received (including the
	// listings that follow each subscription).
	Events uint64
	// Failures is the subscriptions lost (including Overflows) and the
	// failed attempts to subscribe or dump.
	Failures uint64
	// Overflows is the subscriptions lost to ENOBUFS: events came faster
	// than they were read.
	Overflows uint64
	// Errors is the non-fatal errors the subscriptions reported (an
	// interrupted dump, an unparsable message); each triggers a resync.
	Errors uint64
	// Resubscriptions is the successful subscriptions after the first.
	Resubscriptions uint64
	// Resyncs is the full dumps applied, the first one included.
	Resyncs uint64
	// Corrections is the differences found by resyncs that did not follow
	// a resubscription: events the kernel never delivered.
	Corrections uint64
}

// errOverflow marks a subscription lost to ENOBUFS.
var errOverflow = errors.New("receive buffer overflow (ENOBUFS)")

// kernel is what the monitor needs from the operating system: on Linux
// rtnetlink, in tests a fake.
type kernel interface {
	// subscribe opens the link and address subscriptions. It passes the
	// non-fatal errors they report to note, from any goroutine.
	subscribe(note func(error)) (*stream, error)
	// dump lists every link and address.
	dump() ([]Link, []IfAddr, error)
	// close releases what the kernel holds open.
	close() error
}

// linkEvent is an RTM_NEWLINK, or with deleted an RTM_DELLINK.
type linkEvent struct {
	link    Link
	deleted bool
}

// addrEvent is an RTM_NEWADDR, or with deleted an RTM_DELADDR.
type addrEvent struct {
	index   int
	prefix  netip.Prefix
	deleted bool
}

// stream is one subscription to link and address events. A channel closes
// when its subscription fails.
type stream struct {
	links <-chan linkEvent
	addrs <-chan addrEvent
	// cause tells why a channel closed; call it once one has.
	cause func() error
	// stop ends both subscriptions and returns once both channels are
	// closed, draining them. It may be called more than once.
	stop func()
}

// Monitor keeps the snapshot of one network namespace up to date; see the
// package documentation. Its methods are safe for concurrent use.
type Monitor struct {
	k           kernel
	log         *slog.Logger
	clock       clock.Clock
	resyncEvery time.Duration

	mu   sync.RWMutex // guards snap; only the monitor's goroutine writes it
	snap Snapshot
	out  Fanout

	st    *stream    // the current subscription; owned by the goroutine
	notes chan error // non-fatal subscription errors; one is enough to resync

	events, failures, overflows, errs, resubs, resyncs, corrections atomic.Uint64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ Source = (*Monitor)(nil)

// newMonitor subscribes, loads the snapshot from a dump and starts the
// monitor's goroutine. On error it closes k.
func newMonitor(k kernel, opts Options) (*Monitor, error) {
	m := &Monitor{
		k: k, log: opts.Logger, clock: opts.Clock, resyncEvery: opts.ResyncInterval,
		notes: make(chan error, 1),
		stop:  make(chan struct{}), done: make(chan struct{}),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = clock.System()
	}
	if m.resyncEvery == 0 {
		m.resyncEvery = DefaultResyncInterval
	}
	if _, err := m.connect(); err != nil {
		k.close()
		return nil, err
	}
	go m.run(m.newTimer(m.resyncEvery))
	return m, nil
}

// Close stops the monitor and waits for its goroutines; the snapshot stays
// readable, and frozen. It always returns nil.
func (m *Monitor) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		<-m.done
		m.k.close()
	})
	return nil
}

// Stats returns the counters.
func (m *Monitor) Stats() Stats {
	return Stats{
		Events: m.events.Load(), Failures: m.failures.Load(), Overflows: m.overflows.Load(),
		Errors: m.errs.Load(), Resubscriptions: m.resubs.Load(), Resyncs: m.resyncs.Load(),
		Corrections: m.corrections.Load(),
	}
}

// note receives the subscriptions' non-fatal errors.
func (m *Monitor) note(err error) {
	m.errs.Add(1)
	select {
	case m.notes <- err:
	default: // a resync is due already
	}
}

// connect subscribes and then loads a dump, so that nothing that happens
// after the dump is missed. It returns the changes the dump made.
func (m *Monitor) connect() ([]Change, error) {
	st, err := m.k.subscribe(m.note)
	if err != nil {
		return nil, fmt.Errorf("netmon: subscribe: %w", err)
	}
	links, addrs, err := m.k.dump()
	if err != nil {
		st.stop()
		return nil, fmt.Errorf("netmon: dump: %w", err)
	}
	m.st = st
	m.resyncs.Add(1)
	return m.replace(links, addrs), nil
}

func (m *Monitor) replace(links []Link, addrs []IfAddr) []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snap.Replace(links, addrs)
}

// episode is a run of subscription failures, from the first until a
// subscription has stayed healthy for maxBackoff.
type episode struct {
	active   bool
	start    time.Time
	failures int
	backoff  time.Duration
}

// run applies events until Close; resync is the periodic resync's timer.
func (m *Monitor) run(resync clock.Timer) {
	defer close(m.done)
	defer func() { m.st.stop() }()
	defer func() {
		if resync != nil {
			resync.Stop()
		}
	}()
	var settle clock.Timer // armed after a resubscription
	var ep episode
	for {
		select {
		case <-m.stop:
			return
		case e, ok := <-m.st.links:
			if ok {
				m.events.Add(1)
				m.applyLink(e)
				continue
			}
		case e, ok := <-m.st.addrs:
			if ok {
				m.events.Add(1)
				m.applyAddr(e)
				continue
			}
		case err := <-m.notes:
			m.log.Debug("netlink subscription reported an error; resyncing", "err", err)
			if m.resync() {
				continue
			}
		case <-timerC(resync):
			ok := m.resync()
			resync = m.newTimer(m.resyncEvery)
			if ok {
				continue
			}
		case <-timerC(settle):
			settle = nil
			m.log.Info("netlink subscription healthy again", "failures", ep.failures,
				"duration", m.clock.Now().Sub(ep.start).Round(time.Millisecond))
			ep = episode{}
			continue
		}
		// The subscription failed (a channel closed) or a dump did.
		cause := m.st.cause()
		if settle != nil {
			settle.Stop()
			settle = nil
		}
		if !m.recover(&ep, cause) {
			return
		}
		settle = m.clock.NewTimer(maxBackoff)
	}
}

// resync compares a dump with the snapshot and applies the differences. It
// returns false if the dump failed, setting the cause for recover.
func (m *Monitor) resync() bool {
	links, addrs, err := m.k.dump()
	if err != nil {
		err = fmt.Errorf("netmon: dump: %w", err)
		m.st.stop()
		m.st = failedStream(err)
		return false
	}
	m.resyncs.Add(1)
	cs := m.replace(links, addrs)
	if len(cs) > 0 {
		m.corrections.Add(uint64(len(cs)))
		m.log.Warn("resync corrected the snapshot: events were missed", "changes", len(cs))
		m.out.Emit(append(cs, Change{Kind: Resynced}))
	}
	return true
}

// recover replaces a failed subscription, with backoff, until one works or
// the monitor stops (then it returns false). The first failure of an
// episode is logged; the others are counted.
func (m *Monitor) recover(ep *episode, cause error) bool {
	m.st.stop()
	m.failures.Add(1)
	if errors.Is(cause, errOverflow) {
		m.overflows.Add(1)
	}
	if !ep.active {
		*ep = episode{active: true, start: m.clock.Now(), backoff: minBackoff}
		m.log.Warn("netlink subscription failed; resubscribing", "err", cause)
	}
	ep.failures++
	for {
		t := m.clock.NewTimer(ep.backoff)
		select {
		case <-m.stop:
			t.Stop()
			m.st = failedStream(cause) // stopped already; run's defer stops it again
			return false
		case <-t.C():
		}
		ep.backoff = min(2*ep.backoff, maxBackoff)
		cs, err := m.connect()
		if err != nil {
			m.failures.Add(1)
			ep.failures++
			m.log.Debug("resubscription failed", "err", err)
			continue
		}
		m.resubs.Add(1)
		m.out.Emit(append(cs, Change{Kind: Resynced}))
		return true
	}
}

func (m *Monitor) applyLink(e linkEvent) {
	m.mu.Lock()
	var cs []Change
	if e.deleted {
		cs = m.snap.DeleteLink(e.link.Index)
	} else {
		cs = m.snap.SetLink(e.link)
	}
	m.mu.Unlock()
	m.out.Emit(cs)
}

func (m *Monitor) applyAddr(e addrEvent) {
	m.mu.Lock()
	var cs []Change
	if e.deleted {
		cs = m.snap.DelAddr(e.index, e.prefix)
	} else {
		cs = m.snap.AddAddr(e.index, e.prefix)
	}
	m.mu.Unlock()
	m.out.Emit(cs)
}

// newTimer returns a timer for d, or nil for d < 0.
func (m *Monitor) newTimer(d time.Duration) clock.Timer {
	if d < 0 {
		return nil
	}
	return m.clock.NewTimer(d)
}

// timerC is t's channel, or nil (never ready) for no timer.
func timerC(t clock.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C()
}

// failedStream is a subscription that has failed with cause: both
// channels are closed.
func failedStream(cause error) *stream {
	l, a := make(chan linkEvent), make(chan addrEvent)
	close(l)
	close(a)
	return &stream{links: l, addrs: a, cause: func() error { return cause }, stop: func() {}}
}

// Subscribe implements Source: fn is called from the monitor's goroutine.
func (m *Monitor) Subscribe(fn func(Change)) (cancel func()) { return m.out.Subscribe(fn) }

// Link implements Source.
func (m *Monitor) Link(name string) (Link, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snap.Link(name)
}

// LinkByIndex implements Source.
func (m *Monitor) LinkByIndex(ifindex int) (Link, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snap.LinkByIndex(ifindex)
}

// Links returns every link, sorted by index.
func (m *Monitor) Links() []Link {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snap.Links()
}

// Addrs implements Source.
func (m *Monitor) Addrs(ifindex int) []netip.Prefix {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snap.Addrs(ifindex)
}

// AllAddrs returns every address, sorted by index, then prefix.
func (m *Monitor) AllAddrs() []IfAddr {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snap.AllAddrs()
}

// HasAddr implements Source.
func (m *Monitor) HasAddr(ifindex int, p netip.Prefix) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snap.HasAddr(ifindex, p)
}

// Present implements Source.
func (m *Monitor) Present(ifindex int, ps []netip.Prefix) []netip.Prefix {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snap.Present(ifindex, ps)
}

// Holders implements Source.
func (m *Monitor) Holders(a netip.Addr) []int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.snap.Holders(a)
}
