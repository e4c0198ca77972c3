package vipaddr

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/testutil"
)

// ipAddr is one address as `ip -j addr show` reports it.
type ipAddr struct {
	Local     string `json:"local"`
	PrefixLen int    `json:"prefixlen"`
	Secondary bool   `json:"secondary"`
	NoDAD     bool   `json:"nodad"`
	Tentative bool   `json:"tentative"`
}

// ipAddrs asks iproute2, independently of this package, what vip0 has.
func ipAddrs(t *testing.T, ns string) map[netip.Prefix]ipAddr {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-j", "addr", "show", "dev", "vip0").Output()
	if err != nil {
		t.Fatalf("ip addr show: %v", err)
	}
	var links []struct {
		AddrInfo []ipAddr `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j addr show: %v\n%s", err, out)
	}
	m := make(map[netip.Prefix]ipAddr)
	for _, a := range links[0].AddrInfo {
		m[netip.PrefixFrom(netip.MustParseAddr(a.Local), a.PrefixLen)] = a
	}
	return m
}

// someVIPs: 20 IPv4 (10 /32 in another subnet, 10 /24 secondaries of the
// interface's 192.0.2.1/24) and 4 IPv6 (2 /128, 2 /64 in the interface's
// subnet).
func someVIPs() []netip.Prefix {
	vips := manyVIPs("198.51.100.10", 10, 32)
	vips = append(vips, manyVIPs("192.0.2.100", 10, 24)...)
	vips = append(vips, manyVIPs("2001:db8:2::1", 2, 128)...)
	return append(vips, manyVIPs("2001:db8::100", 2, 64)...)
}

func TestIntegrationAddPresentRemove(t *testing.T) {
	testutil.RequireRoot(t)
	ns, ifindex, nl := newDummy(t)
	if err := testutil.InNS(ns, func() error { return PrepareInterface("vip0") }); err != nil {
		t.Fatalf("PrepareInterface: %v", err)
	}
	ctx := context.Background()
	vips := someVIPs()

	if err := nl.Add(ctx, ifindex, vips); err != nil {
		t.Fatalf("Add: %v", err)
	}
	have := ipAddrs(t, ns)
	for _, p := range vips {
		a, ok := have[p]
		switch {
		case !ok:
			t.Errorf("%v missing after Add; ip addr shows %v", p, have)
		case p.Addr().Is6() && (!a.NoDAD || a.Tentative):
			t.Errorf("%v: nodad=%v tentative=%v, want a NODAD address in use at once", p, a.NoDAD, a.Tentative)
		case p.Bits() == 24 && !a.Secondary:
			t.Errorf("%v is not a secondary of 192.0.2.1/24", p)
		}
	}
	if got, err := nl.Present(ctx, ifindex, vips); err != nil || !slices.Equal(got, vips) {
		t.Errorf("Present = %v, %v; want all %d", got, err, len(vips))
	}
	// Present compares prefix lengths too, and keeps the caller's order.
	probe := []netip.Prefix{
		netip.MustParsePrefix("2001:db8::100/64"),
		netip.MustParsePrefix("198.51.100.10/24"),
		netip.MustParsePrefix("192.0.2.1/24"),
		netip.MustParsePrefix("203.0.113.1/32"),
	}
	if got, err := nl.Present(ctx, ifindex, probe); err != nil || !slices.Equal(got, []netip.Prefix{probe[0], probe[2]}) {
		t.Errorf("Present(%v) = %v, %v", probe, got, err)
	}

	// Idempotent.
	if err := nl.Add(ctx, ifindex, vips); err != nil {
		t.Fatalf("second Add: %v", err)
	}

	// Remove the first half (which holds 192.0.2.1/24's secondaries and all
	// /32 primaries), then everything, twice.
	half := vips[:len(vips)/2]
	if err := nl.Remove(ctx, ifindex, half); err != nil {
		t.Fatalf("Remove half: %v", err)
	}
	if got, err := nl.Present(ctx, ifindex, vips); err != nil || !slices.Equal(got, vips[len(vips)/2:]) {
		t.Errorf("Present after removing half = %v, %v", got, err)
	}
	for range 2 {
		if err := nl.Remove(ctx, ifindex, vips); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	if got, err := nl.Present(ctx, ifindex, vips); err != nil || len(got) != 0 {
		t.Errorf("Present after Remove = %v, %v", got, err)
	}
	// The interface's own addresses are untouched.
	have = ipAddrs(t, ns)
	for _, p := range []string{"192.0.2.1/24", "2001:db8::1/64"} {
		if _, ok := have[netip.MustParsePrefix(p)]; !ok {
			t.Errorf("%s is gone; ip addr shows %v", p, have)
		}
	}
	if len(have) != 3 { // and the link-local
		t.Errorf("left behind: %v", have)
	}
}

// TestIntegrationRemovePrimaryKeepsOthers shows why PrepareInterface exists:
// a VIP that is the primary of its subnet takes the subnet's other addresses
// with it when it goes, unless promote_secondaries is set.
func TestIntegrationRemovePrimaryKeepsOthers(t *testing.T) {
	testutil.RequireRoot(t)
	for _, prepare := range []bool{false, true} {
		t.Run("prepared="+strconv.FormatBool(prepare), func(t *testing.T) {
			ns, ifindex, nl := newDummy(t)
			if prepare {
				if err := testutil.InNS(ns, func() error { return PrepareInterface("vip0") }); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			primary := manyVIPs("198.51.100.1", 1, 24)
			others := manyVIPs("198.51.100.2", 3, 24)
			if err := nl.Add(ctx, ifindex, append(primary, others...)); err != nil {
				t.Fatal(err)
			}
			if err := nl.Remove(ctx, ifindex, primary); err != nil {
				t.Fatal(err)
			}
			got, err := nl.Present(ctx, ifindex, others)
			if err != nil {
				t.Fatal(err)
			}
			want := others
			if !prepare {
				want = nil // flushed along with their primary
			}
			if !slices.Equal(got, want) {
				t.Errorf("after removing the primary, present = %v, want %v", got, want)
			}
		})
	}
}

func TestIntegrationAddRollsBack(t *testing.T) {
	testutil.RequireRoot(t)
	ns, ifindex, nl := newDummy(t)
	ctx := context.Background()
	existing := netip.MustParsePrefix("198.51.100.50/32")
	if err := nl.Add(ctx, ifindex, []netip.Prefix{existing}); err != nil {
		t.Fatal(err)
	}
	// With IPv6 off on the interface the kernel refuses the IPv6 VIP, after
	// the IPv4 ones went in.
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.vip0.disable_ipv6=1")
	before := ipAddrs(t, ns)

	vips := append(manyVIPs("198.51.100.1", 4, 32), existing)
	vips = append(vips, manyVIPs("192.0.2.100", 4, 24)...)
	vips = append(vips, netip.MustParsePrefix("2001:db8::100/64"))
	vips = append(vips, manyVIPs("198.51.100.60", 4, 32)...)
	err := nl.Add(ctx, ifindex, vips)
	if !errors.Is(err, ErrIPv6Disabled) || IsPermission(err) {
		t.Fatalf("Add = %v, want ErrIPv6Disabled, not a permission error", err)
	}
	if want := "vipaddr: add 2001:db8::100/64 on vip0: IPv6 is disabled on the interface"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	// Exactly what was there before: the pre-existing VIP stays, nothing
	// this call added remains.
	after := ipAddrs(t, ns)
	if len(after) != len(before) {
		t.Errorf("addresses before: %v\nafter the failed Add: %v", before, after)
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%v vanished", p)
		}
	}

	// A cancelled context stops Add before it touches anything.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := nl.Add(cctx, ifindex, manyVIPs("198.51.100.1", 2, 32)); !errors.Is(err, context.Canceled) {
		t.Errorf("Add(cancelled) = %v", err)
	}
	if len(ipAddrs(t, ns)) != len(before) {
		t.Errorf("Add with a cancelled context changed the addresses")
	}
}

func TestIntegrationErrors(t *testing.T) {
	testutil.RequireRoot(t)
	_, ifindex, nl := newDummy(t)
	ctx := context.Background()
	vip := []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")}

	err := nl.Add(ctx, ifindex+1000, vip)
	if err == nil || !strings.HasPrefix(err.Error(), "vipaddr: add 192.0.2.100/24 on ifindex "+strconv.Itoa(ifindex+1000)+": ") {
		t.Errorf("Add on a missing interface = %v", err)
	}
	if err := nl.Add(ctx, ifindex, []netip.Prefix{netip.MustParsePrefix("224.0.0.18/32")}); !errors.Is(err, ErrInvalidPrefix) {
		t.Errorf("Add(multicast) = %v", err)
	}
	if err := nl.Remove(ctx, ifindex+1000, vip); err == nil {
		t.Errorf("Remove on a missing interface succeeded")
	}
	if _, err := nl.Present(ctx, ifindex+1000, vip); err != nil {
		t.Errorf("Present on a missing interface = %v, want no error and nothing present", err)
	}
}

// TestIntegrationPermission runs Add in a child process that is root but
// has no capabilities (setpriv drops them all): the kernel answers EPERM,
// which IsPermission and errors.Is(err, os.ErrPermission) recognise.
func TestIntegrationPermission(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	ns, ifindex, _ := newDummy(t)
	cmd := exec.Command("ip", "netns", "exec", ns,
		"setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--",
		os.Args[0], "-test.run=^TestHelperUnprivilegedAdd$", "-test.v")
	cmd.Env = append(os.Environ(), "VIPADDR_HELPER_IFINDEX="+strconv.Itoa(ifindex))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestHelperUnprivilegedAdd") {
		t.Fatalf("helper did not run:\n%s", out)
	}
	t.Logf("helper:\n%s", out)
}

// TestHelperUnprivilegedAdd is the child of TestIntegrationPermission.
func TestHelperUnprivilegedAdd(t *testing.T) {
	ifindex, err := strconv.Atoi(os.Getenv("VIPADDR_HELPER_IFINDEX"))
	if err != nil {
		return // only a helper process of TestIntegrationPermission (not a skip: CI counts skips)
	}
	nl, err := NewNetlink()
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	err = nl.Add(context.Background(), ifindex, []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")})
	if !IsPermission(err) || !errors.Is(err, os.ErrPermission) {
		t.Fatalf("Add without CAP_NET_ADMIN = %v, want a permission error", err)
	}
	t.Logf("Add without CAP_NET_ADMIN: %v", err)
	// Present needs no privilege.
	if _, err := nl.Present(context.Background(), ifindex, nil); err != nil {
		t.Errorf("Present: %v", err)
	}
}
