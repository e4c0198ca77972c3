package netmon

import (
	"net/netip"
	"runtime"
	"testing"
)

// benchDump is a dump with lo and eth0 carrying n addresses: three IPv4
// out of four (198.18.0.0/15), the fourth IPv6 (2001:db8:1::/64).
func benchDump(n int) ([]Link, []IfAddr) {
	links := []Link{eth(1, "lo"), eth(2, "eth0")}
	addrs := []IfAddr{{1, lo4}}
	v4 := netip.MustParseAddr("198.18.0.1")
	v6 := netip.MustParseAddr("2001:db8:1::1")
	for i := range n {
		if i%4 == 3 {
			addrs = append(addrs, IfAddr{2, netip.PrefixFrom(v6, 64)})
			v6 = v6.Next()
			continue
		}
		addrs = append(addrs, IfAddr{2, netip.PrefixFrom(v4, 15)})
		v4 = v4.Next()
	}
	return links, addrs
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkSnapshot4096 loads a snapshot of 4096 addresses from a dump and
// reports the heap it keeps.
func BenchmarkSnapshot4096(b *testing.B) {
	links, addrs := benchDump(4096)
	before := heapInUse()
	s := new(Snapshot)
	s.Replace(links, addrs)
	kept := heapInUse() - before
	runtime.KeepAlive(s)
	b.ReportAllocs()
	for b.Loop() {
		var s Snapshot
		s.Replace(links, addrs)
	}
	b.ReportMetric(float64(kept), "B/snapshot")
}

// BenchmarkReplaceUnchanged4096 is the diff half of a periodic resync that
// finds nothing: a dump of 4096 addresses compared with the snapshot.
func BenchmarkReplaceUnchanged4096(b *testing.B) {
	links, addrs := benchDump(4096)
	var s Snapshot
	s.Replace(links, addrs)
	b.ReportAllocs()
	for b.Loop() {
		if cs := s.Replace(links, addrs); len(cs) != 0 {
			b.Fatalf("%d changes", len(cs))
		}
	}
}

// BenchmarkHolders is the address-only lookup among 4096 addresses.
func BenchmarkHolders(b *testing.B) {
	links, addrs := benchDump(4096)
	var s Snapshot
	s.Replace(links, addrs)
	a := addrs[2000].Prefix.Addr()
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Holders(a)) != 1 {
			b.Fatal("not found")
		}
	}
}
