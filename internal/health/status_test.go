package health

import (
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestTrackerRiseFall(t *testing.T) {
	// steps: P = pass, F = fail. want: the state after each step, "p"
	// pending (before any), "H" healthy, "X" failing, with "!" when the
	// step changed it.
	tests := []struct {
		name       string
		rise, fall int
		steps      string
		want       []string
	}{
		{"first pass decides at once", 2, 2, "P", []string{"H!"}},
		{"first fail decides at once", 2, 2, "F", []string{"X!"}},
		{"fall 2", 2, 2, "PFPFFF", []string{"H!", "H", "H", "H", "X!", "X"}},
		{"rise 2", 2, 2, "FPFPPP", []string{"X!", "X", "X", "X", "H!", "H"}},
		{"rise 1 fall 1 flips every time", 1, 1, "PFPF", []string{"H!", "X!", "H!", "X!"}},
		{"fall 3 after a rise", 1, 3, "FPFFPFFF", []string{"X!", "H!", "H", "H", "H", "H", "H", "X!"}},
		{"zero rise/fall act as 1", 0, 0, "PF", []string{"H!", "X!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(config.Check{Name: "c", Type: "tcp", Rise: tt.rise, Fall: tt.fall, Weight: -10})
			if !tr.st.Pending || tr.st.Healthy || !tr.st.Failing() {
				t.Fatalf("initial state %+v, want pending and failing", tr.st)
			}
			at := t0
			for i, step := range tt.steps {
				at = at.Add(time.Second)
				r := Result{Check: "c", Healthy: step == 'P', At: at, Latency: time.Millisecond}
				if !r.Healthy {
					r.Err = "boom " + string(rune('0'+i))
				}
				wasHealthy, since := tr.st.Healthy, tr.st.Since
				changed := tr.observe(r)
				got := "X"
				if tr.st.Healthy {
					got = "H"
				}
				if changed {
					got += "!"
				}
				if got != tt.want[i] {
					t.Fatalf("step %d (%c): got %s, want %s; status %+v", i, step, got, tt.want[i], tr.st)
				}
				switch {
				case tr.st.Pending:
					t.Errorf("step %d: still pending", i)
				case changed && !tr.st.Since.Equal(at):
					t.Errorf("step %d: Since %v, want %v", i, tr.st.Since, at)
				case !changed && (tr.st.Healthy != wasHealthy || !tr.st.Since.Equal(since)):
					t.Errorf("step %d: state moved without a change", i)
				}
				if !tr.st.LastRun.Equal(at) || tr.st.LastLatency != time.Millisecond || tr.st.Runs != uint64(i+1) {
					t.Errorf("step %d: LastRun %v latency %v runs %d", i, tr.st.LastRun, tr.st.LastLatency, tr.st.Runs)
				}
				if !r.Healthy && tr.st.LastErr != r.Err {
					t.Errorf("step %d: LastErr %q, want %q", i, tr.st.LastErr, r.Err)
				}
			}
		})
	}
}

func TestTrackerCounters(t *testing.T) {
	tr := newTracker(config.Check{Name: "c", Rise: 2, Fall: 2})
	for i, step := range "FFPPPF" {
		tr.observe(Result{Healthy: step == 'P', At: t0.Add(time.Duration(i) * time.Second), Err: map[bool]string{true: "", false: "down"}[step == 'P']})
	}
	st := tr.st
	if st.Successes != 0 || st.Failures != 1 || st.Runs != 6 || st.RunFailures != 3 {
		t.Errorf("counters: %+v", st)
	}
	if st.LastErr != "down" {
		t.Errorf("LastErr %q, want the last failure's", st.LastErr)
	}
	// LastErr stays after passes.
	tr.observe(Result{Healthy: true, At: t0.Add(time.Hour)})
	if tr.st.LastErr != "down" || tr.st.Successes != 1 || tr.st.Failures != 0 {
		t.Errorf("after a pass: %+v", tr.st)
	}
}

func TestSummarizeAndEffective(t *testing.T) {
	healthy := func(w int, fault bool) CheckStatus { return CheckStatus{Healthy: true, Weight: w, FaultCheck: fault} }
	failing := func(w int, fault bool) CheckStatus { return CheckStatus{Weight: w, FaultCheck: fault} }
	pending := func(w int, fault bool) CheckStatus { return CheckStatus{Pending: true, Weight: w, FaultCheck: fault} }
	tests := []struct {
		name      string
		checks    []CheckStatus
		delta     int
		fault     bool
		base      uint8
		wantPrio  uint8
		wantFault bool
	}{
		{"no checks", nil, 0, false, 100, 100, false},
		{"all healthy, negative weights", []CheckStatus{healthy(-50, false), healthy(-10, false)}, 0, false, 150, 150, false},
		{"one failing", []CheckStatus{failing(-50, false), healthy(-10, false)}, -50, false, 150, 100, false},
		{"both failing", []CheckStatus{failing(-50, false), failing(-10, false)}, -60, false, 150, 90, false},
		{"pending counts as failing", []CheckStatus{pending(-50, false), pending(0, true)}, -50, true, 150, 100, true},
		{"positive weight while healthy", []CheckStatus{healthy(20, false)}, 20, false, 100, 120, false},
		{"positive weight while failing: nothing", []CheckStatus{failing(20, false)}, 0, false, 100, 100, false},
		{"zero weight reports only", []CheckStatus{failing(0, false)}, 0, false, 100, 100, false},
		{"fault check failing", []CheckStatus{failing(0, true), healthy(-10, false)}, 0, true, 100, 100, true},
		{"fault check healthy", []CheckStatus{healthy(0, true)}, 0, false, 100, 100, false},
		{"clamped at 1", []CheckStatus{failing(-254, false)}, -254, false, 100, 1, false},
		{"clamped at 254, never owner", []CheckStatus{healthy(254, false), healthy(254, false)}, 508, false, 250, 254, false},
		{"254 stays below the owner", []CheckStatus{healthy(10, false)}, 10, false, 254, 254, false},
		{"owner never changes", []CheckStatus{failing(-100, false)}, -100, false, 255, 255, false},
		{"owner goes to fault", []CheckStatus{failing(0, true)}, 0, true, 255, 255, true},
		{"1 stays 1", []CheckStatus{failing(-1, false)}, -1, false, 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarize(tt.checks)
			if s.PriorityDelta != tt.delta || s.Fault != tt.fault {
				t.Fatalf("summarize: delta %d fault %v, want %d %v", s.PriorityDelta, s.Fault, tt.delta, tt.fault)
			}
			prio, fault := Effective(tt.base, s)
			if prio != tt.wantPrio || fault != tt.wantFault {
				t.Errorf("Effective(%d) = %d, %v; want %d, %v", tt.base, prio, fault, tt.wantPrio, tt.wantFault)
			}
		})
	}
}
