package clock_test

import (
	"testing"
	"time"

	"github.com/vipd/vipd/internal/clock"
)

func TestSystem(t *testing.T) {
	c := clock.System()
	before := time.Now()
	if now := c.Now(); now.Before(before) || now.After(time.Now()) {
		t.Errorf("Now = %v, not between %v and now", now, before)
	}
	fired := c.NewTimer(time.Millisecond)
	select {
	case at := <-fired.C():
		if at.Before(before) {
			t.Errorf("fired at %v, before it was made", at)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a 1 ms timer did not fire within 10 s")
	}
	if fired.Stop() {
		t.Error("Stop of a fired timer = true")
	}
	stopped := c.NewTimer(time.Hour)
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop: want true once, then false")
	}
}
