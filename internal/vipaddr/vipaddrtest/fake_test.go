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

func TestFakeOnChange(t *testing.T) {
	type change struct {
		ifindex int
		p       netip.Prefix
		present bool
	}
	f := New()
	f.Set(1, p2)
	var got []change
	f.OnChange(func(ifindex int, p netip.Prefix, present bool) { got = append(got, change{ifindex, p, present}) })
	check := func(what string, want ...change) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: changes %v, want %v", what, got, want)
		}
		got = nil
	}
	check("replay of what is there", change{1, p2, true})

	if err := f.Add(bg, 1, []netip.Prefix{p1, p2}); err != nil {
		t.Fatal(err)
	}
	check("Add", change{1, p1, true})
	f.Fail(OpAdd, p3, errors.New("boom"))
	if err := f.Add(bg, 2, []netip.Prefix{p1b, p3}); err == nil {
		t.Fatal("Add did not fail")
	}
	check("Add rolled back", change{2, p1b, true}, change{2, p1b, false})
	f.ClearFailures()
	if err := f.Remove(bg, 1, []netip.Prefix{p1, p3}); err != nil {
		t.Fatal(err)
	}
	check("Remove", change{1, p1, false})

	// An operator's changes are not calls.
	calls := len(f.Calls())
	f.Insert(1, p3, p3, p1)
	check("Insert", change{1, p3, true}, change{1, p1, true})
	f.Delete(1, p3, p1b)
	check("Delete", change{1, p3, false})
	f.Set(1, p1b, p1)
	check("Set", change{1, p2, false}, change{1, p1b, true})
	if got := f.Addresses(1); !slices.Equal(got, []netip.Prefix{p1, p1b}) {
		t.Errorf("Addresses = %v", got)
	}
	if len(f.Calls()) != calls {
		t.Errorf("operator changes were recorded as calls: %v", f.Calls()[calls:])
	}
	f.OnChange(nil)
	f.Set(1)
	check("after OnChange(nil)")
	if got := f.Addresses(1); len(got) != 0 {
		t.Errorf("Set(1) left %v", got)
	}
}
