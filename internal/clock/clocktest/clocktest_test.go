package clocktest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/clock/clocktest"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestClock(t *testing.T) {
	c := clocktest.NewClock(t0)
	b, a := c.NewTimer(2*time.Second), c.NewTimer(time.Second)
	stopped := c.NewTimer(time.Second)
	if got := c.Pending(); !slices.Equal(got, []time.Duration{2 * time.Second, time.Second, time.Second}) {
		t.Fatalf("Pending = %v, want the three durations in creation order", got)
	}
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop: want true once, then false")
	}
	if at, ok := c.Next(); !ok || at != t0.Add(time.Second) {
		t.Errorf("Next = %v %v, want t0+1s", at, ok)
	}
	c.Advance(999 * time.Millisecond)
	select {
	case <-a.C():
		t.Fatal("timer fired early")
	default:
	}
	c.Advance(time.Millisecond)
	select {
	case at := <-a.C():
		if at != t0.Add(time.Second) {
			t.Errorf("fired with %v", at)
		}
	default:
		t.Fatal("timer did not fire at its deadline")
	}
	if got := c.Pending(); !slices.Equal(got, []time.Duration{2 * time.Second}) {
		t.Errorf("Pending = %v, want [2s]", got)
	}
	c.Advance(time.Hour)
	select {
	case <-b.C():
	default:
		t.Fatal("second timer did not fire")
	}
	select {
	case <-stopped.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if b.Stop() {
		t.Error("Stop of a fired timer = true")
	}
	if _, ok := c.Next(); ok {
		t.Error("Next reports a timer after all fired")
	}
	if z := c.NewTimer(0); len(z.C()) != 1 || len(c.Pending()) != 0 {
		t.Error("a zero timer does not fire at once, or is pending")
	}
	if want := t0.Add(time.Hour + time.Second); !c.Now().Equal(want) {
		t.Errorf("Now = %v, want %v", c.Now(), want)
	}
}

func TestWaitTimers(t *testing.T) {
	c := clocktest.NewClock(t0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go c.NewTimer(time.Second)
	if err := c.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	done, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := c.WaitTimers(done, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitTimers with a done context = %v", err)
	}
	if err := c.WaitTimers(done, 1); err != nil {
		t.Errorf("WaitTimers(1) with one pending = %v", err)
	}
}
