package labnet

import (
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// TestIntegrationProberHandFailover moves 10 IPv4 and 10 IPv6 VIPs from
// node a to node b by hand after powering a off, and announces them from b:
// the prober sees every VIP go and come back.
func TestIntegrationProberHandFailover(t *testing.T) {
	l := newLab(t, Options{})
	a, b := l.Nodes[0], l.Nodes[1]
	v4, _ := l.VIPs4(10)
	v6, _ := l.VIPs6(10)
	vips := append(append([]netip.Addr{}, v4...), v6...)
	var ps []netip.Prefix
	for _, v := range vips {
		ps = append(ps, HostPrefix(v))
	}
	if err := a.AddAddrs(ps...); err != nil {
		t.Fatal(err)
	}
	goroutines := runtime.NumGoroutine()
	p, err := l.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	defer p.Stop()
	waitFor(t, 5*time.Second, "all VIPs reachable on a", func() (bool, error) { return p.AllReachable(), nil })

	fault := time.Now()
	if err := l.PortDown(a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "VIPs unreachable after powering a off", func() (bool, error) {
		for _, v := range vips {
			if p.Reachable(v) {
				return false, nil
			}
		}
		return true, nil
	})
	// No reply for 100 ms by now, and none until the VIPs move.
	gone := time.Now()
	if err := b.AddAddrs(ps...); err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	if err := b.GratuitousARP(false, 1, v4...); err != nil {
		t.Fatal(err)
	}
	if err := b.UnsolicitedNA(true, 1, v6...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "all VIPs recovered on b", func() (bool, error) { return allRecovered(p, fault, 100*time.Millisecond), nil })
	p.Stop()
	for _, r := range p.Results(fault) {
		if !r.Recovered {
			t.Errorf("%v: not recovered: %+v", r.VIP, r)
			continue
		}
		if r.Outage < moved.Sub(fault) || r.Recovery.Before(moved) {
			t.Errorf("%v: outage %v ended before the VIP moved (%v after the fault)", r.VIP, r.Outage, moved.Sub(fault))
		}
		if r.FirstLoss.IsZero() || r.FirstLoss.Before(fault) {
			t.Errorf("%v: first loss %v, want after the fault", r.VIP, r.FirstLoss)
		}
		if r.MaxGap < moved.Sub(gone) {
			t.Errorf("%v: max gap %v, but no reply could come for %v", r.VIP, r.MaxGap, moved.Sub(gone))
		}
	}
	waitFor(t, 5*time.Second, "the prober's goroutines end", func() (bool, error) {
		return runtime.NumGoroutine() <= goroutines, nil
	})
	st := p.Stats()
	t.Logf("outage of %v: %+v; stats %+v", vips[0], p.Results(fault)[0], st)
	if st.SendErrors != 0 {
		t.Errorf("%d send errors", st.SendErrors)
	}
}

// allRecovered reports whether every VIP recovered after since and has
// answered for at least d since.
func allRecovered(p *Prober, since time.Time, d time.Duration) bool {
	for _, r := range p.Results(since) {
		if !r.Recovered || r.LastReply.Sub(r.Recovery) < d {
			return false
		}
	}
	return true
}

// TestIntegrationProberScale probes 4096 VIPs on the RFC 2544 LAN, powers
// their node off, moves them to the other node by hand and announces them:
// the prober keeps up (at MaxPPS) and sees every one recover.
func TestIntegrationProberScale(t *testing.T) {
	const n = 4096
	skipUnlessRoot(t)
	if testing.Short() {
		t.Skip("4096 VIPs: not in -short")
	}
	if err := RaiseNeighLimits(n); err != nil {
		t.Fatal(err)
	}
	l := newLab(t, Options{LAN4: BenchLAN4})
	a, b := l.Nodes[0], l.Nodes[1]
	vips, err := l.VIPs4(n)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]netip.Prefix, n)
	for i, v := range vips {
		ps[i] = HostPrefix(v)
	}
	start := time.Now()
	if err := a.AddAddrs(ps...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d addresses added in %v", n, time.Since(start))

	p, err := l.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Interval(), 204800*time.Microsecond; got != want {
		t.Errorf("interval %v, want %v", got, want)
	}
	p.Start(context.Background())
	defer p.Stop()
	start = time.Now()
	waitFor(t, 10*time.Second, "all VIPs reachable", func() (bool, error) { return p.AllReachable(), nil })
	t.Logf("all %d VIPs reachable %v after start", n, time.Since(start))
	// Measure the steady rate over two seconds. The schedule is absolute, so
	// a sender that fell behind catches up, but never by more than a round.
	s0, t0 := p.Stats(), time.Now()
	waitFor(t, 5*time.Second, "two seconds of probing", func() (bool, error) { return time.Since(t0) >= 2*time.Second, nil })
	s1, t1 := p.Stats(), time.Now()
	sec := t1.Sub(t0).Seconds()
	sent, recv := float64(s1.Sent-s0.Sent), float64(s1.Received-s0.Received)
	t.Logf("steady: %.0f probes/s sent, %.0f replies/s", sent/sec, recv/sec)
	if sent > MaxPPS*sec+n || sent < 0.8*MaxPPS*sec {
		t.Errorf("sent %.0f probes in %.2f s, want %d per second (plus at most one round of %d)", sent, sec, MaxPPS, n)
	}

	fault := time.Now()
	if err := l.PortDown(a); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAddrs(ps...); err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	if err := b.GratuitousARP(false, 1, vips...); err != nil {
		t.Fatal(err)
	}
	t.Logf("moved and announced %d VIPs in %v", n, time.Since(moved))
	waitFor(t, 20*time.Second, "all VIPs recovered on b", func() (bool, error) {
		return allRecovered(p, fault, 4*p.Interval()), nil
	})
	p.Stop()
	var worst time.Duration
	for _, r := range p.Results(fault) {
		worst = max(worst, r.Outage)
		// Every VIP had at least one probe in flight while it was nowhere
		// (from the fault to the announcement, longer than an interval).
		if r.FirstLoss.IsZero() || r.Outage < moved.Sub(fault) {
			t.Errorf("%v: outage %v, first loss %v; want an outage of at least %v", r.VIP, r.Outage, r.FirstLoss, moved.Sub(fault))
		}
	}
	st := p.Stats()
	t.Logf("worst outage %v; prober %+v", worst, st)
	if st.SendErrors != 0 {
		t.Errorf("%d send errors, last %v", st.SendErrors, st.LastSendError)
	}
}
