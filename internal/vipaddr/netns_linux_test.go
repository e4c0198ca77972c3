package vipaddr

import (
	"net"
	"testing"

	"github.com/vipd/vipd/internal/testutil"
)

// newDummy creates a namespace with an interface vip0 (up, with
// 192.0.2.1/24 and 2001:db8::1/64) and a Netlink opened inside it. vip0 is
// one end of a veth pair whose other end, vip0p, is in the same namespace:
// this kernel has no dummy driver, and anything the kernel sends on vip0
// stays in the namespace. IPv6 duplicate address detection stays on, so
// the tests see that VIPs skip it.
func newDummy(t testing.TB) (ns string, ifindex int, nl *Netlink) {
	t.Helper()
	ns = testutil.NewNS(t, "vipaddr")
	testutil.AddVeth(t, testutil.Veth{NS: ns, Name: "vip0"}, testutil.Veth{NS: ns, Name: "vip0p"})
	testutil.Run(t, "ip", "-n", ns, "link", "set", "vip0p", "up")
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "vip0")
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "2001:db8::1/64", "dev", "vip0")
	testutil.Run(t, "ip", "-n", ns, "link", "set", "vip0", "up")
	err := testutil.InNS(ns, func() error {
		ifi, err := net.InterfaceByName("vip0")
		if err != nil {
			return err
		}
		ifindex = ifi.Index
		nl, err = NewNetlink()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nl.Close() })
	return ns, ifindex, nl
}

// newPrepared is newDummy with PrepareInterface applied to vip0.
func newPrepared(t testing.TB) (ns string, ifindex int, nl *Netlink) {
	t.Helper()
	ns, ifindex, nl = newDummy(t)
	if err := testutil.InNS(ns, func() error { return PrepareInterface("vip0") }); err != nil {
		t.Fatal(err)
	}
	return ns, ifindex, nl
}
