package announce

import "time"

// bucket is a token bucket in its GCRA form (ITU-T I.371 virtual
// scheduling): one theoretical arrival time instead of a token count, so
// pacing is exact in integer nanoseconds on an injected clock.
type bucket struct {
	interval  time.Duration // 1/rate: time to earn one token
	tolerance time.Duration // (burst-1)*interval: how far ahead tat may run
	tat       time.Time     // theoretical arrival time of the next packet
}

func newBucket(rate float64, burst int) bucket {
	iv := time.Duration(float64(time.Second) / rate)
	if iv <= 0 {
		iv = 1
	}
	return bucket{interval: iv, tolerance: time.Duration(burst-1) * iv}
}

// wait returns how long from now until one token is available; zero means
// now.
func (b *bucket) wait(now time.Time) time.Duration {
	if !b.tat.After(now) {
		return 0 // also keeps the zero tat from overflowing Sub
	}
	if d := b.tat.Sub(now) - b.tolerance; d > 0 {
		return d
	}
	return 0
}

// take spends one token at now; the caller has checked wait(now) == 0.
func (b *bucket) take(now time.Time) {
	if b.tat.Before(now) {
		b.tat = now
	}
	b.tat = b.tat.Add(b.interval)
}

// setRate changes the rate and burst from now on; packets already
// accounted for keep their place.
func (b *bucket) setRate(rate float64, burst int) {
	nb := newBucket(rate, burst)
	b.interval, b.tolerance = nb.interval, nb.tolerance
}
