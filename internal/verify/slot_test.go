package verify

import (
	"net/netip"
	"testing"
	"time"
)

// At rest the periodic probes of many VIPs share wake-ups: one per
// probeSlot, each no earlier than the pair's own due time and less than a
// slot after it.
func TestPeriodicProbesShareSlots(t *testing.T) {
	const n = 1000
	vips := make([]netip.Addr, n)
	base := netip.MustParseAddr("198.18.8.0")
	for i := range vips {
		vips[i] = base
		base = base.Next()
	}
	c := newCore(Timing{}, false, vips, []netip.Addr{netip.MustParseAddr("198.18.0.1")},
		netip.MustParseAddr("198.18.0.11"), netip.Addr{})
	t0 := time.Unix(5000, 0)
	wakes := map[time.Time]bool{}
	for i := range c.pairs {
		pr := &c.pairs[i]
		pr.probesOut = c.t.InitialProbes // past the takeover's probes
		now := t0.Add(time.Duration(i) * 97 * time.Microsecond)
		c.nextProbe(now, i, now)
		due := now.Add(c.t.Period + pr.spread)
		if pr.wake.Before(due) || !pr.wake.Before(due.Add(probeSlot)) {
			t.Fatalf("pair %d: wake %v, due %v: want in [due, due+%v)", i, pr.wake.Sub(t0), due.Sub(t0), probeSlot)
		}
		wakes[pr.wake] = true
	}
	// The spread is a tenth of the period; the sends took 97 ms more.
	limit := int((c.t.Period/10+97*time.Millisecond)/probeSlot) + 2
	if len(wakes) > limit {
		t.Errorf("%d VIPs wake at %d distinct times, want at most %d", n, len(wakes), limit)
	}
}
