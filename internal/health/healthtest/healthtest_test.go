package healthtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestClock(t *testing.T) {
	c := NewClock(start)
	a, b := c.NewTimer(time.Second), c.NewTimer(3*time.Second)
	if got := c.Pending(); len(got) != 2 || got[0] != time.Second || got[1] != 3*time.Second {
		t.Fatalf("Pending = %v", got)
	}
	c.Advance(999 * time.Millisecond)
	select {
	case <-a.C():
		t.Fatal("fired early")
	default:
	}
	c.Advance(time.Millisecond)
	select {
	case at := <-a.C():
		if !at.Equal(start.Add(time.Second)) {
			t.Errorf("fired at %v", at)
		}
	default:
		t.Fatal("did not fire")
	}
	if !b.Stop() || b.Stop() || len(c.Pending()) != 0 {
		t.Errorf("Stop: pending %v", c.Pending())
	}
	c.Advance(time.Hour)
	select {
	case <-b.C():
		t.Error("stopped timer fired")
	default:
	}
	if z := c.NewTimer(0); len(c.Pending()) != 0 {
		t.Error("zero timer pending")
	} else {
		<-z.C()
	}
	if !c.Now().Equal(start.Add(time.Hour + time.Second)) {
		t.Errorf("Now = %v", c.Now())
	}
}

func TestClockWaitTimers(t *testing.T) {
	c := NewClock(start)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go c.NewTimer(time.Second)
	if err := c.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := c.WaitTimers(short, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitTimers with a done context = %v", err)
	}
}

func TestProber(t *testing.T) {
	p := NewProber()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	boom := errors.New("boom")
	errc := make(chan error, 1)
	go func() { errc <- p.Func()(ctx, config.Check{Name: "a"}) }()
	call, err := p.Next(ctx)
	if err != nil || call.Check.Name != "a" {
		t.Fatalf("Next = %+v, %v", call, err)
	}
	call.Reply(boom)
	if err := <-errc; err != boom {
		t.Errorf("run returned %v", err)
	}

	// A run whose context ends unanswered returns the context's error.
	rctx, rcancel := context.WithCancel(ctx)
	go func() { errc <- p.Func()(rctx, config.Check{Name: "b"}) }()
	if _, err := p.Next(ctx); err != nil {
		t.Fatal(err)
	}
	rcancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run returned %v", err)
	}
}
