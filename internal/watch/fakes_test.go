package watch

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/clock/clocktest"
)

// fakeConn is a Conn fed from a channel. It honours read deadlines in the
// past (the watcher's way to stop a read) and records writes and filters.
type fakeConn struct {
	in     chan []byte
	sync   chan struct{} // received only by a reader back in ReadFrom
	errs   chan error    // read errors to return, before frames
	closed chan struct{}

	mu       sync.Mutex // guards the fields below
	expired  chan struct{}
	deadline time.Time
	written  [][]byte
	dsts     []net.Addr
	filters  [][]bpf.RawInstruction
	once     sync.Once
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan []byte), sync: make(chan struct{}), errs: make(chan error, 1),
		closed: make(chan struct{}), expired: make(chan struct{})}
}

func (c *fakeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.mu.Lock()
	expired := c.expired
	c.mu.Unlock()
	select {
	case err := <-c.errs:
		return 0, nil, err
	default:
	}
	for {
		select {
		case err := <-c.errs: // a reader already waiting gets it too
			return 0, nil, err
		case f := <-c.in:
			return copy(b, f), &packet.Addr{}, nil
		case <-c.sync:
		case <-c.closed:
			return 0, nil, net.ErrClosed
		case <-expired:
			return 0, nil, os.ErrDeadlineExceeded
		}
	}
}

func (c *fakeConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written = append(c.written, bytes.Clone(b))
	c.dsts = append(c.dsts, addr)
	return len(b), nil
}

func (c *fakeConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	select {
	case <-c.expired:
		c.expired = make(chan struct{})
	default:
	}
	if !t.IsZero() && !t.After(time.Now()) {
		close(c.expired)
	}
	return nil
}

func (c *fakeConn) SetBPF(f []bpf.RawInstruction) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.filters = append(c.filters, f)
	return nil
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *fakeConn) lastFilter() []bpf.RawInstruction {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.filters) == 0 {
		return nil
	}
	return c.filters[len(c.filters)-1]
}

// fakePacer records SendNow and writes each packet at once.
type fakePacer struct {
	mu        sync.Mutex // guards the fields below
	pkts      []announce.Packet
	keys      []string
	cancelled []string
	changed   chan struct{}
}

func (p *fakePacer) SendNow(key string, s announce.Sender, pkts ...announce.Packet) error {
	for _, pk := range pkts {
		if err := s.Send(pk.Frame); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pkts = append(p.pkts, pkts...)
	p.keys = append(p.keys, key)
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
	return nil
}

func (p *fakePacer) Cancel(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancelled = append(p.cancelled, key)
}

// wait blocks until n packets were sent or the test's deadline passes.
func (p *fakePacer) wait(t *testing.T, n int) []announce.Packet {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		p.mu.Lock()
		if len(p.pkts) >= n {
			pk := append([]announce.Packet(nil), p.pkts...)
			p.mu.Unlock()
			return pk
		}
		if p.changed == nil {
			p.changed = make(chan struct{})
		}
		ch, have := p.changed, len(p.pkts)
		p.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d of %d packets sent", have, n)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// checkGoroutines fails the test if goroutines started during it are
// still running when it ends (after a grace period: exiting takes a
// moment).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines left running, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
				return
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond) // polling the count, not waiting for an event
		}
	})
}

type rig struct {
	w       *Watcher
	conn    *fakeConn
	pacer   *fakePacer
	clock   *clocktest.Clock
	reports chan Report
	log     *lockedWriter
	done    chan struct{}
	cancel  context.CancelFunc
}

func newRig(t *testing.T, withPacer bool, opts ...func(*Deps)) *rig {
	t.Helper()
	checkGoroutines(t)
	r := &rig{conn: newFakeConn(), clock: clocktest.NewClock(timeZero), reports: make(chan Report, 64), log: &lockedWriter{}}
	deps := Deps{
		Clock:    r.clock,
		Logger:   slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnReport: func(rep Report) { r.reports <- rep },
	}
	if withPacer {
		r.pacer = &fakePacer{}
		deps.Pacer = r.pacer
	}
	for _, o := range opts {
		o(&deps)
	}
	ifi := &net.Interface{Name: "eth0", Index: 2, HardwareAddr: ourMAC}
	w, err := New(ifi, r.conn, deps)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		r.stopped(t)
		_ = w.Close()
	})
	return r
}

// lockedWriter is a log buffer safe for the logger's goroutines.
type lockedWriter struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (r *rig) logged() string {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	return r.log.b.String()
}

// feed hands the watcher a frame and returns once it has handled it (its
// reader is back in ReadFrom), so that the frame's time is the clock's
// time now.
func (r *rig) feed(t *testing.T, b []byte) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	select {
	case r.conn.in <- b:
	case <-timeout:
		t.Fatal("the watcher does not read")
	}
	select {
	case r.conn.sync <- struct{}{}:
	case <-timeout:
		t.Fatal("the watcher does not read again")
	}
}

// armed waits until the Run loop has a timer for at: only then may the
// test advance the clock to it (the loop arms timers relative to the
// time it read).
func (r *rig) armed(t *testing.T, at time.Time) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		next, ok := r.clock.Next()
		if ok && next.Equal(at) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no timer for %v (next %v, %v)", at.Sub(timeZero), next.Sub(timeZero), ok)
		}
		runtime.Gosched()
	}
}

func (r *rig) report(t *testing.T) Report {
	t.Helper()
	select {
	case rep := <-r.reports:
		return rep
	case <-time.After(5 * time.Second):
		t.Fatal("no report")
	}
	return Report{}
}

func (r *rig) stopped(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

func slicesEqualRaw(a, b []bpf.RawInstruction) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
