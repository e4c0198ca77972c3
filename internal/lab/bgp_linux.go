package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/labnet"
	"github.com/vipd/vipd/internal/present"
)

// Timeouts of routed mode's phases before the fault.
const (
	// birdTimeout bounds BIRD's start (its control socket appears).
	birdTimeout = 10 * time.Second
	// birdHoldExpired is what BIRD logs when a session's hold timer
	// expires: the router noticed a dead node.
	birdHoldExpired = "Hold timer expired"
	// bgpUpTimeout bounds a node's sessions coming up and its routes
	// being verified: GoBGP retries a refused connection after 5 to 10 s.
	bgpUpTimeout = 30 * time.Second
)

// routedPair is vipd in routed mode on both nodes, with BIRD on the
// router: BIRD's exit is a failure like B's.
type routedPair struct {
	*vipdPair
	bird     *proc
	birdConf string
}

func (p *routedPair) check(faulted bool) error {
	if p.bird != nil && p.bird.exited() {
		return p.bird.failure()
	}
	return p.vipdPair.check(faulted)
}

func (p *routedPair) stop() {
	p.vipdPair.stop()
	if p.bird != nil {
		p.bird.kill()
	}
}

func (p *routedPair) logs() string {
	s := p.vipdPair.logs()
	if p.bird != nil {
		s += "--- " + p.bird.name + " ---\n" + p.bird.output()
	}
	return s
}

func (p *routedPair) save(ctx context.Context, dir, prefix string) error {
	err := p.vipdPair.save(ctx, dir, prefix)
	files := []savedFile{{name: "bird.conf", from: p.birdConf}}
	if p.bird != nil {
		files = append(files, savedFile{name: "bird.log", data: p.bird.output()})
	}
	return errors.Join(err, saveFiles(dir, prefix, files))
}

// maintenance puts node i in maintenance.
func (p *routedPair) maintenance(ctx context.Context, i int) error {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	req, err := control.NewRequest(control.CommandMaintenance, map[string]bool{"on": true})
	if err != nil {
		return err
	}
	resp, err := control.Call(ctx, p.sockets[i], req)
	if err == nil {
		err = resp.Err()
	}
	if err != nil {
		return fmt.Errorf("lab: maintenance on %s: %w", p.nodes[i].Name, err)
	}
	return nil
}

// routes counts node i's VIPs in route state want (its status, cached as
// vipdPair.instance caches it).
func (p *routedPair) routes(ctx context.Context, i int, want string) int {
	in, ok := p.instance(ctx, i)
	if !ok {
		return 0
	}
	n := 0
	for _, v := range in.VIPs {
		if v.Route == want {
			n++
		}
	}
	return n
}

// routeStates returns B's route state per VIP, for the report.
func (p *routedPair) routeStates(ctx context.Context) map[netip.Addr]vipReport {
	st, _, err := p.status(ctx, 1)
	if err != nil {
		return nil
	}
	out := map[netip.Addr]vipReport{}
	for _, in := range st.Instances {
		for _, v := range in.VIPs {
			if a, ok := parseAddrOrPrefix(v.Address); ok {
				out[a] = vipReport{Verification: v.Route}
			}
		}
	}
	return out
}

// startBird starts BIRD in the router's namespace and waits for its
// control socket.
func (p *routedPair) startBird(ctx context.Context, l *labnet.Lab, dir string, ipv6 bool) error {
	if _, err := exec.LookPath("bird"); err != nil {
		return fmt.Errorf("lab: mode bgp runs BIRD 2 as the router: %w (Debian: apt-get install bird2)", err)
	}
	text, err := birdConfig(l, ipv6).Render()
	if err != nil {
		return err
	}
	p.birdConf = filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(p.birdConf, []byte(text), 0o644); err != nil {
		return fmt.Errorf("lab: write bird config: %w", err)
	}
	sock := filepath.Join(dir, "bird.ctl")
	if p.bird, err = startProc(l.Router.NS, "bird on router", []string{birdHoldExpired}, "bird", "-f", "-c", p.birdConf, "-s", sock); err != nil {
		return err
	}
	deadline := time.Now().Add(birdTimeout)
	for {
		if _, err := os.Stat(sock); err == nil {
			return nil
		}
		if p.bird.exited() {
			return p.bird.failure()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab: bird's control socket %s missing after %v\n%s", sock, birdTimeout, tail(p.bird.output(), 4000))
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// onceBGP runs the scenario one time in routed mode: BIRD on the router,
// vipd with mode: bgp on both nodes, the fault on A, the client probing.
func (r *runner) onceBGP(ctx context.Context, run int) (res RunResult, err error) {
	o, pr := r.o, r.o.Progress
	res.Run = run
	t, err := r.newTrial(ctx, &res, labnet.Options{}, fmt.Sprintf("%s-bgp-%d-", Vipd, run))
	if err != nil {
		return res, err
	}
	defer func() { err = t.end(err) }()
	l, dir := t.l, t.dir

	vips, err := bgpVIPs(o.VIPs, o.IPv6)
	if err != nil {
		return res, err
	}
	a, b := l.Nodes[0], l.Nodes[1]
	peer, a4, a6, b4, b6 := l.Router.Addr4.Addr(), a.Addr4.Addr(), a.Addr6.Addr(), b.Addr4.Addr(), b.Addr6.Addr()
	if o.IPv6 {
		peer = l.Router.Addr6.Addr()
	}
	var cs [2]nodeConfig
	for i, h := range []*labnet.Host{a, b} {
		cs[i] = nodeConfig{Node: h.Name, Iface: h.Iface, Priority: priorityB, VIPs: vips,
			Socket: filepath.Join(dir, "vipd-"+h.Name+".sock"), StateDir: filepath.Join(dir, "state-"+h.Name),
			VIPsLabel: "BGP peer " + peer.String()}
	}
	cs[0].Priority = priorityA
	// With --fault check, A's health check passes while flag is absent.
	flag := filepath.Join(dir, "a-check-fails")
	vp, err := newVipdPairWith(o.Exe, dir, [2]*labnet.Host{a, b}, cs, func(c nodeConfig) string {
		check := ""
		if o.Fault == CheckFails && c.Node == a.Name {
			check = "test ! -e " + flag
		}
		return vipdRoutedConfig(c, peer, o.HoldTime, check)
	})
	if err != nil {
		return res, err
	}
	ds := &routedPair{vipdPair: vp}
	t.ds = ds
	prefixes := make([]netip.Prefix, len(vips))
	for i, v := range vips {
		prefixes[i] = labnet.HostPrefix(v)
	}
	rw, err := l.Router.WatchRoutes(prefixes)
	if err != nil {
		return res, err
	}
	t.closers = append(t.closers, func() { rw.Close() })

	pr.Phase(PhaseElecting, "namespaces "+l.Prefix+"-*, BIRD on the router")
	started := time.Now()
	if err := ds.startBird(ctx, l, dir, o.IPv6); err != nil {
		return res, err
	}
	// A first: the router's routes start on A and stay there.
	if err := ds.start(0); err != nil {
		return res, err
	}
	n := len(vips)
	err = r.waitFor(ctx, bgpUpTimeout, "A's routes at the router", ds, false, func() (bool, string) {
		via := rw.Count(a4, a6)
		here := ds.routes(ctx, 0, present.RouteBestHere)
		return via == n && here == n, fmt.Sprintf("routes via A: %d/%d at the router, %d/%d verified by A", via, n, here, n)
	})
	if err != nil {
		return res, err
	}
	if err := ds.start(1); err != nil {
		return res, err
	}
	err = r.waitFor(ctx, bgpUpTimeout, "B to stand by (every VIP best elsewhere)", ds, false, func() (bool, string) {
		k := ds.routes(ctx, 1, present.RouteBestElsewhere)
		return k == n, fmt.Sprintf("B: %d/%d VIPs best elsewhere", k, n)
	})
	if err != nil {
		return res, err
	}
	res.ElectMS = ms(time.Since(started))
	if err := t.idle(ctx, a, b); err != nil {
		return res, err
	}
	kw, err := watchBGP(l.Router, a, o.IPv6)
	if err != nil {
		return res, err
	}
	t.closers = append(t.closers, kw.close)
	if err := t.probe(ctx, vips); err != nil {
		return res, err
	}
	if err := r.steadyBGP(ctx, t.p, ds, rw, a4, a6, n); err != nil {
		return res, err
	}

	// The fault right after one of A's BGP messages: the router then
	// waits a whole hold time for the next.
	last, err := kw.next(ctx, o.HoldTime+time.Second)
	if err != nil {
		return res, err
	}
	fault := time.Now()
	res.FaultAfterKeepaliveMS = ms(fault.Sub(last))
	switch o.Fault {
	case SIGTERM:
		pr.Phase(PhaseFault, "A: SIGTERM to vipd")
		if err := ds.procs[0].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return res, fmt.Errorf("lab: SIGTERM to A's vipd: %w", err)
		}
	case Maintenance:
		pr.Phase(PhaseFault, "A: maintenance on")
		if err := ds.maintenance(ctx, 0); err != nil {
			return res, err
		}
	case CheckFails:
		pr.Phase(PhaseFault, "A: health check failing")
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			return res, fmt.Errorf("lab: fail A's health check: %w", err)
		}
	default:
		pr.Phase(PhaseFault, "A: switch port down, processes killed")
		if err := t.powerOff(a); err != nil {
			return res, err
		}
	}

	var (
		takeover time.Time
		tookOver bool
	)
	results, err := t.watch(ctx, fault, func(now time.Time, rs []labnet.VIPResult) (string, bool) {
		takeover, tookOver = rw.AllVia(b4, b6)
		rec, lastBack := recovered(rs, fault)
		// B's own view: it verifies its routes as the standby it was
		// every few seconds, so the watch also waits (within o.Watch) for
		// B to report every VIP best here.
		verified := ds.routes(ctx, 1, present.RouteBestHere)
		detail := fmt.Sprintf("routes via B %d/%d · recovered %d/%d", rw.Count(b4, b6), n, rec, len(rs))
		if tookOver {
			detail = fmt.Sprintf("routes via B after %s · recovered %d/%d · best here at B %d/%d",
				fmtSeconds(ms(takeover.Sub(fault))), rec, len(rs), verified, n)
		}
		return detail, tookOver && rec == len(rs) && verified == n && now.Sub(takeover) >= settle && now.Sub(lastBack) >= settle
	})
	if err != nil {
		return res, err
	}
	if err := rw.Err(); err != nil {
		return res, fmt.Errorf("lab: the router's route notifications: %w", err)
	}
	res.TakeoverMS = -1
	if tookOver {
		res.TakeoverMS = ms(takeover.Sub(fault))
	}
	res.RouteChanges = rw.Changes(fault)
	if t, ok := ds.bird.firstAfter(birdHoldExpired, fault); ok {
		res.HoldExpiredMS = msPtr(t.Sub(fault))
	}
	res.RouterDrops = routerDrops(ctx, l)
	res.VIPs = outcomes(results, nil, fault, takeover, tookOver, ds.routeStates(ctx))
	res.finish()
	return res, nil
}

// steadyBGP waits until the client reaches every VIP, the router's routes
// point at A and B stands by, for baseline without a break.
func (r *runner) steadyBGP(ctx context.Context, p *labnet.Prober, ds *routedPair, rw *labnet.RouteWatch, a4, a6 netip.Addr, n int) error {
	deadline := time.Now().Add(reachBase)
	var steady time.Time
	for {
		ok := p.AllReachable() && rw.Count(a4, a6) == n && ds.routes(ctx, 1, present.RouteBestElsewhere) == n
		switch {
		case !ok:
			steady = time.Time{}
		case steady.IsZero():
			steady = time.Now()
		}
		if ok && time.Since(steady) >= baseline {
			return nil
		}
		if err := ds.check(false); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab: no steady state before the fault within %v: routes via A %d/%d, B best elsewhere %d/%d, "+
				"client reaches all: %v\n%s", reachBase, rw.Count(a4, a6), n, ds.routes(ctx, 1, present.RouteBestElsewhere), n,
				p.AllReachable(), tail(ds.logs(), 6000))
		}
		r.o.Progress.Update("waiting for the client to reach every VIP through A")
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}
