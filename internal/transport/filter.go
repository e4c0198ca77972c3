package transport

import "golang.org/x/net/bpf"

// packetOutgoing is PACKET_OUTGOING from linux/if_packet.h: the kernel's
// pkt_type of a frame this host transmits, as seen by a packet socket.
const packetOutgoing = 4

// maxFrame is what the filter accepts of a frame: all of it, up to 64 KiB.
const maxFrame = 1 << 16

// filter returns the classic BPF program of the receive socket. Offsets are
// from the start of the Ethernet header:
//
//	ldh [12]                 ; EtherType
//	jne #0x0800, drop        ; (#0x86dd for IPv6)
//	ldb [23]                 ; IPv4 protocol (ldb [20]: IPv6 next header)
//	jne #112, drop
//	ld  #type                ; SKF_AD_PKTTYPE: skb->pkt_type
//	jeq #PACKET_OUTGOING, drop
//	ret #65536
//	drop: ret #0
//
// The PACKET_OUTGOING test is belt and braces for the socket Listen opens:
// the kernel hands transmitted frames only to ETH_P_ALL packet sockets, so a
// socket bound to ETH_P_IP or ETH_P_IPV6 never sees them.
// TestIntegrationFilterOutgoing checks both facts against the kernel.
func filter(ipv6 bool) []bpf.Instruction {
	etherType, protoOff := uint32(etherTypeIPv4), uint32(ethHeaderLen+9)
	if ipv6 {
		etherType, protoOff = etherTypeIPv6, ethHeaderLen+6
	}
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: etherType, SkipTrue: 5},
		bpf.LoadAbsolute{Off: protoOff, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: ProtocolVRRP, SkipTrue: 3},
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 1},
		bpf.RetConstant{Val: maxFrame},
		bpf.RetConstant{Val: 0},
	}
}

// dropAll is the filter of the send socket, which never reads.
var dropAll = []bpf.Instruction{bpf.RetConstant{Val: 0}}
