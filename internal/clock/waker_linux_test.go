package clock

import "testing"

func TestWakerSystemIsTimerfd(t *testing.T) {
	w := NewWaker(System())
	fw, ok := w.(*fdWaker)
	if !ok {
		t.Fatalf("NewWaker(System()) = %T, want a timerfd", w)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-fw.done:
	default:
		t.Error("the timerfd reader still runs after Close")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
