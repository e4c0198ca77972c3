package transport

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
)

// runFilter interprets the few classic BPF instructions filter uses, with
// pktType as the SKF_AD_PKTTYPE ancillary value. (bpf.VM supports no
// ancillary loads but the frame length.) Like the kernel, a load past the end
// of the frame rejects the frame.
func runFilter(t *testing.T, prog []bpf.Instruction, frame []byte, pktType uint32) uint32 {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		switch ins := prog[pc].(type) {
		case bpf.LoadAbsolute:
			end := int(ins.Off) + ins.Size
			if end > len(frame) {
				return 0
			}
			switch ins.Size {
			case 1:
				a = uint32(frame[ins.Off])
			case 2:
				a = uint32(binary.BigEndian.Uint16(frame[ins.Off:]))
			case 4:
				a = binary.BigEndian.Uint32(frame[ins.Off:])
			}
		case bpf.LoadExtension:
			if ins.Num != bpf.ExtType {
				t.Fatalf("unexpected extension %v", ins.Num)
			}
			a = pktType
		case bpf.JumpIf:
			var cond bool
			switch ins.Cond {
			case bpf.JumpEqual:
				cond = a == ins.Val
			case bpf.JumpNotEqual:
				cond = a != ins.Val
			default:
				t.Fatalf("unexpected condition %v", ins.Cond)
			}
			if cond {
				pc += int(ins.SkipTrue)
			} else {
				pc += int(ins.SkipFalse)
			}
		case bpf.RetConstant:
			return ins.Val
		default:
			t.Fatalf("unexpected instruction %#v", ins)
		}
	}
	t.Fatal("program fell off its end")
	return 0
}

// Packet types from linux/if_packet.h.
const (
	packetHost      = 0
	packetBroadcast = 1
	packetMulticast = 2
	packetOtherHost = 3
)

func TestFilter(t *testing.T) {
	v4 := ipv4Frame(ipv4Spec{payload: testPayload})
	v6 := ipv6Frame(ipv6Spec{payload: testPayload})
	tests := []struct {
		name    string
		ipv6    bool
		frame   []byte
		pktType uint32
		accept  bool
	}{
		{"v4 multicast", false, v4, packetMulticast, true},
		{"v4 unicast to us", false, v4, packetHost, true},
		{"v4 broadcast", false, v4, packetBroadcast, true},
		{"v4 promiscuous", false, v4, packetOtherHost, true},
		{"v4 our own", false, v4, packetOutgoing, false},
		{"v4 udp", false, ipv4Frame(ipv4Spec{proto: 17, payload: testPayload}), packetMulticast, false},
		{"v4 arp", false, ipv4Frame(ipv4Spec{etherType: 0x0806, payload: testPayload}), packetBroadcast, false},
		{"v4 filter, v6 frame", false, v6, packetMulticast, false},
		{"v4 truncated before protocol", false, v4[:ethHeaderLen+9], packetMulticast, false},
		{"v4 options still match", false, ipv4Frame(ipv4Spec{options: []byte{0x94, 4, 0, 0}, payload: testPayload}), packetMulticast, true},

		{"v6 multicast", true, v6, packetMulticast, true},
		{"v6 unicast to us", true, v6, packetHost, true},
		{"v6 our own", true, v6, packetOutgoing, false},
		{"v6 icmpv6", true, ipv6Frame(ipv6Spec{nextHeader: 58, payload: testPayload}), packetMulticast, false},
		{"v6 hop-by-hop", true, ipv6Frame(ipv6Spec{nextHeader: 0xff, payload: testPayload}), packetMulticast, false},
		{"v6 filter, v4 frame", true, v4, packetMulticast, false},
		{"v6 truncated", true, v6[:ethHeaderLen+6], packetMulticast, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runFilter(t, filter(tt.ipv6), tt.frame, tt.pktType)
			if want := map[bool]uint32{true: maxFrame, false: 0}[tt.accept]; got != want {
				t.Errorf("filter returned %d, want %d", got, want)
			}
		})
	}
}

func TestFilterAssembles(t *testing.T) {
	for _, prog := range [][]bpf.Instruction{filter(false), filter(true), dropAll} {
		if _, err := bpf.Assemble(prog); err != nil {
			t.Errorf("Assemble: %v", err)
		}
	}
}
