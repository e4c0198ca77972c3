//go:build linux

package verify

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ICMP is the Linux Prober: one raw ICMP socket and one raw ICMPv6 socket,
// each read by its own goroutine, which matches replies to requests by
// identifier, token and addresses and calls the waiting reply funcs. Echo
// writes from the caller's goroutine (the kernel serialises writes) and
// forgets requests older than the reply window. The readers block without a
// deadline, so an idle daemon is not woken by them.
//
// The source address of each request is set with IP_PKTINFO /
// IPV6_PKTINFO, so the VIP must be assigned to the interface (for IPv6:
// not tentative).
type ICMP struct {
	id     uint16
	window time.Duration
	log    *slog.Logger
	w      waiters

	c4 *ipv4.PacketConn // nil if IPv4 is unavailable
	c6 *ipv6.PacketConn // nil if IPv6 is unavailable
	r4 *icmp.PacketConn
	r6 *icmp.PacketConn

	wg      sync.WaitGroup
	closing atomic.Bool

	sent, answered, foreign atomic.Uint64
}

// ListenICMP opens the raw sockets in the current network namespace (it
// needs CAP_NET_RAW) and starts their readers. A family whose socket cannot
// be opened (IPv6 disabled) is left out; if neither opens, ListenICMP
// fails. Replies count for window after their request (zero: the default
// reply window). A nil logger discards.
func ListenICMP(window time.Duration, log *slog.Logger) (*ICMP, error) {
	if window <= 0 {
		window = DefaultReplyWindow
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &ICMP{id: uint16(rand.Uint32()), window: window, log: log}
	var err4, err6 error
	p.r4, err4 = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err4 == nil {
		p.c4 = p.r4.IPv4PacketConn()
		err4 = p.c4.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
		if err4 == nil {
			var f ipv4.ICMPFilter
			f.SetAll(true)
			f.Accept(ipv4.ICMPTypeEchoReply)
			err4 = p.c4.SetICMPFilter(&f)
		}
		if err4 != nil {
			p.r4.Close()
			p.r4, p.c4 = nil, nil
		}
	}
	p.r6, err6 = icmp.ListenPacket("ip6:ipv6-icmp", "::")
	if err6 == nil {
		p.c6 = p.r6.IPv6PacketConn()
		err6 = p.c6.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
		if err6 == nil {
			var f ipv6.ICMPFilter
			f.SetAll(true)
			f.Accept(ipv6.ICMPTypeEchoReply)
			err6 = p.c6.SetICMPFilter(&f)
		}
		if err6 != nil {
			p.r6.Close()
			p.r6, p.c6 = nil, nil
		}
	}
	if p.c4 == nil && p.c6 == nil {
		return nil, fmt.Errorf("verify: open ICMP sockets: %w", errors.Join(err4, err6))
	}
	if p.c4 != nil {
		p.wg.Add(1)
		go p.read4()
	} else {
		log.Warn("verify: no IPv4 ICMP socket", "err", err4)
	}
	if p.c6 != nil {
		p.wg.Add(1)
		go p.read6()
	} else {
		log.Debug("verify: no IPv6 ICMP socket", "err", err6)
	}
	return p, nil
}

// Echo implements Prober.
func (p *ICMP) Echo(ifindex int, src, dst netip.Addr, reply func()) error {
	src, dst = src.Unmap(), dst.Unmap()
	if src.Is4() != dst.Is4() || !src.IsValid() || !dst.IsValid() {
		return fmt.Errorf("verify: echo %v → %v: %w", src, dst, ErrFamily)
	}
	v6 := dst.Is6()
	if (v6 && p.c6 == nil) || (!v6 && p.c4 == nil) {
		return fmt.Errorf("verify: echo %v → %v: %w", src, dst, ErrFamily)
	}
	now := time.Now()
	p.w.expire(now, p.window)
	token := p.w.add(now, src, dst, reply)
	b, err := marshalEcho(v6, p.id, token)
	if err != nil {
		p.w.remove(token)
		return err
	}
	to := &net.IPAddr{IP: dst.AsSlice()}
	if v6 {
		if dst.IsLinkLocalUnicast() {
			to.Zone = strconv.Itoa(ifindex)
		}
		_, err = p.c6.WriteTo(b, &ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: ifindex, HopLimit: 64}, to)
	} else {
		_, err = p.c4.WriteTo(b, &ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: ifindex}, to)
	}
	if err != nil {
		p.w.remove(token)
		return fmt.Errorf("verify: echo %v → %v: %w", src, dst, err)
	}
	p.sent.Add(1)
	return nil
}

// Close closes the sockets and waits for the readers to end.
func (p *ICMP) Close() error {
	if p.closing.Swap(true) {
		return nil
	}
	var errs []error
	if p.r4 != nil {
		errs = append(errs, p.r4.Close())
	}
	if p.r6 != nil {
		errs = append(errs, p.r6.Close())
	}
	p.wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("verify: close ICMP sockets: %w", err)
	}
	return nil
}

// Stats returns echo requests sent, replies matched and echo replies that
// were not ours.
func (p *ICMP) Stats() (sent, answered, foreign uint64) {
	return p.sent.Load(), p.answered.Load(), p.foreign.Load()
}

func (p *ICMP) read4() {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, cm, peer, err := p.c4.ReadFrom(buf)
		if !p.handleErr(err) {
			return
		}
		if err == nil {
			var to netip.Addr
			if cm != nil {
				to, _ = netip.AddrFromSlice(cm.Dst)
			}
			p.deliver(false, buf[:n], peer, to.Unmap())
		}
	}
}

func (p *ICMP) read6() {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, cm, peer, err := p.c6.ReadFrom(buf)
		if !p.handleErr(err) {
			return
		}
		if err == nil {
			var to netip.Addr
			if cm != nil {
				to, _ = netip.AddrFromSlice(cm.Dst)
			}
			p.deliver(true, buf[:n], peer, to)
		}
	}
}

// handleErr reports whether the reader should go on after err.
func (p *ICMP) handleErr(err error) bool {
	if err == nil {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if p.closing.Load() || errors.Is(err, net.ErrClosed) {
		return false
	}
	p.log.Warn("verify: read ICMP socket", "err", err)
	time.Sleep(10 * time.Millisecond) // do not spin on a persistent error
	return true
}

func (p *ICMP) deliver(v6 bool, b []byte, peer net.Addr, to netip.Addr) {
	token, ok := parseEchoReply(v6, p.id, b)
	if !ok {
		p.foreign.Add(1)
		return
	}
	ipa, _ := peer.(*net.IPAddr)
	if ipa == nil {
		return
	}
	from, _ := netip.AddrFromSlice(ipa.IP)
	reply, ok := p.w.match(token, from.Unmap(), to)
	if !ok {
		p.foreign.Add(1)
		return
	}
	p.answered.Add(1)
	reply()
}

var _ Prober = (*ICMP)(nil)
