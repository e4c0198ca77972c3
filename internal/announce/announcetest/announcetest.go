// Package announcetest provides fakes for testing code that uses package
// announce: a Recorder that stands in for a Sender, and Parse, which
// decodes a recorded frame back into an announce.Packet with the
// mdlayher/arp, ethernet and ndp parsers. The manual clock is
// clocktest.Clock.
package announcetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/clock/clocktest"
)

// Sent is one frame a Recorder got.
type Sent struct {
	At    time.Time // from the Recorder's clock; zero without one
	Frame []byte    // a copy
}

// Recorder is an announce.Sender that keeps what it is given. The zero
// value is ready to use.
type Recorder struct {
	// Now stamps each frame; nil leaves Sent.At zero. Set it before use.
	Now func() time.Time

	mu      sync.Mutex // guards the fields below
	sent    []Sent
	err     error
	changed chan struct{} // closed and replaced on every Send
}

// Send records a copy of frame, or returns the error set with SetErr.
func (r *Recorder) Send(frame []byte) error {
	var at time.Time
	if r.Now != nil {
		at = r.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.sent = append(r.sent, Sent{At: at, Frame: bytes.Clone(frame)})
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	return nil
}

// SetErr makes every later Send fail with err (nil: succeed again).
func (r *Recorder) SetErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// Sent returns a copy of the list of recorded frames.
func (r *Recorder) Sent() []Sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sent(nil), r.sent...)
}

// Len returns the number of frames recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

// Wait blocks until at least n frames are recorded or ctx is done.
func (r *Recorder) Wait(ctx context.Context, n int) error {
	for {
		r.mu.Lock()
		if len(r.sent) >= n {
			r.mu.Unlock()
			return nil
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		have := len(r.sent)
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("announcetest: %d of %d frames: %w", have, n, ctx.Err())
		}
	}
}

// Clock is the manual clock that used to live here.
//
// Deprecated: use clocktest.Clock.
type Clock = clocktest.Clock

// NewClock returns a clocktest.Clock reading start.
//
// Deprecated: use clocktest.NewClock.
func NewClock(start time.Time) *Clock { return clocktest.NewClock(start) }

// ErrNotAnnouncement: Parse got a frame that is none of the announce kinds.
var ErrNotAnnouncement = errors.New("not an announcement frame")

var allNodes = netip.MustParseAddr("ff02::1")

// Parse decodes frame into the announce.Packet that would have produced
// it, using the mdlayher parsers rather than package announce's own code.
// Packet.Frame is frame itself.
func Parse(frame []byte) (announce.Packet, error) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil {
		return announce.Packet{}, fmt.Errorf("announcetest: ethernet: %w", err)
	}
	p := announce.Packet{DstMAC: f.Destination, Frame: frame}
	switch f.EtherType {
	case ethernet.EtherTypeARP:
		var a arp.Packet
		if err := a.UnmarshalBinary(f.Payload); err != nil {
			return p, fmt.Errorf("announcetest: arp: %w", err)
		}
		p.VIP = a.SenderIP
		gratuitous := a.SenderIP == a.TargetIP
		switch {
		case a.Operation == arp.OperationRequest && gratuitous:
			p.Kind = announce.KindGratuitousRequest
		case a.Operation == arp.OperationReply && gratuitous:
			p.Kind = announce.KindGratuitousReply
		case a.Operation == arp.OperationRequest:
			p.Kind, p.Target = announce.KindDirectedRequest, a.TargetIP
		case a.Operation == arp.OperationReply:
			p.Kind, p.Target = announce.KindUnicastReply, a.TargetIP
		default:
			return p, fmt.Errorf("announcetest: arp operation %d: %w", a.Operation, ErrNotAnnouncement)
		}
		return p, nil
	case ethernet.EtherTypeIPv6:
		if len(f.Payload) < 40 || f.Payload[6] != 58 {
			return p, fmt.Errorf("announcetest: IPv6 without ICMPv6: %w", ErrNotAnnouncement)
		}
		src, _ := netip.AddrFromSlice(f.Payload[8:24])
		dst, _ := netip.AddrFromSlice(f.Payload[24:40])
		m, err := ndp.ParseMessage(f.Payload[40:])
		if err != nil {
			return p, fmt.Errorf("announcetest: ndp: %w", err)
		}
		switch m := m.(type) {
		case *ndp.NeighborAdvertisement:
			p.VIP = m.TargetAddress
			if dst == allNodes {
				p.Kind = announce.KindUnsolicitedNA
			} else {
				p.Kind, p.Target = announce.KindUnicastNA, dst
			}
		case *ndp.NeighborSolicitation:
			p.Kind, p.VIP, p.Target = announce.KindNeighborSolicit, src, m.TargetAddress
		default:
			return p, fmt.Errorf("announcetest: %T: %w", m, ErrNotAnnouncement)
		}
		return p, nil
	}
	return p, fmt.Errorf("announcetest: EtherType %v: %w", f.EtherType, ErrNotAnnouncement)
}

// MustParse is Parse for frames the test itself made; it panics on error.
func MustParse(frame []byte) announce.Packet {
	p, err := Parse(frame)
	if err != nil {
		panic(err)
	}
	return p
}

// ensure the Recorder matches the interface it fakes.
var _ announce.Sender = (*Recorder)(nil)
