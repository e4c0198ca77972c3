package labnet

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ICMP echo layout: type, code, checksum, identifier, sequence, then the
// payload: the prober's token, the VIP's index and the full sequence number.
const (
	echoHeaderLen  = 8
	echoPayloadLen = 8 + 4 + 8
	echoLen        = echoHeaderLen + echoPayloadLen
	icmp4EchoReq   = 8
	icmp4EchoReply = 0
	icmp6EchoReq   = 128
	icmp6EchoReply = 129
)

// Prober pings a set of VIPs from the lab's client and records every reply.
// One raw ICMP socket per address family, opened in the client's namespace,
// carries all probes; one sender goroutine spreads the probes evenly over
// the interval and one receiver goroutine per family matches the replies by
// identifier, token, VIP index and a 64-bit sequence number in the payload.
type Prober struct {
	vips     []netip.Addr
	index    map[netip.Addr]int
	interval time.Duration
	id       uint16
	token    uint64
	c4, c6   *net.IPConn

	sendErrs, stray atomic.Uint64
	lastErr         atomic.Pointer[error]

	// hist is set by Start, before the goroutines that use it start, and
	// has its own locks.
	hist *history

	mu      sync.Mutex // guards the fields below
	started bool
	stopped time.Time // zero while running

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewProber opens the prober's sockets in the client's namespace. Each VIP
// is probed every interval, or less often when len(vips)/every would exceed
// MaxPPS packets per second (see Interval).
func (l *Lab) NewProber(vips []netip.Addr, every time.Duration) (*Prober, error) {
	if len(vips) == 0 {
		return nil, errors.New("labnet: prober: no VIPs")
	}
	if every <= 0 {
		return nil, fmt.Errorf("labnet: prober: interval %v", every)
	}
	p := &Prober{
		vips:     make([]netip.Addr, len(vips)),
		index:    make(map[netip.Addr]int, len(vips)),
		interval: effectiveInterval(len(vips), every),
	}
	var need4, need6 bool
	for i, v := range vips {
		v = v.Unmap()
		if _, dup := p.index[v]; dup || !v.IsValid() {
			return nil, fmt.Errorf("labnet: prober: VIP %v invalid or listed twice", v)
		}
		p.vips[i], p.index[v] = v, i
		need4, need6 = need4 || v.Is4(), need6 || v.Is6()
	}
	var rnd [10]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("labnet: prober: %w", err)
	}
	p.id, p.token = binary.BigEndian.Uint16(rnd[:2]), binary.BigEndian.Uint64(rnd[2:])
	err := l.Client.Do(func() error {
		if need4 {
			c, err := net.ListenIP("ip4:icmp", &net.IPAddr{IP: net.IPv4zero})
			if err != nil {
				return err
			}
			p.c4 = c
			var f ipv4.ICMPFilter
			f.SetAll(true)
			f.Accept(ipv4.ICMPTypeEchoReply)
			if err := ipv4.NewPacketConn(c).SetICMPFilter(&f); err != nil {
				return err
			}
			_ = c.SetReadBuffer(4 << 20)
			if err := rxTimestamps(c); err != nil {
				return err
			}
		}
		if need6 {
			c, err := net.ListenIP("ip6:ipv6-icmp", &net.IPAddr{IP: net.IPv6unspecified})
			if err != nil {
				return err
			}
			p.c6 = c
			var f ipv6.ICMPFilter
			f.SetAll(true)
			f.Accept(ipv6.ICMPTypeEchoReply)
			if err := ipv6.NewPacketConn(c).SetICMPFilter(&f); err != nil {
				return err
			}
			_ = c.SetReadBuffer(4 << 20)
			if err := rxTimestamps(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		p.closeConns()
		return nil, fmt.Errorf("labnet: prober sockets in %s: %w", l.Client.NS, err)
	}
	return p, nil
}

// Interval is the per-VIP probe interval in effect.
func (p *Prober) Interval() time.Duration { return p.interval }

func (p *Prober) closeConns() {
	for _, c := range []*net.IPConn{p.c4, p.c6} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// Start starts probing. A Prober starts once; Stop or ctx ends it.
func (p *Prober) Start(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return
	}
	p.started = true
	p.hist = newHistory(len(p.vips), time.Now())
	ctx, p.cancel = context.WithCancel(ctx)
	sendDone := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer close(sendDone)
		p.sendLoop(ctx, p.hist.start)
	}()
	for _, c := range []*net.IPConn{p.c4, p.c6} {
		if c != nil {
			p.wg.Add(1)
			go p.recvLoop(c, c == p.c6)
		}
	}
	// The receivers block in reads: closing the sockets ends them, once the
	// sender is done with them.
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		<-sendDone
		p.closeConns()
	}()
}

// Stop ends probing and waits for the goroutines. Results stay readable.
func (p *Prober) Stop() {
	p.mu.Lock()
	if !p.started {
		p.started = true
		p.mu.Unlock()
		p.closeConns()
		return
	}
	cancel := p.cancel
	p.mu.Unlock()
	cancel()
	p.wg.Wait()
	p.mu.Lock()
	if p.stopped.IsZero() {
		p.stopped = time.Now()
	}
	p.mu.Unlock()
}

// rxTimestamps asks the kernel to stamp every datagram c receives.
func rxTimestamps(c *net.IPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", serr)
	}
	return nil
}

// rxTime returns the receive time of the SCM_TIMESTAMPNS message in oob.
func rxTime(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix()), true
		}
	}
	return time.Time{}, false
}

// sendLoop sends slot k (VIP k mod n) at start + k·interval/n, catching up
// on every tick (at most one round at once, so a stall does not burst).
// How late it ever was goes into the history (Lag).
func (p *Prober) sendLoop(ctx context.Context, start time.Time) {
	defer p.wg.Done()
	n := int64(len(p.vips))
	iv := int64(p.interval)
	tick := max(p.interval/time.Duration(n), time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var slot int64
	buf := make([]byte, echoLen)
	for {
		now := int64(time.Since(start))
		due := now/iv*n + (now%iv)*n/iv + 1 // slots whose time has come
		if slot < due {
			// Slot s was due at start + s·interval/n.
			dueAt := slot/n*iv + (slot%n)*iv/n
			p.hist.lagged(now-dueAt, dueAt)
		}
		if due-slot > n {
			slot = due - n
		}
		for ; slot < due; slot++ {
			p.send(int(slot%n), start, buf)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Prober) send(i int, start time.Time, buf []byte) {
	v := p.vips[i]
	seq := p.hist.sentProbe(i, int64(time.Since(start)))
	c, typ := p.c4, byte(icmp4EchoReq)
	if v.Is6() {
		c, typ = p.c6, icmp6EchoReq
	}
	buf[0], buf[1], buf[2], buf[3] = typ, 0, 0, 0
	binary.BigEndian.PutUint16(buf[4:], p.id)
	binary.BigEndian.PutUint16(buf[6:], uint16(seq))
	binary.BigEndian.PutUint64(buf[8:], p.token)
	binary.BigEndian.PutUint32(buf[16:], uint32(i))
	binary.BigEndian.PutUint64(buf[20:], seq)
	if v.Is4() {
		binary.BigEndian.PutUint16(buf[2:], inetChecksum(buf))
	} // ICMPv6: the kernel fills in the checksum on raw ICMPv6 sockets.
	if _, err := c.WriteToIP(buf, &net.IPAddr{IP: v.AsSlice()}); err != nil {
		p.sendErrs.Add(1)
		p.lastErr.Store(&err)
	}
}

func (p *Prober) recvLoop(c *net.IPConn, v6 bool) {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	want := byte(icmp4EchoReply)
	if v6 {
		want = icmp6EchoReply
	}
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := c.ReadMsgIP(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// When the kernel received it: a receiver that falls behind on a
		// busy machine must not stretch the outages it measures.
		at, ok := rxTime(oob[:oobn])
		if !ok {
			at = time.Now()
		}
		b := buf[:n]
		if !v6 && n >= 20 && b[0]>>4 == 4 {
			// Unlike ReadFromIP, ReadMsgIP leaves the IPv4 header on.
			b = b[min(int(b[0]&0x0f)*4, n):]
			n = len(b)
		}
		if n < echoLen || b[0] != want || b[1] != 0 ||
			binary.BigEndian.Uint16(b[4:]) != p.id || binary.BigEndian.Uint64(b[8:]) != p.token {
			p.stray.Add(1)
			continue
		}
		i := int(binary.BigEndian.Uint32(b[16:]))
		seq := binary.BigEndian.Uint64(b[20:])
		src, _ := netip.AddrFromSlice(from.IP)
		if i >= len(p.vips) || src.Unmap() != p.vips[i] {
			p.stray.Add(1)
			continue
		}
		if !p.hist.reply(i, seq, p.hist.at(at)) {
			p.stray.Add(1)
		}
	}
}

// end is the end of the measurement: the stop time, or now.
func (p *Prober) end() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped.IsZero() {
		return p.stopped
	}
	return time.Now()
}

// history returns the history, nil before Start.
func (p *Prober) history() *history {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hist
}

// Results returns per VIP, in the order given to NewProber, what happened
// after since (typically the instant of a fault). Probes sent in the last
// 50 ms before the end (Stop, or now) are not counted yet.
func (p *Prober) Results(since time.Time) []VIPResult {
	out := make([]VIPResult, len(p.vips))
	h := p.history()
	if h == nil {
		for i, v := range p.vips {
			out[i].VIP = v
		}
		return out
	}
	s, e := h.at(since), h.at(p.end().Add(-probeGrace))
	for i, v := range p.vips {
		out[i] = h.result(i, s, e)
		out[i].VIP = v
	}
	return out
}

// Reachable reports whether vip answered within the last 100 ms (or three
// probe intervals, if longer).
func (p *Prober) Reachable(vip netip.Addr) bool {
	i, ok := p.index[vip.Unmap()]
	h := p.history()
	if !ok || h == nil {
		return false
	}
	last := h.lastReply(i)
	return last != 0 && h.at(p.end())-last <= int64(reachWindow(p.interval))
}

// AllReachable reports whether every VIP is Reachable.
func (p *Prober) AllReachable() bool {
	for _, v := range p.vips {
		if !p.Reachable(v) {
			return false
		}
	}
	return true
}

// Lag returns how late, at worst, the client sent a probe due after since
// (up to now, or Stop), and when that probe was due; zero if never more
// than a few milliseconds. On a busy machine the prober itself can stall:
// the outages and gaps measured then are longer than the network's by up to
// that much.
func (p *Prober) Lag(since time.Time) (time.Duration, time.Time) {
	h := p.history()
	if h == nil {
		return 0, time.Time{}
	}
	d, at := h.worstLag(h.at(since), h.at(p.end()))
	if d == 0 {
		return 0, time.Time{}
	}
	return time.Duration(d), h.time(at)
}

// ProberStats counts the prober's packets.
type ProberStats struct {
	Sent, Received uint64 // probes sent and answered since Start
	SendErrors     uint64 // sends the kernel refused
	LastSendError  error  // the latest of them
	Stray          uint64 // ICMP echo replies that were not ours, late or duplicates
}

// Stats returns the prober's counters.
func (p *Prober) Stats() ProberStats {
	st := ProberStats{SendErrors: p.sendErrs.Load(), Stray: p.stray.Load()}
	if e := p.lastErr.Load(); e != nil {
		st.LastSendError = *e
	}
	if h := p.history(); h != nil {
		st.Sent, st.Received = h.sentTotal.Load(), h.recvTotal.Load()
	}
	return st
}

// Trim forgets probes sent before t, bounding memory in long runs (every
// probe costs 16 bytes: 20,000 per second make about 1.2 GB an hour).
func (p *Prober) Trim(t time.Time) {
	if h := p.history(); h != nil {
		h.trim(h.at(t))
	}
}
