package vipaddrtest

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/vipd/vipd/internal/vipaddr"
)

var (
	p1  = netip.MustParsePrefix("192.0.2.100/24")
	p2  = netip.MustParsePrefix("192.0.2.101/24")
	p3  = netip.MustParsePrefix("2001:db8::100/64")
	p1b = netip.MustParsePrefix("192.0.2.100/32") // p1's address, other length
	bg  = context.Background()
)

func TestFakeSemantics(t *testing.T) {
	f := New()
	var seen []Op
	f.OnCall(func(c Call) { seen = append(seen, c.Op) })

	if err := f.Add(bg, 1, []netip.Prefix{p1, p2, p3}); err != nil {
		t.Fatal(err)
	}
	if err := f.Add(bg, 1, []netip.Prefix{p1}); err != nil {
		t.Fatalf("Add is not idempotent: %v", err)
	}
	if got := f.Addresses(1); !slices.Equal(got, []netip.Prefix{p1, p2, p3}) {
		t.Errorf("Addresses = %v", got)
	}
	if got := f.Addresses(2); len(got) != 0 {
		t.Errorf("other interface has %v", got)
	}
	if got, err := f.Present(bg, 1, []netip.Prefix{p3, p1b, p1}); err != nil || !slices.Equal(got, []netip.Prefix{p3, p1}) {
		t.Errorf("Present = %v, %v", got, err)
	}
	if err := f.Remove(bg, 1, []netip.Prefix{p1, p1}); err != nil {
		t.Fatalf("Remove is not idempotent: %v", err)
	}
	if err := f.Add(bg, 1, []netip.Prefix{netip.MustParsePrefix("224.0.0.18/32")}); !errors.Is(err, vipaddr.ErrInvalidPrefix) {
		t.Errorf("Add(multicast) = %v", err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := f.Add(ctx, 1, []netip.Prefix{p1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Add(cancelled) = %v", err)
	}
	if err := f.Remove(ctx, 1, []netip.Prefix{p2}); err != nil {
		t.Errorf("Remove(cancelled) = %v, want it to go on like Netlink", err)
	}
	want := []Op{OpAdd, OpAdd, OpPresent, OpRemove, OpAdd, OpAdd, OpRemove}
	if !slices.Equal(seen, want) {
		t.Errorf("OnCall saw %v, want %v", seen, want)
	}
	if calls := f.Calls(); len(calls) != len(want) || calls[4].Err == nil || !slices.Equal(calls[0].VIPs, []netip.Prefix{p1, p2, p3}) {
		t.Errorf("Calls = %+v", calls)
	}
}

func TestFakeFailures(t *testing.T) {
	boom := errors.New("boom")
	f := New()
	f.Set(1, p2) // there before: a failed Add must leave it

	f.Fail(OpAdd, p3, boom)
	err := f.Add(bg, 1, []netip.Prefix{p1, p2, p3})
	if !errors.Is(err, boom) || err.Error() != "vipaddr: add 2001:db8::100/64 on ifindex 1: boom" {
		t.Fatalf("Add = %v", err)
	}
	if got := f.Addresses(1); !slices.Equal(got, []netip.Prefix{p2}) {
		t.Errorf("after a failed Add: %v, want only the pre-existing %v", got, p2)
	}

	f.ClearFailures()
	if err := f.Add(bg, 1, []netip.Prefix{p1, p3}); err != nil {
		t.Fatal(err)
	}
	f.Fail(OpRemove, p1, boom)
	if err := f.Remove(bg, 1, []netip.Prefix{p1, p2, p3}); !errors.Is(err, boom) {
		t.Fatalf("Remove = %v", err)
	}
	if got := f.Addresses(1); !slices.Equal(got, []netip.Prefix{p1}) {
		t.Errorf("after a partly failed Remove: %v, want only %v", got, p1)
	}
	f.Fail(OpRemove, p1, nil)

	f.Fail(OpPresent, netip.Prefix{}, boom)
	if _, err := f.Present(bg, 1, []netip.Prefix{p1}); !errors.Is(err, boom) {
		t.Errorf("Present = %v", err)
	}
	f.Fail(OpAdd, netip.Prefix{}, vipaddr.ErrIPv6Disabled)
	if err := f.Add(bg, 1, []netip.Prefix{p2}); !errors.Is(err, vipaddr.ErrIPv6Disabled) {
		t.Errorf("Add = %v", err)
	}
	f.ClearFailures()
	if _, err := f.Present(bg, 1, nil); err != nil {
		t.Errorf("Present after ClearFailures = %v", err)
	}
}
