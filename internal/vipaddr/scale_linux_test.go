package vipaddr

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/testutil"
)

// manyVIPs returns n VIPs counting up from first, with the given prefix
// length.
func manyVIPs(first string, n, bits int) []netip.Prefix {
	vips := make([]netip.Prefix, n)
	a := netip.MustParseAddr(first)
	for i := range vips {
		vips[i] = netip.PrefixFrom(a, bits)
		a = a.Next()
	}
	return vips
}

// TestIntegrationScale adds, lists and removes 4096 VIPs on an interface
// prepared with PrepareInterface and logs how long each step takes. It
// asserts correctness, not times.
func TestIntegrationScale(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name string
		vips []netip.Prefix
		// removeReversed passes the VIPs to Remove in the reverse of the
		// order they were added: the subnet's primary comes last in the
		// list, so Remove must order the deletions itself.
		removeReversed bool
	}{
		{name: "ipv4 /32", vips: manyVIPs("198.51.100.0", 4096, 32)},
		{name: "ipv4 one /20", vips: manyVIPs("198.51.100.0", 4096, 20)},
		{name: "ipv4 one /20 removed in reverse", vips: manyVIPs("198.51.100.0", 4096, 20), removeReversed: true},
		// IPv6 is much slower: every RTM_NEWADDR on an up interface runs
		// ipv6_find_idev -> ipv6_mc_up, which walks all the interface's
		// multicast groups, and each VIP adds a solicited-node group, so n
		// adds cost O(n²) in the kernel (iproute2 takes as long). 4096 /128
		// VIPs took 4.5 s to add and 4.4 s to re-add (all EEXIST); 1024 keep
		// the test short.
		{name: "ipv6 /128", vips: manyVIPs("2001:db8:1::", 1024, 128)},
	}
	// All namespaces are made up front and deleted at the end: the kernel
	// tears a namespace down asynchronously under the RTNL lock, which
	// would slow the next case down.
	type env struct {
		ifindex int
		nl      *Netlink
	}
	envs := make([]env, len(tests))
	for i := range envs {
		ns, ifindex, nl := newDummy(t)
		if err := testutil.InNS(ns, func() error { return PrepareInterface("vip0") }); err != nil {
			t.Fatal(err)
		}
		envs[i] = env{ifindex, nl}
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ifindex, nl := envs[i].ifindex, envs[i].nl
			ctx := context.Background()
			timed := func(f func() error) (time.Duration, error) {
				start := time.Now()
				err := f()
				return time.Since(start).Round(time.Millisecond), err
			}

			add, err := timed(func() error { return nl.Add(ctx, ifindex, tt.vips) })
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
			var present []netip.Prefix
			list, err := timed(func() (err error) { present, err = nl.Present(ctx, ifindex, tt.vips); return err })
			if err != nil || len(present) != len(tt.vips) {
				t.Fatalf("Present = %d of %d, %v", len(present), len(tt.vips), err)
			}
			again, err := timed(func() error { return nl.Add(ctx, ifindex, tt.vips) })
			if err != nil {
				t.Fatalf("second Add: %v", err)
			}
			del := tt.vips
			if tt.removeReversed {
				del = slices.Clone(del)
				slices.Reverse(del)
			}
			remove, err := timed(func() error { return nl.Remove(ctx, ifindex, del) })
			if err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if present, err := nl.Present(ctx, ifindex, tt.vips); err != nil || len(present) != 0 {
				t.Fatalf("Present after Remove = %d, %v", len(present), err)
			}
			t.Logf("%d VIPs: Add %v, Present %v, Add again (all EEXIST) %v, Remove %v",
				len(tt.vips), add, list, again, remove)
		})
	}
}

// BenchmarkAdd4096 adds and removes 4096 IPv4 /32 VIPs on an interface in a
// namespace per iteration (needs root; run with -bench Add4096 -benchtime 10x).
func BenchmarkAdd4096(b *testing.B) {
	testutil.RequireRoot(b)
	ns, ifindex, nl := newDummy(b)
	if err := testutil.InNS(ns, func() error { return PrepareInterface("vip0") }); err != nil {
		b.Fatal(err)
	}
	vips := manyVIPs("198.51.100.0", 4096, 32)
	ctx := context.Background()
	for b.Loop() {
		if err := nl.Add(ctx, ifindex, vips); err != nil {
			b.Fatal(err)
		}
		if err := nl.Remove(ctx, ifindex, vips); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddRemove4096 adds then removes 4096 VIPs shaped like the lab's
// (IPv4 /24 from 198.18.0.1, so 16 subnets of primaries and secondaries;
// IPv6 /64 from 2001:db8:1::1, all in one subnet) on a veth in a namespace
// of its own, and reports the two halves of each op apart (needs root; run
// with -bench AddRemove4096 -benchtime 5x).
//
// Removing IPv6 VIPs leaves their multicast groups' MLD leave records in
// the kernel for a few seconds, and adds meanwhile walk them: an add right
// after a remove takes several times as long as the first. Each IPv6
// iteration therefore gets a fresh interface (timed without its setup).
func BenchmarkAddRemove4096(b *testing.B) {
	testutil.RequireRoot(b)
	for _, bc := range []struct {
		name string
		vips []netip.Prefix
	}{
		{"ipv4-24", manyVIPs("198.18.0.1", 4096, 24)},
		{"ipv6-64", manyVIPs("2001:db8:1::1", 4096, 64)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fresh := func() (int, *Netlink) {
				_, ifindex, nl := newPrepared(b)
				return ifindex, nl
			}
			ifindex, nl := fresh()
			ctx := context.Background()
			var add, remove time.Duration
			for i := 0; b.Loop(); i++ {
				if i > 0 && bc.vips[0].Addr().Is6() {
					b.StopTimer()
					ifindex, nl = fresh()
					b.StartTimer()
				}
				start := time.Now()
				if err := nl.Add(ctx, ifindex, bc.vips); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if err := nl.Remove(ctx, ifindex, bc.vips); err != nil {
					b.Fatal(err)
				}
				add += mid.Sub(start)
				remove += time.Since(mid)
			}
			b.ReportMetric(float64(add.Milliseconds())/float64(b.N), "add-ms/op")
			b.ReportMetric(float64(remove.Milliseconds())/float64(b.N), "remove-ms/op")
		})
	}
}
