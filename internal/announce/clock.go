package announce

import "github.com/vipd/vipd/internal/clock"

// Clock is the Pacer's source of time, a clock.Clock. Production code uses
// SystemClock; tests inject clocktest.Clock or call Pacer.Poll with
// made-up times.
type Clock = clock.Clock

// Timer is a clock.Timer.
type Timer = clock.Timer

// SystemClock returns the real clock, clock.System().
func SystemClock() Clock { return clock.System() }
