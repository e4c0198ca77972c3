package bgp

import "testing"

func TestPreferenceFor(t *testing.T) {
	for _, c := range []struct {
		prio uint8
		want Preference
	}{
		{255, Preference{0, 0}},
		{254, Preference{1, 1}},
		{245, Preference{1, 10}},
		{244, Preference{2, 11}},
		{150, Preference{11, 105}},
		{100, Preference{16, 155}},
		{1, Preference{26, 254}},
	} {
		if got := PreferenceFor(c.prio); got != c.want {
			t.Errorf("PreferenceFor(%d) = %+v, want %+v", c.prio, got, c.want)
		}
	}
}

// A higher priority always wins between nodes of one AS, and never loses
// on AS-path length alone (nodes with their own ASNs).
func TestPreferenceOrder(t *testing.T) {
	for hi := 2; hi <= 255; hi++ {
		for lo := 1; lo < hi; lo++ {
			h, l := PreferenceFor(uint8(hi)), PreferenceFor(uint8(lo))
			if !h.Better(l) || l.Better(h) {
				t.Fatalf("priority %d (%+v) does not beat %d (%+v)", hi, h, lo, l)
			}
			if h.Prepend > l.Prepend {
				t.Fatalf("priority %d has a longer path than %d", hi, lo)
			}
			if hi-lo >= prependBand && h.Prepend == l.Prepend {
				t.Fatalf("priorities %d and %d, %d apart, share a prepend band", hi, lo, hi-lo)
			}
		}
	}
}
