package netmon

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"
)

// waitTimeout bounds every wait on an event in the tests.
const waitTimeout = 10 * time.Second

// fakeKernel is a kernel whose dumps and subscriptions the test controls.
type fakeKernel struct {
	mu      sync.Mutex // guards the fields below
	links   []Link     // what dump returns
	addrs   []IfAddr
	dumpErr error
	subErr  error
	dumps   int
	note    func(error)
	closed  bool

	streams chan *fakeStream // each subscription, for the test
}

func newFakeKernel(links []Link, addrs []IfAddr) *fakeKernel {
	return &fakeKernel{links: links, addrs: addrs, streams: make(chan *fakeStream, 16)}
}

func (k *fakeKernel) set(links []Link, addrs []IfAddr) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.links, k.addrs = links, addrs
}

func (k *fakeKernel) failDumps(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dumpErr = err
}

func (k *fakeKernel) failSubscribe(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.subErr = err
}

func (k *fakeKernel) subscribe(note func(error)) (*stream, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.subErr != nil {
		return nil, k.subErr
	}
	k.note = note
	fs := &fakeStream{links: make(chan linkEvent), addrs: make(chan addrEvent), stopped: make(chan struct{})}
	k.streams <- fs
	return &stream{links: fs.links, addrs: fs.addrs, cause: fs.getCause, stop: fs.stop}, nil
}

func (k *fakeKernel) dump() ([]Link, []IfAddr, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dumps++
	if k.dumpErr != nil {
		return nil, nil, k.dumpErr
	}
	return k.links, k.addrs, nil
}

func (k *fakeKernel) close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	return nil
}

// nextStream waits for the next subscription.
func (k *fakeKernel) nextStream(t *testing.T) *fakeStream {
	t.Helper()
	select {
	case fs := <-k.streams:
		return fs
	case <-time.After(waitTimeout):
		t.Fatal("no subscription")
		return nil
	}
}

// fakeStream is one subscription. Sends block until the monitor reads.
type fakeStream struct {
	links   chan linkEvent
	addrs   chan addrEvent
	stopped chan struct{}

	mu     sync.Mutex // guards cause and closed
	cause  error
	closed bool
}

func (s *fakeStream) getCause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cause
}

func (s *fakeStream) closeChans() {
	if !s.closed {
		s.closed = true
		close(s.links)
		close(s.addrs)
	}
}

// fail ends the subscription as the library does on a receive error.
func (s *fakeStream) fail(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cause = cause
	s.closeChans()
}

func (s *fakeStream) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stopped:
	default:
		close(s.stopped)
	}
	s.closeChans()
}

// waitStopped waits until the monitor stops the subscription.
func (s *fakeStream) waitStopped(t *testing.T) {
	t.Helper()
	select {
	case <-s.stopped:
	case <-time.After(waitTimeout):
		t.Fatal("subscription not stopped")
	}
}

func (s *fakeStream) isStopped() bool {
	select {
	case <-s.stopped:
		return true
	default:
		return false
	}
}

func (s *fakeStream) sendLink(t *testing.T, e linkEvent) {
	t.Helper()
	select {
	case s.links <- e:
	case <-time.After(waitTimeout):
		t.Fatal("monitor does not read link events")
	}
}

func (s *fakeStream) sendAddr(t *testing.T, e addrEvent) {
	t.Helper()
	select {
	case s.addrs <- e:
	case <-time.After(waitTimeout):
		t.Fatal("monitor does not read address events")
	}
}

// recorder collects the changes a subscriber receives.
type recorder struct {
	ch chan Change
}

func record(t *testing.T, src Source) *recorder {
	r := &recorder{ch: make(chan Change, 10000)}
	cancel := src.Subscribe(func(c Change) {
		select {
		case r.ch <- c:
		default:
			t.Error("recorder full")
		}
	})
	t.Cleanup(cancel)
	return r
}

// next waits for n changes.
func (r *recorder) next(t *testing.T, n int) []Change {
	t.Helper()
	var cs []Change
	timeout := time.After(waitTimeout)
	for len(cs) < n {
		select {
		case c := <-r.ch:
			cs = append(cs, c)
		case <-timeout:
			t.Fatalf("got %d changes, want %d: %v", len(cs), n, cs)
		}
	}
	return cs
}

// none checks that nothing arrived (call it after a sync point).
func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-r.ch:
		t.Errorf("unexpected change %v", c)
	default:
	}
}

// logRecords is a slog.Handler that keeps the records.
type logRecords struct {
	mu    sync.Mutex // guards recs
	recs  []slog.Record
	added chan struct{} // signalled after each record
}

func newLogRecords() *logRecords { return &logRecords{added: make(chan struct{}, 1)} }

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecords) WithGroup(string) slog.Handler            { return h }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	select {
	case h.added <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until msg has been logged n times at level or above.
func (h *logRecords) waitFor(t *testing.T, level slog.Level, msg string, n int) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		if count(h.at(level), msg) >= n {
			return
		}
		select {
		case <-h.added:
		case <-timeout:
			t.Fatalf("%q not logged %d times at %v; log: %q", msg, n, level, h.at(slog.LevelDebug))
		}
	}
}

func count(msgs []string, msg string) int {
	n := 0
	for _, m := range msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// at returns the messages logged at level or above.
func (h *logRecords) at(level slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var msgs []string
	for _, r := range h.recs {
		if r.Level >= level {
			msgs = append(msgs, r.Message)
		}
	}
	return msgs
}

// checkGoroutines fails t if more goroutines run when it ends than when it
// called this, after a grace period for goroutines on their way out.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitTimeout)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines leaked: %d running, %d before\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(time.Millisecond) // polling a count: there is no event to wait on
		}
	})
}

var errBoom = errors.New("boom")
