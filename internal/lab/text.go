package lab

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// maxTableRows is how many VIPs the text report lists one by one unless
// told to list all; beyond, it lists the slowest.
const maxTableRows = 100

// TextOptions tune the text report.
type TextOptions struct {
	// AllVIPs lists every VIP even when there are more than 100.
	AllVIPs bool
}

// fmtSeconds formats milliseconds: "412ms" below a second, "1.23s" above.
func fmtSeconds(msv float64) string {
	if msv < 0 {
		return "-"
	}
	if msv < 1000 {
		return strconv.FormatFloat(msv, 'f', 0, 64) + "ms"
	}
	if msv == float64(int64(msv/1000))*1000 {
		return strconv.FormatFloat(msv/1000, 'f', 0, 64) + "s"
	}
	return strconv.FormatFloat(msv/1000, 'f', 2, 64) + "s"
}

// String formats a statistic; a lower bound gets a ">".
func (s Stat) String() string {
	if s.AtLeast {
		return ">" + fmtSeconds(s.MS)
	}
	return fmtSeconds(s.MS)
}

// summaryLine is a run's one-line result.
func (r RunResult) summaryLine() string {
	s := fmt.Sprintf("recovered=%d/%d p50=%s max=%s takeover=%s", r.Recovered, r.Total, r.P50, r.Max, fmtSeconds(r.TakeoverMS))
	if c := r.IdleCPU; c != nil {
		s += fmt.Sprintf(" idle_cpu(%.0fs)=master %.2f%%, backup %.2f%%", c.Seconds, c.Master, c.Backup)
	}
	return s
}

// SummaryLine is the implementation's result in one line, as `vipd lab`
// ends: "vipd: recovered=20/20 p50=412ms max=930ms"; over several runs the
// medians, with "(median of K runs)".
func (r ImplReport) SummaryLine() string {
	if r.Skipped != "" {
		return r.Name + ": skipped (" + r.Skipped + ")"
	}
	s := r.Summary
	if s == nil {
		return r.Name + ": no run finished"
	}
	line := fmt.Sprintf("%s: recovered=%d/%d p50=%s max=%s", r.Name, s.Recovered[1], s.Total, s.P50[1], s.Max[1])
	if s.Runs > 1 {
		line += fmt.Sprintf(" (median of %d runs)", s.Runs)
	}
	return line
}

// WriteText writes the human report: what ran, the per-VIP table (side by
// side for several implementations; the first run's), the spread over the
// runs when there were several, and one summary line per implementation.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	var b strings.Builder
	fam := "IPv4"
	if r.IPv6 {
		fam = "IPv6"
	}
	if r.routed() {
		fmt.Fprintf(&b, "vipd lab · routed mode (BGP) · router %s\n", r.Description)
	} else {
		fmt.Fprintf(&b, "vipd lab · router %s\n", r.Description)
	}
	if r.busy() {
		fmt.Fprintf(&b, "warning: the machine was busy (load %.1f, then %.1f, on %d CPUs): the timings are disturbed\n",
			r.LoadStart, r.LoadEnd, r.Host.CPUs)
	}
	var ran []ImplReport
	for _, ir := range r.Impls {
		if len(ir.Runs) > 0 {
			ran = append(ran, ir)
		}
	}
	probe := r.ProbeIntervalMS
	if len(ran) > 0 && ran[0].Runs[0].ProbeIntervalMS > 0 {
		probe = ran[0].Runs[0].ProbeIntervalMS
	}
	fmt.Fprintf(&b, "%d %s VIPs · %s · each VIP probed every %s · watch up to %s · %s at t=0\n",
		r.VIPs, fam, r.timing(), fmtSeconds(probe), fmtSeconds(r.WatchMS), r.faultWords())
	if len(ran) > 0 {
		b.WriteString("\n")
		writeVIPTable(&b, r, ran, o)
	}
	if len(ran) > 0 && ran[0].Summary != nil && ran[0].Summary.Runs > 1 {
		b.WriteString("\n")
		writeSpread(&b, ran, r.takeoverWords())
	}
	writeClientLags(&b, ran)
	b.WriteString("\n")
	width := 0
	for _, ir := range r.Impls {
		width = max(width, len(ir.Name))
	}
	for _, ir := range r.Impls {
		line := ir.SummaryLine()
		// Align the values: "vipd:       recovered=...".
		name, rest, _ := strings.Cut(line, ": ")
		fmt.Fprintf(&b, "%-*s %s\n", width+1, name+":", rest)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clientLagWarn is the client's lateness that the report points out: the
// measured outages may be too long by that much.
const clientLagWarn = 50.0 // ms

// writeClientLags warns of the runs in which the client itself stalled.
func writeClientLags(b *strings.Builder, ran []ImplReport) {
	for _, ir := range ran {
		for _, run := range ir.Runs {
			if run.ClientLagMS < clientLagWarn || run.ClientLagAtMS == nil {
				continue
			}
			fmt.Fprintf(b, "\nwarning: in %s's run %d the client fell %s behind its probe schedule %s after the fault (the machine was busy): outages measured around then are too long by up to that much\n",
				ir.Name, run.Run, fmtSeconds(run.ClientLagMS), fmtSeconds(*run.ClientLagAtMS))
		}
	}
}

// writeVIPTable writes the first run's VIPs, one row each, one column group
// per implementation.
func writeVIPTable(b *strings.Builder, r *Report, ran []ImplReport, o TextOptions) {
	first := ran[0].Runs[0]
	rows := make([]int, len(first.VIPs))
	for i := range rows {
		rows[i] = i
	}
	limited := !o.AllVIPs && len(rows) > maxTableRows
	if limited {
		// The slowest VIPs of the first implementation, then in order.
		slices.SortStableFunc(rows, func(x, y int) int {
			vx, vy := first.VIPs[x], first.VIPs[y]
			return -Stat{vx.OutageMS, !vx.Recovered}.compare(Stat{vy.OutageMS, !vy.Recovered})
		})
		rows = rows[:10]
		slices.Sort(rows)
	}
	runs := ""
	if ran[0].Summary != nil && ran[0].Summary.Runs > 1 {
		runs = fmt.Sprintf(" (run 1 of %d)", ran[0].Summary.Runs)
	}
	if limited {
		fmt.Fprintf(b, "the 10 slowest of %d VIPs for %s%s (--all-vips lists every one):\n", len(first.VIPs), ran[0].Name, runs)
	} else if runs != "" {
		fmt.Fprintf(b, "per VIP%s:\n", runs)
	}
	var tb strings.Builder
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', 0)
	hasAffected := slices.ContainsFunc(first.VIPs, func(v VIPOutcome) bool { return v.Affected })
	head := []string{"VIP"}
	if hasAffected {
		head = append(head, "router")
	}
	extra, extraCell := r.vipdColumn()
	for _, ir := range ran {
		head = append(head, ir.Name+" outage", "recovered")
		if ir.Name == string(Vipd) {
			head = append(head, extra)
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, i := range rows {
		cells := []string{first.VIPs[i].VIP}
		if hasAffected {
			tag := ""
			if first.VIPs[i].Affected {
				tag = r.Router
			}
			cells = append(cells, tag)
		}
		for _, ir := range ran {
			run := ir.Runs[0]
			if i >= len(run.VIPs) {
				cells = append(cells, "", "")
				continue
			}
			v := run.VIPs[i]
			rec := "no"
			if v.Recovered {
				rec = "yes"
			}
			cells = append(cells, Stat{v.OutageMS, !v.Recovered}.String(), rec)
			if ir.Name == string(Vipd) {
				cells = append(cells, extraCell(v))
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	// The router's detection (mode bgp, power off), then the takeover,
	// under the outages.
	if h := first.HoldExpiredMS; h != nil && len(ran) == 1 && !hasAffected {
		fmt.Fprintf(tw, "hold timer expired after\t%s\t\t\n", fmtSeconds(*h))
	}
	cells := []string{r.takeoverWords() + " after"}
	if hasAffected {
		cells = append(cells, "")
	}
	for _, ir := range ran {
		cells = append(cells, fmtSeconds(ir.Runs[0].TakeoverMS), "")
		if ir.Name == string(Vipd) {
			cells = append(cells, "")
		}
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
	tw.Flush()
	b.WriteString(trimLines(tb.String()))
}

// trimLines removes the padding tabwriter leaves at the ends of lines.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// writeSpread writes min/median/max over the runs.
func writeSpread(b *strings.Builder, ran []ImplReport, takeover string) {
	fmt.Fprintf(b, "over %d runs (min / median / max):\n", ran[0].Summary.Runs)
	var tb strings.Builder
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\trecovered\tp50 outage\tmax outage\t"+takeover+" after")
	for _, ir := range ran {
		s := ir.Summary
		fmt.Fprintf(tw, "%s\t%d / %d / %d of %d\t%s / %s / %s\t%s / %s / %s\t%s / %s / %s\n", ir.Name,
			s.Recovered[0], s.Recovered[1], s.Recovered[2], s.Total,
			s.P50[0], s.P50[1], s.P50[2], s.Max[0], s.Max[1], s.Max[2],
			fmtSeconds(s.Takeover[0]), fmtSeconds(s.Takeover[1]), fmtSeconds(s.Takeover[2]))
	}
	tw.Flush()
	b.WriteString(trimLines(tb.String()))
}
