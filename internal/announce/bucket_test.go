package announce

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		rate  float64
		burst int
		// want is when each of the first len(want) packets may leave, as
		// offsets from start, when asking as early as possible.
		want []time.Duration
	}{
		{"burst 1", 100, 1, []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond}},
		{"burst 3", 500, 3, []time.Duration{0, 0, 0, 2 * time.Millisecond, 4 * time.Millisecond}},
		{"fractional rate", 3, 1, []time.Duration{0, 333333333, 666666666}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A zero bucket far in the future must not overflow.
			b := newBucket(tt.rate, tt.burst)
			now := start
			for i, w := range tt.want {
				if d := b.wait(now); d > 0 {
					now = now.Add(d)
				}
				if got := now.Sub(start); got != w {
					t.Fatalf("packet %d at %v, want %v", i, got, w)
				}
				b.take(now)
			}
		})
	}
	// After a long pause the bucket is full again, not more than full.
	b := newBucket(500, 3)
	for range 3 {
		b.take(start)
	}
	later := start.Add(time.Hour)
	for i := range 4 {
		d := b.wait(later)
		if (i < 3) != (d == 0) {
			t.Fatalf("after a pause, packet %d waits %v", i, d)
		}
		b.take(later)
	}
}
