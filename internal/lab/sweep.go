package lab

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// A sweep runs the lab's scenario over a matrix — routers × numbers of
// VIPs — for each implementation, and keeps per cell the figures a
// comparison needs: how many VIPs came back, the median and the worst
// outage after the takeover. Outages are counted from the takeover (not the
// fault) so that cells compare what the implementations do, not when the
// election happened to end.

// SweepCell is one (router, VIPs, implementation) of a sweep.
type SweepCell struct {
	Router string `json:"router"`
	VIPs   int    `json:"vips"`
	Impl   Impl   `json:"impl"`
	// Skipped says why the cell did not run (keepalived not installed, a
	// lab error); the figures are zero then.
	Skipped   string `json:"skipped,omitempty"`
	Recovered int    `json:"recovered"`
	Total     int    `json:"total"`
	// P50MS and WorstMS are the median and the worst outage after the
	// takeover over the VIPs that came back; AllBack says every VIP did.
	P50MS   float64 `json:"p50_after_takeover_ms"`
	WorstMS float64 `json:"worst_after_takeover_ms"`
	AllBack bool    `json:"all_back"`
	// OutageP50 and OutageMax are the run's median and worst outage from
	// the fault (a VIP not back counts with the watch as a lower bound):
	// what the client sees, and what the verdict compares.
	OutageP50 Stat `json:"outage_p50"`
	OutageMax Stat `json:"outage_max"`
	// TakeoverMS is from the fault until the backup became master.
	TakeoverMS float64 `json:"takeover_ms"`
	// ProbeMS is the per-VIP probe interval: the outages' precision.
	ProbeMS float64 `json:"probe_interval_ms"`
	// ClientLagMS is how far the client fell behind its probes during the
	// watch (see RunResult): the outages may be too long by that much.
	ClientLagMS float64 `json:"client_lag_ms,omitempty"`
}

// Sweep is the result of RunSweep.
type Sweep struct {
	Started  time.Time `json:"started"`
	Host     HostInfo  `json:"host"`
	AdvertMS float64   `json:"advert_ms"`
	// IPv6: the VIPs are IPv6 (Neighbor Discovery), else IPv4 (ARP).
	IPv6    bool        `json:"ipv6"`
	Routers []string    `json:"routers"`
	Sizes   []int       `json:"sizes"`
	Cells   []SweepCell `json:"cells"`
	// LoadMax is the highest 1-minute load average seen at a cell's start
	// or end: timings on a busy machine are disturbed.
	LoadMax float64 `json:"load_max"`
}

// cellOf turns a lab report of one implementation into its sweep cell.
func cellOf(r *Report, im *ImplReport) SweepCell {
	c := SweepCell{Router: r.Router, VIPs: r.VIPs, Impl: Impl(im.Name), Skipped: im.Skipped}
	if im.Skipped != "" || len(im.Runs) == 0 {
		if c.Skipped == "" {
			c.Skipped = "no run"
		}
		return c
	}
	run := im.Runs[0]
	c.Recovered, c.Total, c.TakeoverMS = run.Recovered, run.Total, run.TakeoverMS
	c.ProbeMS, c.ClientLagMS = run.ProbeIntervalMS, run.ClientLagMS
	c.OutageP50, c.OutageMax = run.P50, run.Max
	c.AllBack = run.Total > 0 && run.Recovered == run.Total
	var after []float64
	for _, v := range run.VIPs {
		if v.Recovered && v.AfterTakeoverMS != nil {
			after = append(after, max(0, *v.AfterTakeoverMS))
		}
	}
	if len(after) > 0 {
		slices.Sort(after)
		c.P50MS = after[rank(len(after), 0.5)]
		c.WorstMS = after[len(after)-1]
	}
	return c
}

// Cell returns the cell of (router, vips, impl), or nil.
func (s *Sweep) Cell(router string, vips int, im Impl) *SweepCell {
	for i := range s.Cells {
		c := &s.Cells[i]
		if c.Router == router && c.VIPs == vips && c.Impl == im {
			return c
		}
	}
	return nil
}

// Verdict compares vipd with keepalived in one (router, vips): the goals
// of the fast path on the outage the client sees (from the fault) — every
// VIP back; median within keepalived's + 5 %; worst at most keepalived's
// where keepalived brought every VIP back. A worst later by at most one
// probe interval, the measurement's precision, is not behind: the verdict
// says "ok" and by how much. A client that fell behind its probes in
// either run is noted. It returns "" when a side is missing.
func (s *Sweep) Verdict(router string, vips int) string {
	v, k := s.Cell(router, vips, Vipd), s.Cell(router, vips, Keepalived)
	if v == nil || k == nil || v.Skipped != "" || k.Skipped != "" {
		return ""
	}
	var miss []string
	if !v.AllBack {
		miss = append(miss, fmt.Sprintf("%d/%d back", v.Recovered, v.Total))
	}
	if !k.OutageP50.AtLeast && v.OutageP50.MS > k.OutageP50.MS*1.05 {
		miss = append(miss, "median")
	}
	var note []string
	if d := v.OutageMax.MS - k.OutageMax.MS; k.AllBack && d > 0 {
		if d > max(v.ProbeMS, k.ProbeMS) {
			miss = append(miss, "worst")
		} else {
			note = append(note, fmt.Sprintf("worst +%s, within a probe interval", fmtMS(d)))
		}
	}
	if lag := max(v.ClientLagMS, k.ClientLagMS); lag >= clientLagWarn {
		note = append(note, fmt.Sprintf("the client fell %s behind", fmtMS(lag)))
	}
	verdict := "ok"
	if len(miss) > 0 {
		verdict = "behind: " + strings.Join(miss, ", ")
	}
	if len(note) > 0 {
		verdict += " (" + strings.Join(note, "; ") + ")"
	}
	return verdict
}

// WriteMarkdown writes the sweep as a table: per router and number of VIPs,
// each implementation's VIPs back, median and worst outage after the
// takeover, and the verdict.
func (s *Sweep) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| router | VIPs | vipd back | vipd median | vipd worst | keepalived back | keepalived median | keepalived worst | from the fault, median / worst: vipd; keepalived | vipd vs keepalived |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range s.Routers {
		for _, n := range s.Sizes {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s; %s | %s |\n", r, n, s.cellCols(r, n, Vipd), s.cellCols(r, n, Keepalived),
				s.fromFault(r, n, Vipd), s.fromFault(r, n, Keepalived), s.Verdict(r, n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (s *Sweep) fromFault(router string, vips int, im Impl) string {
	c := s.Cell(router, vips, im)
	if c == nil || c.Skipped != "" {
		return "–"
	}
	f := func(st Stat) string {
		if st.AtLeast {
			return ">" + fmtMS(st.MS)
		}
		return fmtMS(st.MS)
	}
	return f(c.OutageP50) + " / " + f(c.OutageMax)
}

func (s *Sweep) cellCols(router string, vips int, im Impl) string {
	c := s.Cell(router, vips, im)
	switch {
	case c == nil:
		return "– | – | –"
	case c.Skipped != "":
		return "skipped | – | –"
	case c.Recovered == 0:
		return fmt.Sprintf("0/%d | – | –", c.Total)
	}
	return fmt.Sprintf("%d/%d | %s | %s", c.Recovered, c.Total, fmtMS(c.P50MS), fmtMS(c.WorstMS))
}

func fmtMS(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// sortCells orders the cells by router (in Routers order), VIPs, impl.
func (s *Sweep) sortCells() {
	idx := func(r string) int { return slices.Index(s.Routers, r) }
	slices.SortStableFunc(s.Cells, func(a, b SweepCell) int {
		return cmp.Or(cmp.Compare(idx(a.Router), idx(b.Router)), cmp.Compare(a.VIPs, b.VIPs), cmp.Compare(a.Impl, b.Impl))
	})
}

// SweepSizes and SweepRouters are the matrix of the fast-path goal.
var SweepSizes = []int{1, 20, 200, 1000, 4096}

// RunSweep runs base's scenario for every router and number of VIPs, with
// base's implementations, one run each, and collects the cells. A cell
// whose lab failed (no steady state before the fault, say) is kept as
// skipped with the error; the sweep goes on. It stops early only when ctx
// ends.
func RunSweep(ctx context.Context, base Options, routers []labnet.Behaviour, sizes []int) (*Sweep, error) {
	s := &Sweep{Started: time.Now(), Sizes: slices.Clone(sizes), IPv6: base.IPv6}
	for _, r := range routers {
		s.Routers = append(s.Routers, r.String())
	}
	for _, r := range routers {
		for _, n := range sizes {
			o := base
			o.Router, o.VIPs, o.Runs = r, n, 1
			o.Progress.Note("sweep: router %s, %d VIPs", r, n)
			rep, err := Run(ctx, o)
			if ctx.Err() != nil {
				s.sortCells()
				return s, ctx.Err()
			}
			if rep != nil {
				s.Host = rep.Host
				s.AdvertMS = rep.AdvertMS
				s.LoadMax = max(s.LoadMax, rep.LoadStart, rep.LoadEnd)
			}
			for _, im := range o.withDefaults().Impls {
				var c SweepCell
				if rep != nil {
					if ir := rep.Impl(im); ir != nil {
						c = cellOf(rep, ir)
					}
				}
				c.Router, c.VIPs, c.Impl = r.String(), n, im
				if err != nil && c.Total == 0 {
					c.Skipped = err.Error()
				}
				s.Cells = append(s.Cells, c)
			}
		}
	}
	s.sortCells()
	return s, nil
}
