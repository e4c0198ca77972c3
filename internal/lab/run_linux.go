package lab

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// Timeouts of the phases before the fault.
const (
	buildTimeout = 60 * time.Second
	electBase    = 15 * time.Second // plus 4 advertisement intervals
	killTimeout  = 5 * time.Second
)

// Run runs the scenario: for each of o.Runs runs, each implementation on a
// lab of its own. It removes the namespaces of crashed earlier runs first
// and every namespace it made before it returns, also when ctx is cancelled
// (the error is then ctx's, and the report holds the runs that finished).
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("lab: find the vipd binary: %w", err)
		}
		o.Exe = exe
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rep := newReport(o)
	rep.Host = hostInfo(o.Version)
	rep.LoadStart = loadAvg()
	defer func() { rep.LoadEnd = loadAvg() }()
	n, err := cleanupStale()
	rep.StaleRemoved = n
	if err != nil {
		return rep, err
	}
	if n > 0 {
		o.Progress.Note("removed %d namespaces left behind by a crashed run", n)
	}
	if o.VIPs > 100 {
		// Thousands of neighbour entries on the router: above the kernel's
		// default gc_thresh3 of 1024.
		if err := labnet.RaiseNeighLimits(o.VIPs); err != nil {
			return rep, err
		}
	}
	r := &runner{o: o, log: log}
	for _, im := range o.Impls {
		ir := ImplReport{Name: string(im), Runs: []RunResult{}}
		if im == Keepalived && rep.Host.Keepalived == "" {
			ir.Skipped = "keepalived is not installed"
			o.Progress.Note("keepalived is not installed: comparing with nothing")
		}
		rep.Impls = append(rep.Impls, ir)
	}
	for run := 1; run <= o.Runs; run++ {
		for i := range rep.Impls {
			ir := &rep.Impls[i]
			if ir.Skipped != "" {
				continue
			}
			o.Progress.Begin(fmt.Sprintf("%s %d/%d", ir.Name, run, o.Runs))
			res, err := r.once(ctx, Impl(ir.Name), run)
			if err != nil {
				o.Progress.Finish()
				for i := range rep.Impls {
					rep.Impls[i].summarize()
				}
				return rep, err
			}
			ir.Runs = append(ir.Runs, res)
			o.Progress.Done(res.summaryLine())
		}
	}
	o.Progress.Finish()
	for i := range rep.Impls {
		rep.Impls[i].summarize()
	}
	return rep, nil
}

type runner struct {
	o   Options
	log *slog.Logger
}

// once runs the scenario one time for one implementation.
func (r *runner) once(ctx context.Context, im Impl, run int) (res RunResult, err error) {
	if r.o.routed() {
		return r.onceBGP(ctx, run)
	}
	o, pr := r.o, r.o.Progress
	res.Run = run
	t, err := r.newTrial(ctx, &res, labnet.Options{LAN4: lan4(o.VIPs)}, fmt.Sprintf("%s-%d-", im, run))
	if err != nil {
		return res, err
	}
	defer func() { err = t.end(err) }()
	l := t.l

	var vips []netip.Addr
	bits := l.LAN4.Bits()
	if o.IPv6 {
		vips, err = l.VIPs6(o.VIPs)
		bits = l.LAN6.Bits()
	} else {
		vips, err = l.VIPs4(o.VIPs)
	}
	if err != nil {
		return res, err
	}
	aff := affected(o.Router, len(vips), o.StickyFraction)
	var special []netip.Addr
	for i, v := range vips {
		if aff[i] {
			special = append(special, v)
		}
	}
	// Before the router learns any VIP: Sticky's timers apply to new entries.
	if err := l.SetRouterBehaviour(o.Router, special, o.routerParam()); err != nil {
		return res, err
	}

	a, b := l.Nodes[0], l.Nodes[1]
	var cs [2]nodeConfig
	for i, h := range []*labnet.Host{a, b} {
		cs[i] = nodeConfig{Node: h.Name, Iface: h.Iface, Priority: priorityB, Advert: o.Advert, VIPs: vips, Bits: bits,
			Socket: filepath.Join(t.dir, "vipd-"+h.Name+".sock"), StateDir: filepath.Join(t.dir, "state-"+h.Name), Rate: o.AnnounceRate, VIPsLabel: "router " + o.Router.String(),
			VirtualMAC: o.VirtualMAC}
		if o.VirtualMAC && im == Keepalived {
			// keepalived raises the parent's arp_ignore for use_vmac but
			// not arp_announce: without it the router learns a VIP at the
			// parent's MAC from the node's own requests (vipd sets both).
			if _, err := h.Run(ctx, "sysctl", "-qw", "net.ipv4.conf."+h.Iface+".arp_announce=2"); err != nil {
				return res, err
			}
		}
	}
	cs[0].Priority = priorityA
	var ds pair
	switch im {
	case Vipd:
		ds, err = newVipdPair(o.Exe, t.dir, [2]*labnet.Host{a, b}, cs)
	case Keepalived:
		ds, err = newKeepalivedPair(t.dir, [2]*labnet.Host{a, b}, cs)
	default:
		err = fmt.Errorf("lab: unknown implementation %q", im)
	}
	if err != nil {
		return res, err
	}
	t.ds = ds

	pr.Phase(PhaseElecting, "namespaces "+l.Prefix+"-*")
	// A first, alone, so that B never wins a start-up race: a B that was
	// master for a moment would have told the router its MAC.
	started := time.Now()
	elect := electBase + 4*o.Advert
	if err := ds.start(0); err != nil {
		return res, err
	}
	err = r.waitFor(ctx, elect, "A to own every VIP", ds, false, func() (bool, string) {
		if ds.state(ctx, 0) != "MASTER" {
			return false, "waiting for A to become master"
		}
		holds := a.HasAddrs
		if o.VirtualMAC {
			holds = a.HoldsAddrs // on the virtual MAC interface
		}
		ok, _ := holds(vips...)
		return ok, "waiting for the VIPs on A"
	})
	if err != nil {
		return res, err
	}
	if err := ds.start(1); err != nil {
		return res, err
	}
	err = r.waitFor(ctx, elect, "B to be backup", ds, false, func() (bool, string) {
		return ds.state(ctx, 1) == "BACKUP", "waiting for B to be backup"
	})
	if err != nil {
		return res, err
	}
	res.ElectMS = ms(time.Since(started))
	if err := t.idle(ctx, a, b); err != nil {
		return res, err
	}
	// Both nodes know their gateway, as nodes that talk to the world do:
	// otherwise B's first replies wait for its own ARP request to the
	// router, which the policer and the lossy router drop too, and the
	// outage measures that instead of the announcements.
	for _, h := range []*labnet.Host{a, b} {
		if err := warmNeighbour(ctx, h, l.Router, o.IPv6); err != nil {
			return res, err
		}
	}
	if o.Router == labnet.Policer {
		// The router resolves the VIPs at half the policer's rate, as it
		// would have over time (see WarmRouterNeigh).
		wctx, cancel := context.WithTimeout(ctx, o.reachTimeout())
		err := l.WarmRouterNeigh(wctx, vips, max(1, o.PolicerRate/2))
		cancel()
		if err != nil {
			return res, err
		}
	}
	aw, err := watchAdverts(l.Router, o.IPv6, priorityA)
	if err != nil {
		return res, err
	}
	t.closers = append(t.closers, aw.close)
	if err := t.probe(ctx, vips); err != nil {
		return res, err
	}
	p := t.p
	// A steady state: the client reaches every VIP on A and B is backup,
	// for baseline without a break (a loaded machine can stall a daemon
	// long enough for B to take over, or the client's replies).
	reachTimeout := o.reachTimeout()
	deadline := time.Now().Add(reachTimeout)
	var steady time.Time // since when the state is steady
	for {
		ok := p.AllReachable() && ds.state(ctx, 1) == "BACKUP"
		switch {
		case !ok && !steady.IsZero():
			r.log.Debug("lab: steady state broken before the fault; waiting again", "state", r.unreachable(l, p, vips))
			steady = time.Time{}
		case ok && steady.IsZero():
			steady = time.Now()
		}
		if ok && time.Since(steady) >= baseline {
			break
		}
		if err := ds.check(false); err != nil {
			return res, err
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("lab: no steady state before the fault within %v: %s; B is %q\n%s",
				reachTimeout, r.unreachable(l, p, vips), ds.state(ctx, 1), tail(ds.logs(), 6000))
		}
		if steady.IsZero() {
			pr.Update("waiting for the client to reach every VIP")
		} else {
			pr.Update("every VIP reachable on A")
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return res, err
		}
	}

	if o.Router == labnet.Pinned {
		// The router has learnt every VIP (the client reaches them): its
		// entries become static with the MAC learnt.
		if _, err := l.PinRouterNeigh(vips); err != nil {
			return res, err
		}
	}
	// Power A off right after one of its advertisements: B then waits a
	// whole Master_Down_Interval, whatever the implementation.
	last, err := aw.next(ctx, 3*o.Advert+time.Second)
	if err != nil {
		return res, err
	}
	pr.Phase(PhaseFault, "A: switch port down, processes killed")
	fault := time.Now()
	res.FaultAfterAdvertMS = ms(fault.Sub(last))
	if err := t.powerOff(a); err != nil {
		return res, err
	}

	var (
		takeover time.Time
		tookOver bool
	)
	results, err := t.watch(ctx, fault, func(now time.Time, rs []labnet.VIPResult) (string, bool) {
		if !tookOver {
			takeover, tookOver = ds.takeover(ctx, fault)
		}
		rec, last := recovered(rs, fault)
		detail := fmt.Sprintf("recovered %d/%d", rec, len(rs))
		if tookOver {
			detail = fmt.Sprintf("B master after %s · %s", fmtSeconds(ms(takeover.Sub(fault))), detail)
		}
		return detail, tookOver && rec == len(rs) && now.Sub(takeover) >= settle && now.Sub(last) >= settle
	})
	if err != nil {
		return res, err
	}
	res.TakeoverMS = -1
	if tookOver {
		res.TakeoverMS = ms(takeover.Sub(fault))
	}
	fixed := ds.reports(ctx)
	res.RouterDrops = routerDrops(ctx, l)
	res.VIPs = outcomes(results, aff, fault, takeover, tookOver, fixed)
	res.finish()
	return res, nil
}

// warmNeighbourFor bounds warmNeighbour's retries. Behind the lossy router
// both directions' resolution can fail (a quarter of the attempts succeed
// for ND, which needs the node's and the router's): ten pings of a second
// each once failed in a sweep.
const warmNeighbourFor = 30 * time.Second

// warmNeighbour has h resolve the router's LAN address (ping, retried for
// warmNeighbourFor: the router may drop ARP and ND).
func warmNeighbour(ctx context.Context, h, router *labnet.Host, ipv6 bool) error {
	addr, fam := router.Addr4.Addr(), "-4"
	if ipv6 {
		addr, fam = router.Addr6.Addr(), "-6"
	}
	var err error
	for end := time.Now().Add(warmNeighbourFor); time.Now().Before(end); {
		if _, err = h.Run(ctx, "ping", fam, "-c", "1", "-W", "2", addr.String()); err == nil {
			return nil
		}
		// A ping that fails at once (no route yet) must not spin.
		if serr := sleep(ctx, 200*time.Millisecond); serr != nil {
			return serr
		}
	}
	return fmt.Errorf("lab: %s cannot reach the router: %w", h.Name, err)
}

// unreachable describes the VIPs the client does not reach, with the
// router's neighbour entries for them.
func (r *runner) unreachable(l *labnet.Lab, p *labnet.Prober, vips []netip.Addr) string {
	neigh, _ := l.RouterNeigh()
	macs := map[string]string{l.Nodes[0].MAC.String(): "A", l.Nodes[1].MAC.String(): "B"}
	var lost []string
	for _, v := range vips {
		if !p.Reachable(v) {
			who := neigh[v].String()
			if n, ok := macs[who]; ok {
				who = n
			}
			lost = append(lost, fmt.Sprintf("%v (router: %s)", v, cmp.Or(who, "no entry")))
		}
	}
	if len(lost) == 0 {
		return "the client reaches every VIP"
	}
	return fmt.Sprintf("the client lost %d VIPs on A: %s", len(lost), strings.Join(lost, ", "))
}

// outcomes turns the prober's results into the report's.
func outcomes(rs []labnet.VIPResult, aff []bool, fault, takeover time.Time, tookOver bool, fixed map[netip.Addr]vipReport) []VIPOutcome {
	out := make([]VIPOutcome, len(rs))
	for i, v := range rs {
		o := VIPOutcome{VIP: v.VIP.String(), Affected: i < len(aff) && aff[i], Recovered: v.Recovered,
			OutageMS: ms(v.Outage), MaxGapMS: ms(v.MaxGap), FixedBy: fixed[v.VIP].FixedBy, Verification: fixed[v.VIP].Verification}
		if !v.FirstLoss.IsZero() {
			o.DarkMS = msPtr(v.FirstLoss.Sub(fault))
			if v.Recovered {
				o.BackMS = msPtr(v.Recovery.Sub(fault))
				if tookOver {
					o.AfterTakeoverMS = msPtr(v.Recovery.Sub(takeover))
				}
			}
		}
		out[i] = o
	}
	return out
}

// waitFor polls cond until it holds, the daemons fail, ctx ends or within
// passes; cond's second result says what is awaited, for the progress line.
func (r *runner) waitFor(ctx context.Context, within time.Duration, what string, ds pair, faulted bool, cond func() (bool, string)) error {
	deadline := time.Now().Add(within)
	for {
		ok, detail := cond()
		if ok {
			return nil
		}
		if err := ds.check(faulted); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab: timed out after %v waiting for %s\n%s", within, what, tail(ds.logs(), 4000))
		}
		r.o.Progress.Update(detail)
		if err := sleep(ctx, pollEvery); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var counterRE = regexp.MustCompile(`counter packets (\d+)`)

// routerDrops sums the router's nftables drop counters (all of labnet's
// rules count what they drop); -1 if the ruleset cannot be read.
func routerDrops(ctx context.Context, l *labnet.Lab) int64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rs, err := l.RouterRuleset(ctx)
	if err != nil {
		return -1
	}
	var n int64
	for _, m := range counterRE.FindAllStringSubmatch(rs, -1) {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		n += v
	}
	return n
}
