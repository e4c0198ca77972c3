package health

import "github.com/vipd/vipd/internal/clock"

// Clock is the monitor's source of time for scheduling runs, a
// clock.Clock. Production code uses SystemClock; tests inject
// clocktest.Clock. Run timeouts are enforced with a context deadline in
// real time, whatever the clock.
type Clock = clock.Clock

// Timer is a clock.Timer.
type Timer = clock.Timer

// SystemClock returns the real clock, clock.System().
func SystemClock() Clock { return clock.System() }
