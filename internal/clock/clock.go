// Package clock is vipd's injected source of time: the Clock that the
// announcement pacer, the health monitor, the verifier and the watcher
// take, and System, the real one. Package clocktest has a manual Clock for
// tests, so timelines of seconds run in microseconds without sleeps.
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that vipd uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// System returns the real clock, backed by time.Now and time.NewTimer.
func System() Clock { return system{} }

type system struct{}

func (system) Now() time.Time                 { return time.Now() }
func (system) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }
