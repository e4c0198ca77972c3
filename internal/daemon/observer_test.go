package daemon

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/metrics"
	"github.com/vipd/vipd/internal/transport/transporttest"
	"github.com/vipd/vipd/internal/vrrp"
)

func TestFailoverReason(t *testing.T) {
	now := time.Unix(1000, 0)
	const mdi = 400 * time.Millisecond
	for _, tc := range []struct {
		name       string
		reason     fsm.Reason
		preempting bool
		lastHeard  time.Time
		want       string
	}{
		{"start-up election: no master ever heard", fsm.ReasonMasterDown, false, time.Time{}, ""},
		{"address owner starting", fsm.ReasonOwner, false, time.Time{}, ""},
		{"master went silent", fsm.ReasonMasterDown, false, now.Add(-mdi), metrics.FailoverMasterDown},
		{"master heard long ago (fault cleared, nobody around)", fsm.ReasonMasterDown, false, now.Add(-time.Hour), ""},
		{"master resigned", fsm.ReasonMasterResigned, false, now.Add(-50 * time.Millisecond), metrics.FailoverResigned},
		{"preempting a lower-priority master", fsm.ReasonMasterDown, true, now.Add(-mdi), metrics.FailoverPreempted},
	} {
		if got := failoverReason(tc.reason, tc.preempting, tc.lastHeard, now, mdi); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestEveryDropReasonFromTheStart: status (and so the metrics) lists each
// drop reason at 0 before any packet was dropped.
func TestEveryDropReasonFromTheStart(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	rec := &declared{}
	cfg := testConfig(t, 200, true)
	d, err := New(Options{Config: cfg, Env: newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11"), NoControl: true,
		Logger: failureLog(t, "a"), Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	n := runNode(t, nil, d)
	waitFor(t, "master", 2*time.Second, func() bool { return n.state(t) == "MASTER" })
	drops := d.Status(context.Background()).Instances[0].Counters.Drops
	for _, r := range vrrp.AllDropReasons() {
		k := r.String()
		if slices.Contains(linkDropReasons, r) {
			k = "link_" + k
		}
		if v, ok := drops[k]; !ok || v != 0 {
			t.Errorf("drops[%s] = %d, present %v; want 0", k, v, ok)
		}
	}
	if _, ok := drops[queueFull]; !ok {
		t.Errorf("no %s in %v", queueFull, drops)
	}
	rec.check(t, cfg.Instances[0].Name, []string{"gratuitous_request", "gratuitous_reply", "directed_request", "unicast_reply"})
}

// declared records DeclareInstance.
type declared struct {
	nopObserver
	mu    sync.Mutex // guards calls
	calls map[string][]string
}

func (r *declared) DeclareInstance(instance string, kinds, vips, checks []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string][]string{}
	}
	r.calls[instance] = kinds
}

func (r *declared) check(t *testing.T, instance string, kinds []string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := r.calls[instance]; !slices.Equal(got, kinds) {
		t.Errorf("declared kinds of %s: %v, want %v", instance, got, kinds)
	}
}

// nonZeroDrops keeps the drop counters that counted something: status
// lists every reason, at 0 until it happens.
func nonZeroDrops(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
