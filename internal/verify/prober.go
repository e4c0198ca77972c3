package verify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Prober sends ICMP echo requests from a chosen source address and reports
// the replies. One Prober serves every Verifier of the daemon.
type Prober interface {
	// Echo sends one echo request from src to dst out of interface
	// ifindex. reply is called at most once, from the Prober's own
	// goroutine, when the matching reply arrives within the Prober's reply
	// window; it must not block.
	Echo(ifindex int, src, dst netip.Addr, reply func()) error
}

// ErrFamily: Echo got addresses of different or unsupported families, or
// the Prober has no socket of that family.
var ErrFamily = errors.New("address family not available")

// echoMagic starts the payload of every echo request a Prober sends, so
// that replies to other programs' pings are never taken for ours.
var echoMagic = [8]byte{'v', 'i', 'p', 'd', 'v', 'r', 'f', 'y'}

const echoPayloadLen = len(echoMagic) + 8 // magic, token

// marshalEcho returns an ICMP (or ICMPv6, checksum left to the kernel)
// echo request with identifier id carrying token.
func marshalEcho(ipv6 bool, id uint16, token uint64) ([]byte, error) {
	payload := make([]byte, echoPayloadLen)
	copy(payload, echoMagic[:])
	binary.BigEndian.PutUint64(payload[len(echoMagic):], token)
	m := icmp.Message{Body: &icmp.Echo{ID: int(id), Seq: int(uint16(token)), Data: payload}}
	m.Type = icmpEchoRequest(ipv6)
	b, err := m.Marshal(nil)
	if err != nil {
		return nil, fmt.Errorf("verify: marshal echo: %w", err)
	}
	return b, nil
}

// parseEchoReply returns the token of an echo reply with identifier id
// and our payload; ok is false for anything else.
func parseEchoReply(ipv6 bool, id uint16, b []byte) (token uint64, ok bool) {
	proto := 1
	if ipv6 {
		proto = 58
	}
	m, err := icmp.ParseMessage(proto, b)
	if err != nil || m.Type != icmpEchoReply(ipv6) {
		return 0, false
	}
	e, isEcho := m.Body.(*icmp.Echo)
	if !isEcho || e.ID != int(id) || len(e.Data) < echoPayloadLen || !bytes.Equal(e.Data[:len(echoMagic)], echoMagic[:]) {
		return 0, false
	}
	token = binary.BigEndian.Uint64(e.Data[len(echoMagic):])
	if uint16(token) != uint16(e.Seq) {
		return 0, false
	}
	return token, true
}

func icmpEchoRequest(v6 bool) icmp.Type {
	if v6 {
		return ipv6.ICMPTypeEchoRequest
	}
	return ipv4.ICMPTypeEcho
}

func icmpEchoReply(v6 bool) icmp.Type {
	if v6 {
		return ipv6.ICMPTypeEchoReply
	}
	return ipv4.ICMPTypeEchoReply
}

// waiters is a Prober's table of echo requests waiting for their reply.
type waiters struct {
	mu    sync.Mutex // guards the fields below
	next  uint64
	m     map[uint64]waiter
	order []uint64 // tokens in sending order, for expiry
}

type waiter struct {
	src, dst netip.Addr // of the request; the reply comes from dst to src
	sent     time.Time
	reply    func()
}

// add registers a request and returns its token.
func (w *waiters) add(now time.Time, src, dst netip.Addr, reply func()) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[uint64]waiter)
	}
	w.next++
	w.m[w.next] = waiter{src: src.WithZone(""), dst: dst.WithZone(""), sent: now, reply: reply}
	w.order = append(w.order, w.next)
	return w.next
}

// remove forgets a request whose echo could not be sent.
func (w *waiters) remove(token uint64) {
	w.mu.Lock()
	delete(w.m, token)
	w.mu.Unlock()
}

// match returns the reply func of the request with token if the reply came
// from its destination to its source, and forgets the request.
func (w *waiters) match(token uint64, from, to netip.Addr) (func(), bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	x, ok := w.m[token]
	if !ok || x.dst != from.WithZone("") || (to.IsValid() && x.src != to.WithZone("")) {
		return nil, false
	}
	delete(w.m, token)
	return x.reply, true
}

// expire forgets requests sent before now-window.
func (w *waiters) expire(now time.Time, window time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for n < len(w.order) {
		x, ok := w.m[w.order[n]]
		if ok && now.Sub(x.sent) < window {
			break
		}
		delete(w.m, w.order[n])
		n++
	}
	w.order = w.order[n:]
}

// len returns how many requests are waiting.
func (w *waiters) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.m)
}
