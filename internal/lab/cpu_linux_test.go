package lab

import (
	"os"
	"testing"
	"time"
)

func TestStatTicks(t *testing.T) {
	// A command with spaces and parentheses; utime 7, stime 5.
	line := "4242 (vipd (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 7 5 0 0 20 0 9 0 100 0 0"
	got, err := statTicks(line)
	if err != nil || got != 12 {
		t.Fatalf("statTicks = %d, %v; want 12", got, err)
	}
	for _, bad := range []string{"", "4242 (vipd S 1", "1 (a) S 1 2 3 4 5 6 7 8 9 10 x 5 0"} {
		if _, err := statTicks(bad); err == nil {
			t.Errorf("statTicks(%q): no error", bad)
		}
	}
}

func TestSchedRuntime(t *testing.T) {
	before, ok := schedRuntime(os.Getpid())
	if !ok {
		t.Fatal("no /proc/PID/task/*/schedstat: the lab's idle CPU falls back to 10 ms ticks")
	}
	for deadline := time.Now().Add(20 * time.Millisecond); time.Now().Before(deadline); {
	}
	after, _ := schedRuntime(os.Getpid())
	if after <= before {
		t.Errorf("schedstat runtime did not grow while spinning: %v → %v", before, after)
	}
}
