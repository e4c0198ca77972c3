package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/clock"
)

var (
	// ErrHardwareAddr: the interface has no usable Ethernet address.
	ErrHardwareAddr = errors.New("no usable hardware address")
)

// Pacer is what the watcher needs of *announce.Pacer: repairs and probes
// go through the daemon-wide token bucket with every announcement.
type Pacer interface {
	SendNow(key string, s announce.Sender, pkts ...announce.Packet) error
	Cancel(key string)
}

// Conn is the watcher's socket: whole Ethernet frames, one per read and
// write, safe for one reader and concurrent writers. *packet.Conn
// implements it; unit tests use a fake. If it also has SetBPF (as
// *packet.Conn does), the watcher keeps its kernel filter in step with the
// watched VIPs.
type Conn interface {
	ReadFrom(b []byte) (int, net.Addr, error)
	WriteTo(b []byte, addr net.Addr) (int, error)
	SetReadDeadline(t time.Time) error
	Close() error
}

// bpfSetter is the optional part of Conn.
type bpfSetter interface {
	SetBPF(filter []bpf.RawInstruction) error
}

// Deps are the watcher's collaborators. Only the Ethernet address is
// required, and it defaults to the interface's.
type Deps struct {
	// MAC is this node's hardware address on the interface, the one its
	// VIPs are announced with; nil means ifi.HardwareAddr.
	MAC net.HardwareAddr
	// Pacer paces repairs and probes; nil writes them at once (tests, or
	// a daemon without a pacer).
	Pacer Pacer
	// Sender writes frames; nil writes them on the watcher's own Conn.
	Sender announce.Sender
	// Clock defaults to clock.System().
	Clock clock.Clock
	// Logger defaults to discarding.
	Logger *slog.Logger
	// OnReport, if set, is called for every Report, from the watcher's
	// goroutines or from SetWatched/SetHeld/Probe, with no lock held (it
	// may call the Watcher's methods). It must not block for long: frames
	// wait meanwhile.
	OnReport func(Report)
	// Neighbors, if set, returns the addresses this node's own
	// neighbour table has for a MAC on the interface. A repair whose
	// upstream's address the watcher has not seen in ARP or NDP asks it:
	// this node has usually talked to its router. Open sets it to a
	// netlink lookup when nil.
	Neighbors func(hw net.HardwareAddr) []netip.Addr
	// Config holds the thresholds; zero fields take Defaults.
	Config Config
}

// Watcher runs both detectors on one interface. Run reads frames; the
// other methods may be called from any goroutine, before, during or after
// Run.
type Watcher struct {
	ifName   string
	conn     Conn
	sender   announce.Sender
	pacer    Pacer
	key      string // the pacer key
	clock    clock.Clock
	log      *slog.Logger
	onReport func(Report)
	setBPF   func([]bpf.RawInstruction) error // nil when conn cannot
	neigh    func(net.HardwareAddr) []netip.Addr
	wake     chan struct{} // capacity 1: deadlines changed
	// closeOnce guards conn.Close and closers (other resources of Open).
	closeOnce sync.Once
	closeErr  error
	closers   []func()

	// filterMu serialises filter updates so that they reach the kernel
	// in the order the watched sets changed. Taken before mu.
	filterMu sync.Mutex
	applied  []bpf.Instruction // the filter last installed

	mu sync.Mutex // guards d and sendFailing
	d  *detector
	// sendFailing is set after a send error and cleared by a success, so
	// that a failing pacer is logged once.
	sendFailing bool
}

// readBufSize holds a jumbo frame; the filter passes non-NDP IP frames
// cut to snapIP bytes.
const readBufSize = 9216

// errBackoff is the pause after a read error, so that a broken socket
// does not spin.
const errBackoff = 100 * time.Millisecond

// New returns a Watcher reading and writing frames on conn, which it
// owns from now on (Close closes it). No privilege is needed: tests pass
// a fake conn.
func New(ifi *net.Interface, conn Conn, deps Deps) (*Watcher, error) {
	hw := deps.MAC
	if hw == nil {
		hw = ifi.HardwareAddr
	}
	our, ok := macOf(hw)
	if !ok || our.isZero() || our[0]&1 != 0 {
		return nil, fmt.Errorf("watch: %s: MAC %v: %w", ifi.Name, hw, ErrHardwareAddr)
	}
	w := &Watcher{
		ifName:   ifi.Name,
		conn:     conn,
		sender:   deps.Sender,
		pacer:    deps.Pacer,
		key:      "watch/" + ifi.Name,
		clock:    deps.Clock,
		log:      deps.Logger,
		onReport: deps.OnReport,
		neigh:    deps.Neighbors,
		wake:     make(chan struct{}, 1),
		d:        newDetector(deps.Config, our, ifi.Name),
	}
	if w.clock == nil {
		w.clock = clock.System()
	}
	if w.log == nil {
		w.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if w.sender == nil {
		w.sender = connSender{conn}
	}
	if s, ok := conn.(bpfSetter); ok {
		w.setBPF = s.SetBPF
	}
	return w, nil
}

// connSender writes frames on the watcher's own socket.
type connSender struct{ c Conn }

func (s connSender) Send(frame []byte) error {
	if len(frame) < ethHeaderLen {
		return fmt.Errorf("watch: send %d-byte frame: %w", len(frame), announce.ErrPacket)
	}
	if _, err := s.c.WriteTo(frame, &packet.Addr{HardwareAddr: net.HardwareAddr(frame[0:6])}); err != nil {
		return fmt.Errorf("watch: send: %w", err)
	}
	return nil
}

// aLongTimeAgo is a read deadline in the past: it wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// Run reads and handles frames and keeps the probe and expiry timers
// until ctx is done or the Watcher is closed. Call it once at a time.
func (w *Watcher) Run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := w.conn.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, net.ErrClosed) {
		w.log.Warn("watch: clear read deadline", "iface", w.ifName, "err", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel() // a closed socket stops the timers too
		w.readLoop(ctx)
	}()
	w.timerLoop(ctx)
	_ = w.conn.SetReadDeadline(aLongTimeAgo)
	<-done
}

func (w *Watcher) readLoop(ctx context.Context) {
	buf := make([]byte, readBufSize)
	failing := false
	for {
		n, _, err := w.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // someone else's deadline; ours comes with ctx done
			}
			w.mu.Lock()
			w.d.stats.ReadErrors++
			w.mu.Unlock()
			if !failing {
				failing = true
				w.log.Warn("watch: read failed; retrying, further errors are counted", "iface", w.ifName, "err", err)
			}
			t := w.clock.NewTimer(errBackoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			continue
		}
		failing = false
		w.HandleFrame(buf[:n])
	}
}

// HandleFrame runs the detectors on one received Ethernet frame, as Run
// does for every frame it reads, and returns why it was of no use (zero
// if it was). It is exported for replaying captures and for tests.
func (w *Watcher) HandleFrame(b []byte) DropReason {
	now := w.clock.Now()
	var fx effects
	w.mu.Lock()
	r := w.d.handle(now, b, &fx)
	w.mu.Unlock()
	w.apply(fx)
	return r
}

func (w *Watcher) timerLoop(ctx context.Context) {
	for {
		now := w.clock.Now()
		var fx effects
		w.mu.Lock()
		next := w.d.tick(now, &fx)
		w.mu.Unlock()
		fx.rearm = false // we are about to arm the timer anyway
		w.apply(fx)

		var t clock.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			t = w.clock.NewTimer(next.Sub(now))
			fire = t.C()
			if !w.clock.Now().Before(next) {
				// The clock passed the deadline while the timer was being
				// armed (a jump of a test's clock): look again at once.
				t.Stop()
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-fire:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

func (w *Watcher) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// SetWatched replaces the set of VIPs of this node's instances that this
// node does not hold, each with its owner as far as known. Traffic for
// them that reaches this node's MAC is misdirected.
func (w *Watcher) SetWatched(vips map[netip.Addr]Owner) {
	w.filterMu.Lock()
	defer w.filterMu.Unlock()
	var fx effects
	w.mu.Lock()
	w.d.setWatched(w.clock.Now(), vips, &fx)
	v4, v6 := w.d.watchedLists()
	w.mu.Unlock()
	w.apply(fx)
	w.updateFilter(v4, v6)
}

// SetHeld replaces the set of VIPs this node holds. Another MAC claiming
// one of them in ARP or NDP is a conflict.
func (w *Watcher) SetHeld(vips []netip.Addr) {
	w.filterMu.Lock()
	defer w.filterMu.Unlock()
	var fx effects
	w.mu.Lock()
	w.d.setHeld(w.clock.Now(), vips, &fx)
	v4, v6 := w.d.watchedLists()
	w.mu.Unlock()
	w.apply(fx)
	w.updateFilter(v4, v6)
}

// Probe sends Config.ProbeCount probes for each VIP, Config.ProbeInterval
// apart: an ARP probe (RFC 5227 §2.1.1) for IPv4, a DAD Neighbor
// Solicitation (RFC 4862 §5.4.2) for IPv6. Until Config.ProbeWait after
// the last probe, any claim of the VIP by another MAC counts as a
// conflict, held or not, until the VIP is watched (released to another
// owner): call it when taking VIPs over. The
// first probes leave at once; the others need Run.
func (w *Watcher) Probe(vips []netip.Addr) {
	var fx effects
	w.mu.Lock()
	w.d.probe(w.clock.Now(), vips, &fx)
	w.mu.Unlock()
	w.apply(fx)
}

// ExpectHandover tells the watcher that the master with MAC hw is handing
// its VIPs to this node (it resigned with priority 0): for
// Config.HandoverGrace its claims of them are counted as DropHandover,
// not as a conflict. A real second owner keeps claiming and is reported
// after the grace.
func (w *Watcher) ExpectHandover(hw net.HardwareAddr) {
	m, ok := macOf(hw)
	if !ok {
		return
	}
	var fx effects
	w.mu.Lock()
	w.d.expectHandover(w.clock.Now(), m, &fx)
	w.mu.Unlock()
	w.apply(fx)
}

// Misdirected returns the rows of misdirected traffic, sorted by VIP,
// source MAC and source IP.
func (w *Watcher) Misdirected() []Misdirected {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d.misdirectedRows()
}

// Conflicts returns the confirmed conflicts, sorted by VIP and MAC.
func (w *Watcher) Conflicts() []Conflict {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d.conflictRows()
}

// Stats returns the counters.
func (w *Watcher) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d.snapshotStats()
}

// Close stops Run, drops the watcher's frames still queued in the pacer
// and closes the socket.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		if w.pacer != nil {
			w.pacer.Cancel(w.key)
		}
		if err := w.conn.Close(); err != nil {
			w.closeErr = fmt.Errorf("watch: close %s: %w", w.ifName, err)
		}
		for _, c := range w.closers {
			c()
		}
	})
	return w.closeErr
}
