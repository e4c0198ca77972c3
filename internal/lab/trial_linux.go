package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// trial is what one run of either mode sets up: a temporary directory,
// the lab's network, the daemons, the client's prober and the watches;
// end undoes it all.
type trial struct {
	r   *runner
	res *RunResult
	dir string
	l   *labnet.Lab
	// ds are the daemons, once made; saved to o.LogDir under logPrefix.
	ds        pair
	logPrefix string
	p         *labnet.Prober // the client, once started
	closers   []func()       // the watches, closed last first
}

// newTrial builds the lab (opts, with the runner's logger) in a new
// temporary directory and records its namespaces in res.
func (r *runner) newTrial(ctx context.Context, res *RunResult, opts labnet.Options, logPrefix string) (*trial, error) {
	r.o.Progress.Phase(PhaseBuilding, "")
	dir, err := os.MkdirTemp("", "vipd-lab-")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	opts.Logger = r.log
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	l, err := labnet.New(bctx, opts)
	cancel()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("lab: build: %w", err)
	}
	res.Prefix, res.Namespaces = l.Prefix, l.Namespaces()
	return &trial{r: r, res: res, dir: dir, l: l, logPrefix: logPrefix}, nil
}

// end is the cleanup phase: it stops the prober, the watches and the
// daemons (saving their output to o.LogDir first), removes the lab and
// the directory, and returns err joined with what went wrong, including
// namespaces left behind.
func (t *trial) end(err error) error {
	o := t.r.o
	o.Progress.Phase(PhaseCleanup, "")
	if t.p != nil {
		t.p.Stop()
	}
	for i := len(t.closers) - 1; i >= 0; i-- {
		t.closers[i]()
	}
	if t.ds != nil && o.LogDir != "" {
		if serr := t.ds.save(context.Background(), o.LogDir, t.logPrefix); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	if t.ds != nil {
		t.ds.stop()
	}
	if cerr := t.l.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("lab: clean up: %w", cerr))
	}
	if left := leftNamespaces(t.res.Namespaces); len(left) > 0 {
		err = errors.Join(err, fmt.Errorf("lab: namespaces left after clean up: %v", left))
	}
	os.RemoveAll(t.dir)
	return err
}

// idle measures the daemons' CPU at rest on a and b, if o.Idle asks for
// it.
func (t *trial) idle(ctx context.Context, a, b *labnet.Host) error {
	o := t.r.o
	if o.Idle <= 0 {
		return nil
	}
	o.Progress.Update(fmt.Sprintf("measuring the daemons' CPU at rest for %v", o.Idle))
	var err error
	if t.res.IdleCPU, err = idleCPU(ctx, a.NS, b.NS, o.Idle); err != nil {
		return err
	}
	return t.ds.check(false)
}

// probe starts the client probing vips.
func (t *trial) probe(ctx context.Context, vips []netip.Addr) error {
	p, err := t.l.NewProber(vips, t.r.o.ProbeInterval)
	if err != nil {
		return err
	}
	t.p = p
	t.res.ProbeIntervalMS = ms(p.Interval())
	p.Start(ctx)
	return nil
}

// watch is the watching phase: every pollEvery from the fault it checks
// the daemons and hands poll the prober's results, until o.Watch has
// passed or poll says the run has settled; poll returns the progress
// line. Then it stops the prober and returns its final results.
func (t *trial) watch(ctx context.Context, fault time.Time, poll func(now time.Time, rs []labnet.VIPResult) (detail string, settled bool)) ([]labnet.VIPResult, error) {
	o := t.r.o
	o.Progress.Phase(PhaseWatching, "")
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	watchUntil := fault.Add(o.Watch)
	for {
		now := time.Now()
		if err := t.ds.check(true); err != nil {
			return nil, err
		}
		detail, settled := poll(now, t.p.Results(fault))
		o.Progress.Update(detail)
		if !now.Before(watchUntil) || settled {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	t.p.Stop()
	t.res.WatchedMS = ms(time.Since(fault))
	if lag, at := t.p.Lag(fault); lag > 0 {
		t.res.ClientLagMS, t.res.ClientLagAtMS = ms(lag), msPtr(at.Sub(fault))
	}
	return t.p.Results(fault), nil
}

// recovered counts the recovered VIPs in rs and returns the last
// recovery (fault if none).
func recovered(rs []labnet.VIPResult, fault time.Time) (n int, last time.Time) {
	last = fault
	for _, v := range rs {
		if v.Recovered {
			n++
			if v.Recovery.After(last) {
				last = v.Recovery
			}
		}
	}
	return n, last
}

// powerOff is the power fault on node h: its switch port down, its
// processes killed.
func (t *trial) powerOff(h *labnet.Host) error {
	if err := t.l.PortDown(h); err != nil {
		return err
	}
	return killNamespace(h.NS, killTimeout)
}
