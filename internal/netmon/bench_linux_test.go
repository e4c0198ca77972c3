package netmon

import (
	"testing"
	"time"

	"github.com/vipd/vipd/internal/testutil"
)

// BenchmarkResync4096 is a full resync in a namespace with 4096 addresses
// on one interface: the dump of links and addresses from the kernel, and
// the diff against the snapshot (which finds nothing). Needs root.
func BenchmarkResync4096(b *testing.B) {
	testutil.RequireRoot(b)
	ns := testutil.NewNS(b, "netmon")
	testutil.AddVeth(b, testutil.Veth{NS: ns, Name: "d0"}, testutil.Veth{NS: ns, Name: "d0p"})
	testutil.Run(b, "ip", "-n", ns, "link", "set", "d0", "up")
	cmds := manyAddrs("d0", 4096)
	ipBatchTB(b, ns, cmds)

	start := time.Now()
	m, err := Open(Options{Namespace: "/run/netns/" + ns})
	if err != nil {
		b.Fatal(err)
	}
	opened := time.Since(start)
	defer m.Close()
	k := m.k.(*netlinkKernel)
	var s Snapshot
	links, addrs, err := k.dump()
	if err != nil {
		b.Fatal(err)
	}
	if len(addrs) < 4096 {
		b.Fatalf("dump has %d addresses", len(addrs))
	}
	s.Replace(links, addrs)
	b.ReportAllocs()
	for b.Loop() {
		// The dump socket is the monitor's; its goroutine only dumps on a
		// resync, which is 30 s away.
		links, addrs, err := k.dump()
		if err != nil {
			b.Fatal(err)
		}
		if cs := s.Replace(links, addrs); len(cs) != 0 {
			b.Fatalf("%d changes", len(cs))
		}
	}
	b.ReportMetric(float64(opened.Microseconds()), "µs/open")
}
