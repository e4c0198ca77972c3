package verify

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// reply turns an echo request into the reply a host would send.
func echoToReply(t *testing.T, v6 bool, req []byte) []byte {
	t.Helper()
	proto := 1
	if v6 {
		proto = 58
	}
	m, err := icmp.ParseMessage(proto, req)
	if err != nil {
		t.Fatal(err)
	}
	m.Type = icmpEchoReply(v6)
	b, err := m.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEchoCodec(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		req, err := marshalEcho(v6, 0x1234, 0xdeadbeef0042)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := parseEchoReply(v6, 0x1234, req); ok {
			t.Errorf("v6=%v: a request parsed as a reply", v6)
		}
		rep := echoToReply(t, v6, req)
		tok, ok := parseEchoReply(v6, 0x1234, rep)
		if !ok || tok != 0xdeadbeef0042 {
			t.Errorf("v6=%v: parse = %#x, %v", v6, tok, ok)
		}
		if _, ok := parseEchoReply(v6, 0x1235, rep); ok {
			t.Errorf("v6=%v: reply with another identifier accepted", v6)
		}
		// Someone else's ping with the same identifier.
		typ := icmp.Type(ipv4.ICMPTypeEchoReply)
		if v6 {
			typ = ipv6.ICMPTypeEchoReply
		}
		other, _ := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: 0x1234, Seq: 0x42, Data: []byte("abcdefghijklmnopqrstuvwxyz")}}).Marshal(nil)
		if _, ok := parseEchoReply(v6, 0x1234, other); ok {
			t.Errorf("v6=%v: foreign payload accepted", v6)
		}
		if _, ok := parseEchoReply(v6, 0x1234, rep[:6]); ok {
			t.Errorf("v6=%v: truncated reply accepted", v6)
		}
	}
}

func TestWaiters(t *testing.T) {
	var w waiters
	vip := netip.MustParseAddr("192.0.2.100")
	gw := netip.MustParseAddr("192.0.2.1")
	calls := 0
	tok := w.add(t0, vip, gw, func() { calls++ })
	tok2 := w.add(t0.Add(time.Second), vip, gw, func() { calls += 10 })

	for _, tc := range []struct {
		name     string
		token    uint64
		from, to netip.Addr
		ok       bool
	}{
		{"from another host", tok, netip.MustParseAddr("192.0.2.2"), vip, false},
		{"to another address", tok, gw, netip.MustParseAddr("192.0.2.101"), false},
		{"unknown token", 99, gw, vip, false},
		{"match", tok, gw, vip, true},
		{"twice", tok, gw, vip, false},
	} {
		f, ok := w.match(tc.token, tc.from, tc.to)
		if ok != tc.ok {
			t.Errorf("%s: ok %v", tc.name, ok)
		}
		if ok {
			f()
		}
	}
	if calls != 1 {
		t.Errorf("calls %d", calls)
	}
	w.expire(t0.Add(3500*time.Millisecond), 3*time.Second)
	if w.len() != 1 {
		t.Errorf("%d waiting after expiring the first, want 1", w.len())
	}
	w.expire(t0.Add(4*time.Second), 3*time.Second)
	if _, ok := w.match(tok2, gw, vip); ok || w.len() != 0 {
		t.Errorf("expired request still matches (%d waiting)", w.len())
	}
}
