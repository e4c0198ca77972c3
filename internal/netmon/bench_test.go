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

// benchSnapshot is a snapshot that holds benchDump(n), and the dump.
func benchSnapshot(n int) (*Snapshot, []Link, []IfAddr) {
	links, addrs := benchDump(n)
	s := new(Snapshot)
	s.Replace(links, addrs)
	return s, links, addrs
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
	s, links, addrs := benchSnapshot(4096)
	b.ReportAllocs()
	for b.Loop() {
		if cs := s.Replace(links, addrs); len(cs) != 0 {
			b.Fatalf("%d changes", len(cs))
		}
	}
}

// BenchmarkHolders is the address-only lookup among 4096 addresses.
func BenchmarkHolders(b *testing.B) {
	s, _, addrs := benchSnapshot(4096)
	a := addrs[2000].Prefix.Addr()
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Holders(a)) != 1 {
			b.Fatal("not found")
		}
	}
}

// BenchmarkPresent4096 is what a reconcile asks the snapshot once per
// kernel event during a takeover: which of an instance's 4096 VIPs an
// interface carries. Beside it, BenchmarkAddrs4096 is the sorted copy of
// every address that reconciles and status took before Present (about 15 %
// of node B's CPU during a 4096-VIP takeover in the lab).
func BenchmarkPresent4096(b *testing.B) {
	s, _, addrs := benchSnapshot(4096)
	vips := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		if a.Index == 2 {
			vips = append(vips, a.Prefix)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := s.Present(2, vips); len(got) != len(vips) {
			b.Fatalf("%d of %d present", len(got), len(vips))
		}
	}
}

func BenchmarkAddrs4096(b *testing.B) {
	s, _, _ := benchSnapshot(4096)
	b.ReportAllocs()
	for b.Loop() {
		if got := s.Addrs(2); len(got) != 4096 {
			b.Fatalf("%d addresses", len(got))
		}
	}
}
