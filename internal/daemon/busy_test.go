package daemon

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/transport/transporttest"
)

// Options.Busy marks work (package procs raises GOMAXPROCS on it): a
// takeover calls it, a master's periodic adverts alone do not.
func TestBusyMarksWorkNotAdverts(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	env := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	var busy atomic.Int64
	d, err := New(Options{Config: testConfig(t, 200, true), Env: env, NoControl: true,
		Logger: failureLog(t, env.ifi.HardwareAddr.String()), Busy: func() { busy.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	a := runNode(t, env, d)
	waitFor(t, "a master", 2*time.Second, func() bool { return a.state(t) == "MASTER" })
	waitFor(t, "a holds both VIPs", 2*time.Second, func() bool { return len(env.addrs.Addresses(2)) == 2 })
	if busy.Load() == 0 {
		t.Fatal("becoming master did not mark the daemon busy")
	}
	// At rest: the count settles while the master keeps advertising
	// (100 ms adverts; the Presenter's last reports come soon after the
	// takeover).
	var before int64
	waitFor(t, "the busy count to settle", 5*time.Second, func() bool {
		before = busy.Load()
		time.Sleep(300 * time.Millisecond)
		return busy.Load() == before
	})
	sent := a.d.Status(t.Context()).Instances[0].Counters.AdvertsSent
	time.Sleep(time.Second)
	if got := a.d.Status(t.Context()).Instances[0].Counters.AdvertsSent; got < sent+3 {
		t.Fatalf("adverts sent %d → %d in 1 s: the master is not advertising", sent, got)
	}
	if n := busy.Load() - before; n != 0 {
		t.Errorf("Busy called %d times in 1 s of adverts at rest, want 0", n)
	}
}
