package watch

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/vipd/vipd/internal/announce"
	"golang.org/x/net/bpf"
)

// runBody runs filterBody in golang.org/x/net/bpf's VM and returns the
// program's result: 0 drops the frame, else the kernel keeps that many
// bytes of it at most.
func runBody(t *testing.T, prog []bpf.Instruction, frame []byte) int {
	t.Helper()
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("NewVM: %v", err)
	}
	n, err := vm.Run(frame)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return n
}

func TestFilter(t *testing.T) {
	our := mustMAC(t, ourMAC)
	na := naFrame(t, allNodesMAC, otherMAC, vip6, allNodes, vip6, false, otherMAC)
	dad := nsFrame(t, allNodesMAC, otherMAC, netip.IPv6Unspecified(), announce.SolicitedNode(vip6), vip6, nil)
	probeReply := arpFrame(t, ourMAC, otherMAC, arp.OperationReply, otherMAC, vip4, ourMAC, netip.IPv4Unspecified())
	garp := arpFrame(t, ethBcast, otherMAC, arp.OperationRequest, otherMAC, vip4, ethBcast, vip4)

	many4 := make([]netip.Addr, maxFilter4+1)
	for i := range many4 {
		many4[i] = netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
	}
	many6 := make([]netip.Addr, maxFilter6+1)
	for i := range many6 {
		many6[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
	}
	// The last of a full list: the deepest jump.
	full4 := many4[:maxFilter4]
	full6 := many6[:maxFilter6]

	type frameCase struct {
		name  string
		frame []byte
		want  int // what the filter returns: 0 drop, -1 the whole frame (snapAll)
	}
	tests := []struct {
		name   string
		v4, v6 []netip.Addr
		frames []frameCase
	}{
		{
			name: "nothing watched",
			frames: []frameCase{
				{"garp", garp, -1},
				{"probe reply", probeReply, -1},
				{"na", na, -1},
				{"dad ns", dad, -1},
				{"ipv4 to us", ipFrame(t, ourMAC, routerMAC, clientIP, vip4), 0},
				{"ipv6 to us", ipFrame(t, ourMAC, routerMAC, client6IP, vip6), 0},
			},
		},
		{
			name: "watched",
			v4:   []netip.Addr{vip4b, vip4, vip4}, v6: []netip.Addr{vip6},
			frames: []frameCase{
				{"ipv4 watched", ipFrame(t, ourMAC, routerMAC, clientIP, vip4), snapIP},
				{"ipv4 watched b", ipFrame(t, ourMAC, routerMAC, clientIP, vip4b), snapIP},
				{"ipv4 ours", ipFrame(t, ourMAC, routerMAC, clientIP, ourIP), 0},
				{"ipv4 watched other MAC", ipFrame(t, otherMAC, routerMAC, clientIP, vip4), 0},
				{"ipv4 watched broadcast", ipFrame(t, ethBcast, routerMAC, clientIP, vip4), 0},
				{"ipv4 MAC differs in last byte", ipFrame(t, []byte{0x02, 0, 0, 0, 0, 0x0b}, routerMAC, clientIP, vip4), 0},
				{"ipv6 watched", ipFrame(t, ourMAC, routerMAC, client6IP, vip6), snapIP},
				{"ipv6 other", ipFrame(t, ourMAC, routerMAC, client6IP, netip.MustParseAddr("2001:db8:1::102")), 0},
				{"ipv6 differs in first word", ipFrame(t, ourMAC, routerMAC, client6IP, netip.MustParseAddr("2001:db9:1::101")), 0},
				{"ns to us", nsFrame(t, ourMAC, routerMAC, routerIP6, vip6, vip6, routerMAC), -1},
				{"na", na, -1},
			},
		},
		{
			name: "full lists",
			v4:   full4, v6: full6,
			frames: []frameCase{
				{"ipv4 first", ipFrame(t, ourMAC, routerMAC, clientIP, full4[0]), snapIP},
				{"ipv4 last", ipFrame(t, ourMAC, routerMAC, clientIP, full4[len(full4)-1]), snapIP},
				{"ipv4 not listed", ipFrame(t, ourMAC, routerMAC, clientIP, many4[maxFilter4]), 0},
				{"ipv6 last", ipFrame(t, ourMAC, routerMAC, client6IP, full6[len(full6)-1]), snapIP},
				{"ipv6 not listed", ipFrame(t, ourMAC, routerMAC, client6IP, many6[maxFilter6]), 0},
				{"garp", garp, -1},
				{"na", na, -1},
			},
		},
		{
			name: "lists too long: every unicast frame to us",
			v4:   many4, v6: many6,
			frames: []frameCase{
				{"ipv4 any", ipFrame(t, ourMAC, routerMAC, clientIP, ourIP), snapIP},
				{"ipv4 other MAC", ipFrame(t, otherMAC, routerMAC, clientIP, ourIP), 0},
				{"ipv6 any", ipFrame(t, ourMAC, routerMAC, client6IP, routerIP6), snapIP},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := filterBody(our, tt.v4, tt.v6)
			if _, err := bpf.Assemble(filter(our, tt.v4, tt.v6)); err != nil {
				t.Fatalf("Assemble: %v", err)
			}
			if n := len(filter(our, tt.v4, tt.v6)); n > 4096 {
				t.Fatalf("%d instructions, the kernel takes 4096", n)
			}
			for _, fc := range tt.frames {
				want := fc.want
				if want < 0 {
					want = snapAll
				}
				if got := runBody(t, prog, fc.frame); got != want {
					t.Errorf("%s: keeps %d bytes, want %d", fc.name, got, want)
				}
			}
		})
	}
}

// TestFilterLargest checks that the largest exact filter fits the kernel's
// limit of 4096 instructions.
func TestFilterLargest(t *testing.T) {
	v4 := make([]netip.Addr, maxFilter4)
	for i := range v4 {
		v4[i] = netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
	}
	v6 := make([]netip.Addr, maxFilter6)
	for i := range v6 {
		v6[i] = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1))
	}
	prog := filter(mustMAC(t, ourMAC), v4, v6)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 4096 {
		t.Errorf("%d instructions, the kernel takes 4096", len(raw))
	}
	t.Logf("largest exact filter: %d instructions", len(raw))
}
