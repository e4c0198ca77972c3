package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeFrames is a frameConn fed from a channel, with real deadline semantics.
type fakeFrames struct {
	in      chan []byte
	closed  chan struct{}
	reading chan struct{} // gets a value each time ReadFrom starts waiting

	mu       sync.Mutex // guards deadline and wake
	deadline time.Time
	wake     chan struct{} // closed when the deadline changes
}

func newFakeFrames() *fakeFrames {
	return &fakeFrames{in: make(chan []byte, 16), closed: make(chan struct{}), reading: make(chan struct{}, 64), wake: make(chan struct{})}
}

func (f *fakeFrames) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		f.mu.Lock()
		d, wake := f.deadline, f.wake
		f.mu.Unlock()
		var expired <-chan time.Time
		if !d.IsZero() {
			timer := time.NewTimer(time.Until(d))
			defer timer.Stop()
			expired = timer.C
		}
		select {
		case <-f.closed:
			return 0, nil, net.ErrClosed
		default:
		}
		select {
		case f.reading <- struct{}{}:
		default:
		}
		select {
		case frame := <-f.in:
			return copy(b, frame), nil, nil
		case <-wake:
		case <-expired:
			return 0, nil, os.ErrDeadlineExceeded
		case <-f.closed:
			return 0, nil, net.ErrClosed
		}
	}
}

func (f *fakeFrames) SetReadDeadline(t time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deadline = t
	close(f.wake)
	f.wake = make(chan struct{})
	return nil
}

func (f *fakeFrames) Close() error { close(f.closed); return nil }

type sent struct {
	payload  []byte
	src, dst netip.Addr
}

type fakeWriter struct {
	mu   sync.Mutex // guards sent and err
	sent []sent
	err  error
}

func (w *fakeWriter) writeTo(payload []byte, src, dst netip.Addr) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.sent = append(w.sent, sent{append([]byte(nil), payload...), src, dst})
	return nil
}

func (w *fakeWriter) Close() error { return nil }

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestConn(t *testing.T, ipv6 bool) (*Conn, *fakeFrames, *fakeWriter) {
	t.Helper()
	checkGoroutines(t)
	frames, w := newFakeFrames(), &fakeWriter{}
	c := newConn(&net.Interface{Index: 7, Name: "veth7"}, ipv6, frames, w)
	c.now = func() time.Time { return testNow }
	t.Cleanup(func() { c.Close() })
	return c, frames, w
}

// checkGoroutines fails the test if it leaves goroutines behind.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("leaked goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			runtime.Gosched()
		}
	})
}

func TestReadPacket(t *testing.T) {
	c, frames, _ := newTestConn(t, false)
	frames.in <- ipv4Frame(ipv4Spec{payload: testPayload, pad: 20})
	frames.in <- ipv4Frame(ipv4Spec{badSum: true, payload: testPayload})
	frames.in <- ipv4Frame(ipv4Spec{payload: testPayload, ttl: 7})

	ctx := context.Background()
	p, err := c.ReadPacket(ctx)
	if err != nil {
		t.Fatalf("ReadPacket: %v", err)
	}
	if p.IfIndex != 7 || !p.Received.Equal(testNow) || p.Src != testSrc4 || !bytes.Equal(p.Payload, testPayload) {
		t.Errorf("packet = %+v", p)
	}
	_, err = c.ReadPacket(ctx)
	var de *DropError
	if !errors.As(err, &de) || de.Reason != DropHeaderChecksum {
		t.Fatalf("ReadPacket = %v, want a checksum drop", err)
	}
	if p, err = c.ReadPacket(ctx); err != nil || p.TTL != 7 {
		t.Fatalf("ReadPacket after a drop = %+v, %v", p, err)
	}

	s := c.Stats()
	if s.FramesRead != 3 || s.Packets != 2 || s.ParseFailures != 1 || s.Drops[DropHeaderChecksum] != 1 || len(s.Drops) != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestReadPacketContext(t *testing.T) {
	c, frames, _ := newTestConn(t, true)

	// A done context returns at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ReadPacket(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadPacket(cancelled) = %v", err)
	}

	// Cancelling unblocks a waiting read.
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReadPacket(ctx)
		errc <- err
	}()
	<-frames.reading
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ReadPacket = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadPacket did not return after cancel")
	}

	// The deadline left behind by that cancellation does not break the next
	// read with a live context.
	frames.in <- ipv6Frame(ipv6Spec{payload: testPayload})
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if p, err := c.ReadPacket(ctx); err != nil || p.Src != testSrc6 {
		t.Fatalf("ReadPacket after a cancelled read = %+v, %v", p, err)
	}

	// A deadline set behind the Conn's back (as a late AfterFunc of an
	// earlier call would) is cleared and the read goes on.
	frames.SetReadDeadline(aLongTimeAgo)
	frames.in <- ipv6Frame(ipv6Spec{payload: testPayload})
	if _, err := c.ReadPacket(ctx); err != nil {
		t.Fatalf("ReadPacket with a stale deadline = %v", err)
	}
}

func TestReadPacketClosed(t *testing.T) {
	c, frames, _ := newTestConn(t, false)
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReadPacket(context.Background())
		errc <- err
	}()
	<-frames.reading
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadPacket = %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadPacket did not return after Close")
	}
}

func TestWriteTo(t *testing.T) {
	ll := netip.MustParseAddr("fe80::1%veth7")
	tests := []struct {
		name     string
		ipv6     bool
		src, dst netip.Addr
		wantErr  error
	}{
		{"v4 multicast", false, testSrc4, IPv4Group, nil},
		{"v4 unicast", false, testSrc4, netip.MustParseAddr("192.0.2.12"), nil},
		{"v6 multicast, zone dropped", true, ll, IPv6Group, nil},
		{"v6 src on v4 conn", false, ll, IPv4Group, ErrAddressFamily},
		{"v4 dst on v6 conn", true, ll, IPv4Group, ErrAddressFamily},
		{"4in6 on v6 conn", true, netip.MustParseAddr("::ffff:192.0.2.11"), IPv6Group, ErrAddressFamily},
		{"zero src", false, netip.Addr{}, IPv4Group, ErrAddressFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, w := newTestConn(t, tt.ipv6)
			err := c.WriteTo(testPayload, tt.src, tt.dst)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("WriteTo = %v, want %v", err, tt.wantErr)
			}
			s := c.Stats()
			if tt.wantErr != nil {
				if len(w.sent) != 0 || s.SendErrors != 1 || s.Sent != 0 {
					t.Errorf("sent %v, stats %+v after an error", w.sent, s)
				}
				return
			}
			want := sent{testPayload, tt.src.WithZone(""), tt.dst}
			if len(w.sent) != 1 || !bytes.Equal(w.sent[0].payload, want.payload) || w.sent[0].src != want.src || w.sent[0].dst != want.dst {
				t.Errorf("sent %+v, want %+v", w.sent, want)
			}
			if s.Sent != 1 || s.SendErrors != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestWriteToError(t *testing.T) {
	c, _, w := newTestConn(t, false)
	w.err = errors.New("boom")
	err := c.WriteTo(testPayload, testSrc4, IPv4Group)
	if !errors.Is(err, w.err) || err.Error() != "transport: send to 224.0.0.18 on veth7: boom" {
		t.Fatalf("WriteTo = %v", err)
	}
	if s := c.Stats(); s.SendErrors != 1 {
		t.Errorf("stats = %+v", s)
	}
}
