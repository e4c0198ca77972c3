package labnet

import (
	"context"
	"net/netip"
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
	if err := b.AddAddrs(ps...); err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	for _, v := range v4 {
		if err := b.GratuitousARP(v, false, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range v6 {
		if err := b.UnsolicitedNA(v, true, 1); err != nil {
			t.Fatal(err)
		}
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
		if r.MaxGap < r.Outage-r.Outage/2 {
			t.Errorf("%v: max gap %v for an outage of %v", r.VIP, r.MaxGap, r.Outage)
		}
	}
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
