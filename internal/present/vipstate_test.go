package present

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

func TestDecide(t *testing.T) {
	a, b := netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("192.0.2.101/24")
	vips := []netip.Prefix{a, b}
	type st = map[netip.Prefix]*vip
	for _, tc := range []struct {
		name   string
		held   bool
		linkUp bool
		states st
		actual []netip.Prefix
		now    time.Time
		want   plan
	}{
		{name: "takeover adds what is missing, adopts what is there", held: true, linkUp: true,
			states: st{}, actual: []netip.Prefix{b},
			want: plan{add: []netip.Prefix{a}, adopt: []netip.Prefix{b}}},
		{name: "an add not reported yet is not a removal", held: true, linkUp: true,
			states: st{a: {state: stAdding, at: t0}, b: {state: stAdding, at: t0}}, actual: []netip.Prefix{b},
			now: t0.Add(time.Second), want: plan{confirmed: []netip.Prefix{b}, wake: t0.Add(confirmWait)}},
		{name: "an add never reported is made again", held: true, linkUp: true,
			states: st{a: {state: stAdding, at: t0}}, now: t0.Add(confirmWait),
			want: plan{add: []netip.Prefix{a, b}}},
		{name: "removed behind our back while held", held: true, linkUp: true,
			states: st{a: {state: stOurs}, b: {state: stOurs}}, actual: []netip.Prefix{b},
			want: plan{add: []netip.Prefix{a}, restored: []netip.Prefix{a}}},
		{name: "gone with the link down: no restore", held: true, linkUp: false,
			states: st{a: {state: stOurs}, b: {state: stOurs}}, actual: []netip.Prefix{b}},
		{name: "release removes ours", held: false, linkUp: true,
			states: st{a: {state: stOurs}, b: {state: stAdding, at: t0}}, actual: []netip.Prefix{a, b},
			want: plan{remove: []netip.Prefix{a, b}}},
		{name: "release removes an add not reported yet", held: false, linkUp: true,
			states: st{a: {state: stAdding, at: t0}, b: {state: stOurs}}, now: t0.Add(time.Millisecond),
			want: plan{remove: []netip.Prefix{a}, gone: []netip.Prefix{b}}},
		{name: "a remove not reported yet is not unexpected", held: false, linkUp: true,
			states: st{a: {state: stRemoving, at: t0}, b: {state: stRemoving, at: t0}}, actual: []netip.Prefix{a},
			now: t0.Add(time.Second), want: plan{gone: []netip.Prefix{b}, wake: t0.Add(confirmWait)}},
		{name: "a remove never reported is made again", held: false, linkUp: true,
			states: st{a: {state: stRemoving, at: t0}}, actual: []netip.Prefix{a}, now: t0.Add(confirmWait),
			want: plan{remove: []netip.Prefix{a}}},
		{name: "present on a backup and not ours: reported once, not removed", held: false, linkUp: true,
			states: st{b: {unexpected: true}}, actual: []netip.Prefix{a, b},
			want: plan{unexpected: []netip.Prefix{a}}},
		{name: "a VIP dropped from the config is removed if ours", held: true, linkUp: true,
			states: st{a: {state: stOurs}, b: {state: stOurs}, netip.MustParsePrefix("192.0.2.102/24"): {state: stOurs}},
			actual: []netip.Prefix{a, b, netip.MustParsePrefix("192.0.2.102/24")},
			want:   plan{remove: pfx("192.0.2.102/24")}},
		{name: "a VIP dropped from the config is removed if being added", held: true, linkUp: true,
			states: st{a: {state: stOurs}, b: {state: stOurs}, netip.MustParsePrefix("192.0.2.102/24"): {state: stAdding, at: t0}},
			actual: []netip.Prefix{a, b},
			want:   plan{remove: pfx("192.0.2.102/24")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			actual := map[netip.Prefix]bool{}
			for _, p := range tc.actual {
				actual[p] = true
			}
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			got := decide(now, tc.held, tc.linkUp, vips, tc.states, actual)
			for _, l := range []*[]netip.Prefix{&got.add, &got.remove, &got.adopt, &got.gone, &got.confirmed} {
				slices.SortFunc(*l, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
			}
			if !equalPlans(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func equalPlans(a, b plan) bool {
	return slices.Equal(a.add, b.add) && slices.Equal(a.restored, b.restored) && slices.Equal(a.remove, b.remove) &&
		slices.Equal(a.adopt, b.adopt) && slices.Equal(a.unexpected, b.unexpected) &&
		slices.Equal(a.confirmed, b.confirmed) && slices.Equal(a.gone, b.gone) && a.wake.Equal(b.wake)
}

func TestProbeSample(t *testing.T) {
	var vs []netip.Addr
	for i := range 4096 {
		vs = append(vs, netip.AddrFrom4([4]byte{198, 18, byte(i / 256), byte(i % 256)}))
	}
	got := probeSample(vs)
	if len(got) != maxProbed || got[0] != vs[0] || got[maxProbed-1] != vs[(maxProbed-1)*4096/maxProbed] {
		t.Fatalf("sample of 4096: %d, first %v, last %v", len(got), got[0], got[len(got)-1])
	}
	if got := probeSample(vs[:10]); len(got) != 10 {
		t.Fatalf("sample of 10: %d", len(got))
	}
}
