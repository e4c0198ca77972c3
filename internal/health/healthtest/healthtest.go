// Package healthtest provides fakes for testing code that uses package
// health: a Prober whose every run the test answers. The manual clock is
// clocktest.Clock.
package healthtest

import (
	"context"
	"time"

	"github.com/vipd/vipd/internal/clock/clocktest"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/health"
)

// Clock is the manual clock that used to live here.
//
// Deprecated: use clocktest.Clock.
type Clock = clocktest.Clock

// NewClock returns a clocktest.Clock reading start.
//
// Deprecated: use clocktest.NewClock.
func NewClock(start time.Time) *Clock { return clocktest.NewClock(start) }

// Call is one run of a check, waiting for the test's answer.
type Call struct {
	Check config.Check
	// Ctx is the run's context, with the check's timeout.
	Ctx   context.Context
	reply chan error
}

// Reply ends the run: nil passes, an error fails.
func (c *Call) Reply(err error) { c.reply <- err }

// Prober is a health.ProbeFunc source whose runs are answered by the test.
// The zero value is not usable; call NewProber.
type Prober struct {
	calls chan *Call
}

// NewProber returns a Prober.
func NewProber() *Prober { return &Prober{calls: make(chan *Call)} }

// Func returns the ProbeFunc to put in health.Deps.Probers. A run blocks
// until the test answers it with Call.Reply, or until its context is done
// (then it returns the context's error).
func (p *Prober) Func() health.ProbeFunc {
	return func(ctx context.Context, c config.Check) error {
		call := &Call{Check: c, Ctx: ctx, reply: make(chan error, 1)}
		select {
		case p.calls <- call:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case err := <-call.reply:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Next returns the next run, or ctx's error if none starts before ctx is
// done.
func (p *Prober) Next(ctx context.Context) (*Call, error) {
	select {
	case c := <-p.calls:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
