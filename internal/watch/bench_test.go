package watch

import (
	"net"
	"net/netip"
	"testing"
)

// BenchmarkHandleFrame measures the Go side per frame the kernel filter
// lets through: the node's own traffic (only when the VIP list is too
// long to compile into the filter), misdirected traffic (counted, no
// report after the first), and ordinary ARP.
func BenchmarkHandleFrame(b *testing.B) {
	watched := map[netip.Addr]Owner{}
	for i := range 1000 {
		watched[netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})] = ownerB
	}
	watched[vip4] = ownerB
	frames := []struct {
		name  string
		frame []byte
	}{
		{"own traffic", ipFrame(b, ourMAC, routerMAC, clientIP, ourIP)},
		{"misdirected", ipFrame(b, ourMAC, routerMAC, clientIP, vip4)},
		{"arp", arpFrame(b, ethBcast, routerMAC, 1, routerMAC, routerIP, make(net.HardwareAddr, 6), ourIP)},
	}
	for _, f := range frames {
		b.Run(f.name, func(b *testing.B) {
			w, err := New(&net.Interface{Name: "eth0", HardwareAddr: ourMAC}, newFakeConn(), Deps{Logger: discard()})
			if err != nil {
				b.Fatal(err)
			}
			w.SetWatched(watched)
			b.ReportAllocs()
			for b.Loop() {
				w.HandleFrame(f.frame)
			}
		})
	}
}
