package clock_test

import (
	"testing"
	"time"

	"github.com/vipd/vipd/internal/clock"
	"github.com/vipd/vipd/internal/clock/clocktest"
)

// wakerCase runs the behaviour every Waker shares on w; advance moves the
// clock on by d (a sleep for the system clock).
func wakerCase(t *testing.T, w clock.Waker, advance func(time.Duration)) {
	t.Helper()
	fires := func() bool {
		advance(50 * time.Millisecond)
		select {
		case <-w.C():
			return true
		case <-time.After(5 * time.Second):
			return false
		}
	}
	quiet := func() bool {
		advance(50 * time.Millisecond)
		select {
		case <-w.C():
			return false
		case <-time.After(20 * time.Millisecond):
			return true
		}
	}
	w.Set(10 * time.Millisecond)
	if !fires() {
		t.Fatal("armed for 10 ms: no firing within 5 s")
	}
	w.Set(0)
	if !fires() {
		t.Fatal("armed for 0: no firing")
	}
	w.Set(10 * time.Millisecond)
	w.Set(time.Hour)
	if !quiet() {
		t.Error("re-armed for an hour: fired at the first arming's deadline")
	}
	w.Stop()
	if !quiet() {
		t.Error("stopped: fired")
	}
	w.Set(time.Millisecond)
	if !fires() {
		t.Error("armed again after Stop: no firing")
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestWakerSystem(t *testing.T) {
	w := clock.NewWaker(clock.System())
	wakerCase(t, w, time.Sleep)
}

func TestWakerManual(t *testing.T) {
	c := clocktest.NewClock(time.Unix(1000, 0))
	w := clock.NewWaker(c)
	wakerCase(t, w, c.Advance)
	if p := c.Pending(); len(p) != 0 {
		t.Errorf("timers pending after Close: %v", p)
	}
}
