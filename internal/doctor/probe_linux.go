//go:build linux

package doctor

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"
)

// Probe pacing: two rounds (one lost frame does not make a VIP look
// orphaned), at most probeRate questions a second after a burst.
const (
	probeRounds   = 2
	probeRoundGap = 250 * time.Millisecond
	probeRate     = 1000
	probeBurst    = 100
)

// answers collects, per VIP, the distinct MACs that claimed it.
type answers struct {
	mu sync.Mutex // guards m
	m  map[netip.Addr][]net.HardwareAddr
}

func (a *answers) add(vip netip.Addr, mac net.HardwareAddr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.m[vip] {
		if bytes.Equal(m, mac) {
			return
		}
	}
	a.m[vip] = append(a.m[vip], append(net.HardwareAddr(nil), mac...))
}

func (a *answers) result() map[netip.Addr][]net.HardwareAddr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m
}

// askARP asks, for every IPv4 VIP, "who-has VIP, tell src" (broadcast,
// from ifi's MAC) and collects for wait after the last question every ARP
// packet whose sender IP is one of the VIPs and whose sender MAC is not
// ours: the replies, and any announcement another owner makes meanwhile.
// An invalid src sends RFC 5227 probes (sender IP 0.0.0.0) instead.
func askARP(ctx context.Context, ifi *net.Interface, src netip.Addr, vips []netip.Addr, wait time.Duration) (map[netip.Addr][]net.HardwareAddr, error) {
	if len(vips) == 0 {
		return nil, nil
	}
	if !src.IsValid() {
		src = netip.IPv4Unspecified()
	}
	conn, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		return nil, fmt.Errorf("doctor: open ARP socket on %s: %w", ifi.Name, err)
	}
	defer conn.Close()
	want := make(map[netip.Addr]bool, len(vips))
	for _, v := range vips {
		want[v] = true
	}
	got := &answers{m: map[netip.Addr][]net.HardwareAddr{}}
	read := func() {
		buf := make([]byte, 1514)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			var f ethernet.Frame
			if f.UnmarshalBinary(buf[:n]) != nil || f.EtherType != ethernet.EtherTypeARP {
				continue
			}
			var p arp.Packet
			if p.UnmarshalBinary(f.Payload) != nil {
				continue
			}
			ip := p.SenderIP.Unmap()
			if want[ip] && !bytes.Equal(p.SenderHardwareAddr, ifi.HardwareAddr) {
				got.add(ip, p.SenderHardwareAddr)
			}
		}
	}
	send := func(vip netip.Addr) error {
		p, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, src, make(net.HardwareAddr, 6), vip)
		if err != nil {
			return err
		}
		pb, err := p.MarshalBinary()
		if err != nil {
			return err
		}
		f := ethernet.Frame{Destination: ethernet.Broadcast, Source: ifi.HardwareAddr, EtherType: ethernet.EtherTypeARP, Payload: pb}
		fb, err := f.MarshalBinary()
		if err != nil {
			return err
		}
		_, err = conn.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast})
		return err
	}
	if err := ask(ctx, conn, vips, wait, read, send); err != nil {
		return nil, fmt.Errorf("doctor: ARP on %s: %w", ifi.Name, err)
	}
	return got.result(), nil
}

// askNDP asks, for every IPv6 VIP, with a Neighbor Solicitation to the
// VIP's solicited-node group from ifi's link-local address (with our MAC
// as source link-layer address), and collects for wait after the last one
// every Neighbor Advertisement for a VIP whose target link-layer address
// is not ours.
func askNDP(ctx context.Context, ifi *net.Interface, vips []netip.Addr, wait time.Duration) (map[netip.Addr][]net.HardwareAddr, error) {
	if len(vips) == 0 {
		return nil, nil
	}
	conn, _, err := ndp.Listen(ifi, ndp.LinkLocal)
	if err != nil {
		return nil, fmt.Errorf("doctor: open NDP socket on %s: %w", ifi.Name, err)
	}
	defer conn.Close()
	want := make(map[netip.Addr]bool, len(vips))
	for _, v := range vips {
		want[v] = true
	}
	got := &answers{m: map[netip.Addr][]net.HardwareAddr{}}
	read := func() {
		for {
			msg, _, _, err := conn.ReadFrom()
			if err != nil {
				return // deadline, or closed (malformed messages are skipped by ndp)
			}
			na, ok := msg.(*ndp.NeighborAdvertisement)
			if !ok || !want[na.TargetAddress.WithZone("")] {
				continue
			}
			for _, o := range na.Options {
				if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target && !bytes.Equal(lla.Addr, ifi.HardwareAddr) {
					got.add(na.TargetAddress.WithZone(""), lla.Addr)
				}
			}
		}
	}
	send := func(vip netip.Addr) error {
		dst, err := ndp.SolicitedNodeMulticast(vip)
		if err != nil {
			return err
		}
		ns := &ndp.NeighborSolicitation{TargetAddress: vip, Options: []ndp.Option{
			&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ifi.HardwareAddr},
		}}
		return conn.WriteTo(ns, nil, dst)
	}
	if err := ask(ctx, conn, vips, wait, read, send); err != nil {
		return nil, fmt.Errorf("doctor: neighbor solicitations on %s: %w", ifi.Name, err)
	}
	return got.result(), nil
}

// deadliner is the part of a socket ask needs.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// ask runs read in the background, sends probeRounds rounds of questions
// (paced), then lets read collect for wait after the last one.
func ask(ctx context.Context, conn deadliner, vips []netip.Addr, wait time.Duration, read func(), send func(netip.Addr) error) error {
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { defer close(done); read() }()
	stopRead := func() { conn.SetReadDeadline(time.Now()) }
	stop := context.AfterFunc(ctx, stopRead)
	defer stop()

	lim := rate.NewLimiter(probeRate, probeBurst)
	var sendErr error
	sent := 0
rounds:
	for round := range probeRounds {
		if round > 0 {
			t := time.NewTimer(probeRoundGap)
			select {
			case <-ctx.Done():
				t.Stop()
				break rounds
			case <-t.C:
			}
		}
		for _, v := range vips {
			if err := lim.Wait(ctx); err != nil {
				break rounds
			}
			if err := send(v); err != nil {
				sendErr = err
				continue
			}
			sent++
		}
	}
	if sent == 0 {
		stopRead()
		<-done
		if sendErr == nil {
			sendErr = ctx.Err()
		}
		return fmt.Errorf("send: %w", sendErr)
	}
	if ctx.Err() == nil {
		conn.SetReadDeadline(time.Now().Add(wait))
	}
	<-done
	return nil
}
