package vipaddr

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/vipd/vipd/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestAppendAddrMsg decodes a batch with the standard library's parser: the
// attributes vishvananda/netlink sent for the same addresses (IFA_LOCAL,
// IFA_ADDRESS, IFA_BROADCAST below /31), IFA_F_NODAD for IPv6 only, the
// sequence numbers and flags as given.
func TestAppendAddrMsg(t *testing.T) {
	vips := []netip.Prefix{
		netip.MustParsePrefix("198.18.3.7/24"),
		netip.MustParsePrefix("198.18.0.1/15"),
		netip.MustParsePrefix("192.0.2.9/32"),
		netip.MustParsePrefix("2001:db8:1::5/64"),
	}
	wantBrd := []string{"198.18.3.255", "198.19.255.255", "", ""}
	var b []byte
	for i, p := range vips {
		b = appendAddrMsg(b, unix.RTM_NEWADDR, unix.NLM_F_REQUEST|unix.NLM_F_ACK, uint32(100+i), 7, p)
	}
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil || len(msgs) != len(vips) {
		t.Fatalf("parse: %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		p := vips[i]
		if m.Header.Type != unix.RTM_NEWADDR || m.Header.Seq != uint32(100+i) || m.Header.Flags != unix.NLM_F_REQUEST|unix.NLM_F_ACK {
			t.Errorf("%v: header %+v", p, m.Header)
		}
		d := m.Data
		if len(d) < unix.SizeofIfAddrmsg {
			t.Fatalf("%v: %d bytes of data", p, len(d))
		}
		ifa := unix.IfAddrmsg{Family: d[0], Prefixlen: d[1], Flags: d[2], Scope: d[3], Index: binary.NativeEndian.Uint32(d[4:8])}
		wantFamily, wantFlags := uint8(unix.AF_INET), uint8(0)
		if p.Addr().Is6() {
			wantFamily, wantFlags = unix.AF_INET6, unix.IFA_F_NODAD
		}
		if ifa.Family != wantFamily || int(ifa.Prefixlen) != p.Bits() || ifa.Flags != wantFlags || ifa.Scope != 0 || ifa.Index != 7 {
			t.Errorf("%v: ifaddrmsg %+v", p, ifa)
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			t.Fatalf("%v: attributes: %v", p, err)
		}
		got := map[uint16]string{}
		for _, a := range attrs {
			addr, _ := netip.AddrFromSlice(a.Value)
			got[a.Attr.Type] = addr.String()
		}
		want := map[uint16]string{unix.IFA_LOCAL: p.Addr().String(), unix.IFA_ADDRESS: p.Addr().String()}
		if wantBrd[i] != "" {
			want[unix.IFA_BROADCAST] = wantBrd[i]
		}
		if len(got) != len(want) || len(attrs) != len(want) {
			t.Errorf("%v: attributes %v, want %v", p, got, want)
		}
		for typ, v := range want {
			if got[typ] != v {
				t.Errorf("%v: attribute %d = %q, want %q", p, typ, got[typ], v)
			}
		}
	}
}

// TestIntegrationAddBatchFailsMidway adds 300 VIPs (three batches) of
// which some were there before, in the first batch and around the failure,
// and the kernel refuses one in the middle of the second batch, and another
// after it: the kernel carries on with the rest of that batch, so Add must
// roll back the addresses it added before and after the failure, name the
// first refused address, and leave the ones that were there before.
func TestIntegrationAddBatchFailsMidway(t *testing.T) {
	testutil.RequireRoot(t)
	ns, ifindex, nl := newPrepared(t)
	ctx := context.Background()
	vips := manyVIPs("198.18.0.1", 300, 24)
	bad := netip.MustParsePrefix("2001:db8::100/64")
	vips[200] = bad                                       // middle of the second batch
	vips[230] = netip.MustParsePrefix("2001:db8::101/64") // refused too; not the one named
	existing := []netip.Prefix{vips[3], vips[199], vips[201], vips[299]}
	if err := nl.Add(ctx, ifindex, existing); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.vip0.disable_ipv6=1")
	before := ipAddrs(t, ns)

	err := nl.Add(ctx, ifindex, vips)
	if !errors.Is(err, ErrIPv6Disabled) {
		t.Fatalf("Add = %v, want ErrIPv6Disabled", err)
	}
	if want := "vipaddr: add " + bad.String() + " on vip0: "; !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "2001:db8::101") {
		t.Errorf("error %q: want it to start with %q and name no other address", err, want)
	}
	after := ipAddrs(t, ns)
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%v left behind by the failed Add", p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%v, there before the call, was rolled back", p)
		}
	}

	// Without the refused addresses the same call adds all, the
	// pre-existing ones (EEXIST, mid-batch) included.
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.vip0.disable_ipv6=0")
	if err := nl.Add(ctx, ifindex, vips); err != nil {
		t.Fatalf("Add with IPv6 enabled: %v", err)
	}
	if got, err := nl.Present(ctx, ifindex, vips); err != nil || len(got) != len(vips) {
		t.Errorf("Present = %d of %d, %v", len(got), len(vips), err)
	}
}

// TestIntegrationRemoveBatchKeepsGoing removes 300 VIPs of which every
// seventh is not there: the kernel's EADDRNOTAVAIL in the middle of a batch
// stops nothing, and Remove reports no error.
func TestIntegrationRemoveBatchKeepsGoing(t *testing.T) {
	testutil.RequireRoot(t)
	ns, ifindex, nl := newPrepared(t)
	ctx := context.Background()
	vips := manyVIPs("198.18.0.1", 300, 24)
	vips = append(vips, manyVIPs("2001:db8:1::1", 40, 64)...)
	var some []netip.Prefix
	for i, p := range vips {
		if i%7 != 3 {
			some = append(some, p)
		}
	}
	if err := nl.Add(ctx, ifindex, some); err != nil {
		t.Fatal(err)
	}
	if err := nl.Remove(ctx, ifindex, vips); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got, err := nl.Present(ctx, ifindex, vips); err != nil || len(got) != 0 {
		t.Errorf("Present after Remove = %v, %v", got, err)
	}
	have := ipAddrs(t, ns)
	if _, ok := have[netip.MustParsePrefix("192.0.2.1/24")]; !ok || len(have) != 3 {
		t.Errorf("left: %v, want the interface's own three", have)
	}
}

// cancelAfter is a context whose Err reports Canceled from its n+1st call
// on: Add checks it before each batch, so it ends between two batches.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestIntegrationAddCancelledBetweenBatches: a context cancelled after the
// first batch stops Add before the second, names the first address not
// tried, and rolls the first batch back.
func TestIntegrationAddCancelledBetweenBatches(t *testing.T) {
	testutil.RequireRoot(t)
	ns, ifindex, nl := newDummy(t)
	vips := manyVIPs("198.18.0.1", 300, 24)
	before := ipAddrs(t, ns)
	err := nl.Add(&cancelAfter{Context: context.Background(), n: 1}, ifindex, vips)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Add = %v, want context.Canceled", err)
	}
	if want := "vipaddr: add " + vips[batchSize].String() + " on vip0: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	if after := ipAddrs(t, ns); len(after) != len(before) {
		t.Errorf("%d addresses after the cancelled Add, %d before", len(after), len(before))
	}
}
