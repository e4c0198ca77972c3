package sdnotify

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestWatchdogInterval(t *testing.T) {
	const self = 4242
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"10000000", "", 10 * time.Second, true},
		{"10000000", "4242", 10 * time.Second, true},
		{"10000000", "1", 0, false},            // inherited from another process
		{"10000000", "abc", 0, false},          // malformed PID
		{"0", "4242", 0, false},                // disabled
		{"-5", "", 0, false},                   // malformed
		{"1.5", "", 0, false},                  // malformed
		{"18446744073709551615", "", 0, false}, // overflows time.Duration
		{"500", "", 500 * time.Microsecond, true},
	}
	for _, tt := range tests {
		got, ok := watchdogInterval(tt.usec, tt.pid, self)
		if got != tt.want || ok != tt.ok {
			t.Errorf("watchdogInterval(%q, %q) = %v, %v; want %v, %v", tt.usec, tt.pid, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWatchdogIntervalEnv(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "10000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	if d, ok := WatchdogInterval(); d != 10*time.Second || !ok {
		t.Errorf("WatchdogInterval = %v, %v; want 10s, true", d, ok)
	}
}

// TestWatchdogLoop drives the loop with a hand-fed ticker: it pings at
// once and on each tick, skips the ping when the liveness check fails,
// stops on a ping error and returns nil when ctx is done.
func TestWatchdogLoop(t *testing.T) {
	deadline := time.After(10 * time.Second)
	tick := make(chan time.Time)
	pings := make(chan struct{})
	answers := make(chan error)
	pingErr := make(chan error, 1)
	pingErr <- nil

	alive := func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("liveness check without a deadline")
		}
		select {
		case err := <-answers:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ping := func() error {
		pings <- struct{}{}
		err := <-pingErr
		pingErr <- err
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- watchdogLoop(ctx, tick, time.Minute, alive, ping) }()

	answer := func(err error) {
		t.Helper()
		select {
		case answers <- err:
		case <-pings:
			t.Fatal("pinged before the liveness check")
		case <-deadline:
			t.Fatal("liveness check not called")
		}
	}
	wantPing := func() {
		t.Helper()
		select {
		case <-pings:
		case <-deadline:
			t.Fatal("no ping")
		}
	}
	sendTick := func() {
		t.Helper()
		select {
		case tick <- time.Now():
		case <-pings:
			t.Fatal("pinged although the liveness check failed")
		case <-deadline:
			t.Fatal("loop does not take ticks")
		}
	}

	answer(nil) // at once
	wantPing()
	sendTick()
	answer(nil)
	wantPing()
	sendTick()
	answer(errors.New("main loop stuck"))
	sendTick() // no ping in between
	answer(nil)
	wantPing()
	sendTick()

	// A failing ping ends the loop with the error.
	<-pingErr
	pingErr <- errors.New("connection refused")
	answer(nil)
	wantPing()
	select {
	case err := <-done:
		if err == nil || err.Error() != "sdnotify: watchdog: connection refused" {
			t.Errorf("watchdogLoop = %v, want sdnotify: watchdog: connection refused", err)
		}
	case <-deadline:
		t.Fatal("loop did not stop on a ping error")
	}

	// Cancelling ends a healthy loop with nil.
	<-pingErr
	pingErr <- nil
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- watchdogLoop(ctx2, tick, time.Minute, nil, ping) }()
	wantPing()
	cancel2()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("watchdogLoop after cancel = %v, want nil", err)
		}
	case <-deadline:
		t.Fatal("loop did not stop on cancel")
	}
}

// TestWatchdog runs the exported loop against a manager socket with a
// 20 ms watchdog: pings arrive, and cancel stops it.
func TestWatchdog(t *testing.T) {
	recv := managerSocket(t)
	t.Setenv("WATCHDOG_USEC", "20000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watchdog(ctx) }()
	for i := range 3 {
		if got := recv(); got != "WATCHDOG=1" {
			t.Fatalf("message %d: %q, want WATCHDOG=1", i, got)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watchdog = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watchdog did not return after cancel")
	}
}

func TestWatchdogDisabled(t *testing.T) {
	managerSocket(t)
	tests := []struct{ usec, pid string }{
		{"", ""},
		{"20000", "1"},
	}
	for _, tt := range tests {
		t.Setenv("WATCHDOG_USEC", tt.usec)
		t.Setenv("WATCHDOG_PID", tt.pid)
		// A context that never ends: Watchdog must return by itself.
		done := make(chan error, 1)
		go func() { done <- Watchdog(context.Background()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watchdog(usec %q, pid %q) = %v, want nil", tt.usec, tt.pid, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Watchdog(usec %q, pid %q) runs, want an immediate return", tt.usec, tt.pid)
		}
	}
}
