package watch

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"golang.org/x/net/bpf"
)

// packetOutgoing is PACKET_OUTGOING from linux/if_packet.h: the pkt_type
// of a frame this host transmits, as a packet socket sees it.
const packetOutgoing = 4

// Snap lengths the filter returns: ARP and NDP frames whole, other IP
// frames only as far as the IPv6 header plus the ICMPv6 type.
const (
	snapAll = 1 << 16
	snapIP  = 64
)

// Largest VIP sets the filter matches exactly; beyond, it passes every
// unicast frame of that family to our MAC and the Go side matches. Two
// instructions per IPv4 VIP, nine per IPv6 VIP: together within the
// kernel's 4096-instruction limit.
const (
	maxFilter4 = 1024
	maxFilter6 = 200
)

// filter returns the classic BPF program of the watcher's packet socket:
//
//	ld   #type                      ; SKF_AD_PKTTYPE
//	jeq  #PACKET_OUTGOING, drop     ; not what this host sends
//	ldh  [12]                       ; EtherType
//	ARP:  ret #65536                ; every ARP frame (claims, learning)
//	IPv4: dst MAC == ours?          ; ld [0], ldh [4]
//	      ld [30]; jeq #vip1, ret #64; jeq #vip2 ... ; ret #0
//	IPv6: ldb [20] == 58 && ldb [54] in {135,136}: ret #65536  ; NS/NA
//	      dst MAC == ours?
//	      ld [38],[42],[46],[50] == vip1: ret #64; ... ; ret #0
//
// The VIP lists make the kernel drop this node's own unicast traffic,
// which is most of what reaches its MAC; with no watched VIP of a family
// no frame of that family passes but NDP. A list too long to unroll
// passes every unicast frame of its family to our MAC instead. The Go
// side checks everything again: the filter is only a shortcut.
func filter(our mac, v4, v6 []netip.Addr) []bpf.Instruction {
	p := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: packetOutgoing, SkipTrue: 1},
		bpf.RetConstant{Val: 0},
	}
	return append(p, filterBody(our, v4, v6)...)
}

// filterBody is filter without the pkt_type test, so that bpf.VM (which
// has no SKF_AD_PKTTYPE) can run it in tests. Conditional jumps reach at
// most 255 instructions ahead, so the EtherType dispatch goes through two
// unconditional jumps ("ja"), which reach anywhere.
func filterBody(our mac, v4, v6 []netip.Addr) []bpf.Instruction {
	b4 := ipv4Block(our, v4)
	b6 := ipv6Block(our, v6)
	p := []bpf.Instruction{
		/* 0 */ bpf.LoadAbsolute{Off: 12, Size: 2},
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: etherTypeARP, SkipTrue: 1},
		/* 2 */ bpf.RetConstant{Val: snapAll},
		/* 3 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeIPv4, SkipTrue: 2},
		/* 4 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: etherTypeIPv6, SkipTrue: 2},
		/* 5 */ bpf.RetConstant{Val: 0},
		/* 6 */ bpf.Jump{Skip: 1}, // to b4 at 8
		/* 7 */ bpf.Jump{Skip: uint32(len(b4))}, // to b6 at 8+len(b4)
	}
	p = append(p, b4...)
	return append(p, b6...)
}

// macCheck drops the frame unless its Ethernet destination is our.
func macCheck(our mac) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: 0, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: binary.BigEndian.Uint32(our[0:4]), SkipTrue: 1},
		bpf.RetConstant{Val: 0},
		bpf.LoadAbsolute{Off: 4, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(binary.BigEndian.Uint16(our[4:6])), SkipTrue: 1},
		bpf.RetConstant{Val: 0},
	}
}

// ipv4Block passes unicast IPv4 frames to our MAC for a VIP in vips, or
// for any destination if vips is longer than maxFilter4.
func ipv4Block(our mac, vips []netip.Addr) []bpf.Instruction {
	p := macCheck(our)
	if len(vips) > maxFilter4 {
		return append(p, bpf.RetConstant{Val: snapIP})
	}
	p = append(p, bpf.LoadAbsolute{Off: ethHeaderLen + 16, Size: 4})
	for _, v := range sortedUniq(vips) {
		a := v.As4()
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: binary.BigEndian.Uint32(a[:]), SkipTrue: 1},
			bpf.RetConstant{Val: snapIP})
	}
	return append(p, bpf.RetConstant{Val: 0})
}

// ipv6Block passes every NS and NA, and unicast IPv6 frames to our MAC
// for a VIP in vips, or for any destination if vips is longer than
// maxFilter6.
func ipv6Block(our mac, vips []netip.Addr) []bpf.Instruction {
	const nextHeader, icmpType = ethHeaderLen + 6, ethHeaderLen + ipv6HdrLen
	p := []bpf.Instruction{
		bpf.LoadAbsolute{Off: nextHeader, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: protoICMPv6, SkipTrue: 4},
		bpf.LoadAbsolute{Off: icmpType, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: icmpNS, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: icmpNA, SkipTrue: 1},
		bpf.RetConstant{Val: snapAll},
	}
	p = append(p, macCheck(our)...)
	if len(vips) > maxFilter6 {
		return append(p, bpf.RetConstant{Val: snapIP})
	}
	const dstOff = ethHeaderLen + 24
	for _, v := range sortedUniq(vips) {
		a := v.As16()
		for i := range 4 {
			w := binary.BigEndian.Uint32(a[4*i:])
			p = append(p, bpf.LoadAbsolute{Off: dstOff + uint32(4*i), Size: 4})
			if i < 3 {
				// On mismatch skip the rest of this VIP's block: the
				// remaining (3-i) load/compare pairs and the return.
				p = append(p, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: w, SkipTrue: uint8(2*(3-i) + 1)})
				continue
			}
			p = append(p, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: w, SkipTrue: 1})
		}
		p = append(p, bpf.RetConstant{Val: snapIP})
	}
	return append(p, bpf.RetConstant{Val: 0})
}

// sortedUniq returns vips sorted without repeats, in a new slice.
func sortedUniq(vips []netip.Addr) []netip.Addr {
	s := slices.Clone(vips)
	slices.SortFunc(s, netip.Addr.Compare)
	return slices.Compact(s)
}

// updateFilter installs the kernel filter for the watched lists, if the
// conn takes one and it changed. Called with filterMu held.
func (w *Watcher) updateFilter(v4, v6 []netip.Addr) {
	if w.setBPF == nil {
		return
	}
	prog := filter(w.d.our, v4, v6)
	if slices.Equal(prog, w.applied) {
		return
	}
	raw, err := bpf.Assemble(prog)
	if err == nil {
		err = w.setBPF(raw)
	}
	if err != nil {
		// The old filter stays: it is only a shortcut, every frame is
		// checked again in Go, but new VIPs may go unseen.
		w.log.Warn("watch: update socket filter", "iface", w.ifName, "err", err)
		return
	}
	w.applied = prog
}
