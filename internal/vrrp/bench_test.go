package vrrp

import (
	"net/netip"
	"testing"
)

var benchCases = []struct {
	name     string
	a        *Advertisement
	src, dst netip.Addr
}{
	{"ipv4-20", &Advertisement{VRID: 51, Priority: 150, MaxAdvertInterval: 100,
		Addresses: addrRange("192.0.2.100", 20)}, src4, IPv4Group},
	{"ipv6-8", &Advertisement{VRID: 52, Priority: 120, MaxAdvertInterval: 100,
		Addresses: addrRange("2001:db8::100", 8)}, src6, IPv6Group},
}

func BenchmarkMarshal(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name+"/Append", func(b *testing.B) {
			buf := make([]byte, 0, bc.a.Len())
			b.ReportAllocs()
			b.SetBytes(int64(bc.a.Len()))
			for b.Loop() {
				var err error
				if buf, err = bc.a.AppendMarshal(buf[:0], bc.src, bc.dst); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/Marshal", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(bc.a.Len()))
			for b.Loop() {
				if _, err := bc.a.Marshal(bc.src, bc.dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range benchCases {
		pkt, err := bc.a.Marshal(bc.src, bc.dst)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name+"/Parse", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if _, err := Parse(pkt, bc.src, bc.dst); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/Unmarshal", func(b *testing.B) {
			var a Advertisement
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if err := a.Unmarshal(pkt, bc.src, bc.dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
