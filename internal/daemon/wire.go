package daemon

import (
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/vrrp"
)

// receive applies the RFC 5798 §7.1 receive checks, then the state machine.
func (in *instance) receive(p transport.Packet) {
	if p.TTL != 255 {
		in.drop(vrrp.DropTTL)
		return
	}
	if v := vrrp.VersionOf(p.Payload); (v == vrrp.Version2 || v == vrrp.Version3) && v != in.version {
		in.dropVersion(p.Src, v)
		return
	}
	adv, err := vrrp.Parse(p.Payload, p.Src, p.Dst)
	if err != nil {
		in.drop(vrrp.ReasonOf(err))
		return
	}
	if adv.Version == vrrp.Version2 && !in.checkV2(p.Src, adv) {
		return
	}
	switch {
	case p.Src == in.src:
		in.drop(vrrp.DropOwnPacket)
		return
	case len(in.peers) > 0 && !in.peers[p.Src]:
		in.drop(vrrp.DropNotPeer)
		return
	case in.m.Owner():
		in.drop(vrrp.DropOwner)
		return
	}
	in.received++
	now := in.clock.Now()
	if !sameAddrs(adv.Addresses, in.advVIPs) {
		// RFC 5798 §7.1: MAY check the list, SHOULD log a mismatch; the
		// packet is still processed.
		in.mismatch++
		if now.Sub(in.lastMismatchLog) > time.Minute {
			in.lastMismatchLog = now
			in.log.Warn("advertisement's address list differs from ours: check both configs",
				"from", p.Src, "theirs", len(adv.Addresses), "ours", len(in.advVIPs))
		}
	}
	if adv.Priority > 0 {
		in.lastHeard = now
	}
	in.apply(in.m.Step(now, fsm.Advert{
		From: p.Src, FromMAC: p.SrcMAC, Priority: adv.Priority, Interval: adv.Interval(),
	}))
}

func (in *instance) drop(r vrrp.DropReason) { in.drops[r.String()]++ }

// linkDropReasons are counted per interface, before a packet reaches an
// instance; the others per instance.
var linkDropReasons = []vrrp.DropReason{vrrp.DropTooShort, vrrp.DropUnknownVRID, vrrp.DropMalformedIP}

// queueFull counts packets dropped because the instance's queue was full.
const queueFull = "queue_full"

// instanceDrops returns every drop reason an instance counts, at 0, so that
// `vipd status --json` and the metrics show each one from the start.
func instanceDrops() map[string]uint64 {
	m := map[string]uint64{queueFull: 0}
	for _, r := range vrrp.AllDropReasons() {
		if r != vrrp.DropUnknownVRID && r != vrrp.DropMalformedIP {
			m[r.String()] = 0
		}
	}
	return m
}

// linkDrops returns the drop reasons of an interface, at 0.
func linkDrops() map[string]uint64 {
	m := make(map[string]uint64, len(linkDropReasons))
	for _, r := range linkDropReasons {
		m[r.String()] = 0
	}
	return m
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[netip.Addr]bool, len(b))
	for _, x := range b {
		seen[x] = true
	}
	for _, x := range a {
		if !seen[x] {
			return false
		}
	}
	return true
}

// send advertises with priority prio to every destination.
func (in *instance) send(prio uint8) {
	if in.link == nil {
		return // routed: no VRRP
	}
	adv := vrrp.Advertisement{Version: in.version, VRID: in.cfg.VRID, Priority: prio, MaxAdvertInterval: in.centis,
		Addresses: in.advVIPs, AuthType: in.authType, AuthData: in.authData}
	for _, dst := range in.dsts {
		b, err := adv.AppendMarshal(in.buf[:0], in.src, dst)
		if err == nil {
			in.buf = b
			err = in.write(b, dst)
		}
		if err != nil {
			in.sendErrors++
			if in.sendErrors == 1 || in.sendErrors%100 == 0 {
				in.log.Error("cannot send advertisement", "dst", dst, "errors", in.sendErrors, "err", err)
			}
			continue
		}
		in.sent++
	}
}

// write sends one advert: from the virtual MAC interface if the instance
// has one that is ready, else from the interface.
func (in *instance) write(b []byte, dst netip.Addr) error {
	if in.vtx != nil {
		err := in.vtx.writeTo(b, in.src, dst)
		if err == nil {
			return nil
		}
		// The first adverts of a takeover, while the Presenter brings
		// the interface up.
		if in.vtx.fallbacks++; in.vtx.fallbacks == 1 || in.vtx.fallbacks%100 == 0 {
			in.log.Debug("advert sent from the interface's own MAC: the virtual MAC interface is not ready",
				"fallbacks", in.vtx.fallbacks, "err", err)
		}
	}
	return in.link.writeTo(b, in.src, dst)
}
