package announce

import (
	"testing"
	"time"
)

func TestRateControl(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	c := newRateControl(0)
	if !c.adaptive || c.rate != AutoMaxRate {
		t.Fatalf("start %+v", c)
	}
	if !c.cut(t0) || c.rate != DefaultRate {
		t.Fatalf("first cut: %v, want straight to %v", c.rate, DefaultRate)
	}
	if !c.cut(t0.Add(CutGap)) || c.rate != DefaultRate/2 {
		t.Fatalf("second cut: %v, want half", c.rate)
	}
	if c.cut(t0.Add(CutGap / 2)) {
		t.Fatal("two cuts within CutGap")
	}
	for i := 2; i <= 20; i++ { // one cut per gap, down to the floor
		c.cut(t0.Add(time.Duration(i) * CutGap))
	}
	if c.rate != AutoMinRate {
		t.Fatalf("floor: %v", c.rate)
	}
	at := c.changed // the cut that reached the floor
	if c.raise(at.Add(RaiseAfter - 1)) {
		t.Fatal("raised before RaiseAfter")
	}
	if !c.raise(at.Add(RaiseAfter)) || c.rate != 2*AutoMinRate {
		t.Fatalf("raise: %v", c.rate)
	}
	for i := 2; i < 20; i++ {
		c.raise(at.Add(time.Duration(i) * RaiseAfter))
	}
	if c.rate != AutoMaxRate {
		t.Fatalf("back to the ceiling: %v", c.rate)
	}

	f := newRateControl(500) // a configured rate is kept
	if f.cut(t0) || f.raise(t0.Add(time.Hour)) || f.rate != 500 {
		t.Fatalf("fixed rate changed: %+v", f)
	}
}
