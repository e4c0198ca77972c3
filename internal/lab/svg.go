package lab

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// The timeline's look.
const (
	svgFont       = "DejaVu Sans, Helvetica, Arial, sans-serif"
	svgMono       = "DejaVu Sans Mono, Menlo, Consolas, monospace"
	colInk        = "#1f2328"
	colMuted      = "#656d76"
	colGrid       = "#d8dee4"
	colLane       = "#f6f8fa"
	colUp         = "#2da44e"
	colUpLight    = "#aee9c0"
	colDark       = "#cf222e"
	colFault      = "#1f2328"
	colTakeover   = "#0969da"
	colTag        = "#9a6700"
	colTagBg      = "#fff8c5"
	svgMargin     = 24.0
	svgHeaderH    = 70.0
	svgPanelHeadH = 58.0
	svgAxisH      = 34.0
	svgLegendH    = 40.0
	svgPanelGap   = 36.0
	svgValueW     = 58.0 // outage text right of a panel
	// maxRows is the most rows the timeline draws one VIP each; beyond, a
	// row is a group of VIPs shaded by the share that is dark.
	maxRows = 160
	// groupRows is the number of rows in grouped mode.
	groupRows = 128
)

// timeline is the geometry of one drawing.
type timeline struct {
	r        *Report
	impls    []ImplReport // those with a run
	n        int          // VIPs
	group    int          // VIPs per row (1: one row per VIP)
	rows     int
	rowH     float64
	labelW   float64
	tagW     float64
	panelW   float64
	plotW    float64
	t0, t1   float64 // time range in ms, relative to the fault
	width    float64
	height   float64
	plotTop  float64 // y of the first row
	hasValue bool    // room for the outage text right of each row
}

func newTimeline(r *Report) *timeline {
	tl := &timeline{r: r, group: 1}
	for _, ir := range r.Impls {
		if len(ir.Runs) > 0 {
			tl.impls = append(tl.impls, ir)
		}
	}
	if len(tl.impls) == 0 {
		return tl
	}
	tl.n = len(tl.impls[0].Runs[0].VIPs)
	tl.rows = tl.n
	if tl.n > maxRows {
		tl.group = int(math.Ceil(float64(tl.n) / groupRows))
		tl.rows = int(math.Ceil(float64(tl.n) / float64(tl.group)))
	}
	tl.rowH = math.Max(4, math.Min(18, 640/float64(max(tl.rows, 1))))
	tl.hasValue = tl.group == 1 && tl.rowH >= 11
	longest := 0
	for _, v := range tl.impls[0].Runs[0].VIPs {
		longest = max(longest, len(v.VIP))
	}
	if tl.group > 1 {
		longest += 2
	}
	tl.labelW = 16 + 6.9*float64(longest)
	for _, v := range tl.impls[0].Runs[0].VIPs {
		if v.Affected {
			tl.tagW = 8 + 6.2*float64(len(r.Router)) + 10
			break
		}
	}
	tl.panelW = 560
	if len(tl.impls) > 1 {
		tl.panelW = 460
	}
	tl.plotW = tl.panelW
	if tl.hasValue {
		tl.plotW -= svgValueW
	}
	tl.t0 = -float64(baseline.Milliseconds())
	for _, ir := range tl.impls {
		tl.t1 = math.Max(tl.t1, ir.Runs[0].WatchedMS)
	}
	tl.t1 = math.Max(tl.t1, 1000)
	tl.width = 2*svgMargin + tl.labelW + tl.tagW + float64(len(tl.impls))*tl.panelW + float64(len(tl.impls)-1)*svgPanelGap
	tl.width = math.Max(tl.width, 640)
	tl.plotTop = svgMargin + svgHeaderH + svgPanelHeadH
	tl.height = tl.plotTop + float64(tl.rows)*tl.rowH + svgAxisH + svgLegendH + svgMargin
	return tl
}

// panelX is the left edge of implementation i's plot.
func (tl *timeline) panelX(i int) float64 {
	return svgMargin + tl.labelW + tl.tagW + float64(i)*(tl.panelW+svgPanelGap)
}

// x maps a time (ms after the fault) into panel i.
func (tl *timeline) x(i int, t float64) float64 {
	t = math.Max(tl.t0, math.Min(tl.t1, t))
	return tl.panelX(i) + (t-tl.t0)/(tl.t1-tl.t0)*tl.plotW
}

func (tl *timeline) rowY(row int) float64 { return tl.plotTop + float64(row)*tl.rowH }

// tickStep is a round step giving 4 to 10 ticks over span ms.
func tickStep(span float64) float64 {
	for _, s := range []float64{100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 30000, 60000, 120000, 300000, 600000} {
		if span/s <= 10 {
			return s
		}
	}
	return 600000
}

// svg is a small writer of SVG elements.
type svg struct{ b strings.Builder }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func (s *svg) rect(x, y, w, h float64, attrs string) {
	if w <= 0 || h <= 0 {
		return
	}
	s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" %s/>`+"\n", x, y, w, h, attrs)
}

func (s *svg) line(x1, y1, x2, y2 float64, attrs string) {
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" %s/>`+"\n", x1, y1, x2, y2, attrs)
}

func (s *svg) text(x, y float64, attrs, body string) {
	s.f(`<text x="%.1f" y="%.1f" %s>%s</text>`+"\n", x, y, attrs, html.EscapeString(body))
}

// WriteSVG draws the timeline of the first run of each implementation: one
// row per VIP (beyond 160 VIPs, per group of VIPs, shaded by the share
// that is dark), one panel per implementation side by side, green while the
// client gets replies, red while it does not, with the fault and each
// takeover marked.
func (r *Report) WriteSVG(w io.Writer) error {
	tl := newTimeline(r)
	var s svg
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="%s">`+"\n",
		tl.width, tl.height, tl.width, tl.height, svgFont)
	s.f("<title>%s</title>\n", html.EscapeString(tl.title()))
	s.f(`<defs><pattern id="lost" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="6" height="6" fill="` + colDark + `"/><rect width="2.2" height="6" fill="#ffffff" fill-opacity="0.35"/></pattern></defs>` + "\n")
	s.rect(0, 0, tl.width, tl.height, `fill="#ffffff"`)
	s.text(svgMargin, svgMargin+18, `font-size="19" font-weight="700" fill="`+colInk+`"`, tl.title())
	s.text(svgMargin, svgMargin+40, `font-size="12.5" fill="`+colMuted+`"`, tl.subtitle())
	if len(tl.impls) == 0 {
		s.text(svgMargin, svgMargin+72, `font-size="13" fill="`+colMuted+`"`, "no run finished")
		s.f("</svg>\n")
		_, err := io.WriteString(w, s.b.String())
		return err
	}
	tl.labels(&s)
	for i := range tl.impls {
		tl.panel(&s, i)
	}
	tl.legend(&s)
	s.f("</svg>\n")
	_, err := io.WriteString(w, s.b.String())
	return err
}

func (tl *timeline) title() string {
	names := make([]string, len(tl.impls))
	for i, ir := range tl.impls {
		names[i] = ir.Name
	}
	who := strings.Join(names, " vs ")
	if who == "" {
		who = "vipd"
	}
	fam := "IPv4"
	if tl.r.IPv6 {
		fam = "IPv6"
	}
	if tl.r.routed() {
		return fmt.Sprintf("Failover of %d %s VIPs routed by BGP: %s", tl.r.VIPs, fam, who)
	}
	return fmt.Sprintf("Failover of %d %s VIPs behind a %s router: %s", tl.r.VIPs, fam, tl.r.Router, who)
}

func (tl *timeline) subtitle() string {
	s := fmt.Sprintf("router %s · %s · probe every %s per VIP", tl.r.Description,
		tl.r.timing(), fmtSeconds(tl.probeInterval()))
	if tl.r.routed() {
		s = fmt.Sprintf("BIRD 2 router · %s · %s · probe every %s per VIP", tl.r.timing(),
			tl.r.faultWords(), fmtSeconds(tl.probeInterval()))
	}
	if len(tl.impls) > 0 && tl.impls[0].Summary != nil && tl.impls[0].Summary.Runs > 1 {
		s += fmt.Sprintf(" · run 1 of %d", tl.impls[0].Summary.Runs)
	}
	if !tl.r.Started.IsZero() {
		s += " · " + tl.r.Started.Format("2006-01-02")
	}
	return s
}

func (tl *timeline) probeInterval() float64 {
	if len(tl.impls) > 0 && tl.impls[0].Runs[0].ProbeIntervalMS > 0 {
		return tl.impls[0].Runs[0].ProbeIntervalMS
	}
	return tl.r.ProbeIntervalMS
}

// labels draws the VIP column (and the router's tag column).
func (tl *timeline) labels(s *svg) {
	vips := tl.impls[0].Runs[0].VIPs
	fs := math.Min(11.5, tl.rowH-3)
	s.text(svgMargin, tl.plotTop-8, `font-size="11" font-weight="700" fill="`+colMuted+`"`, "VIP")
	every := 1
	if fs < 7 {
		// Too small to read: label every few rows at a readable size.
		fs, every = 9, int(math.Ceil(12/tl.rowH))
	}
	for row := 0; row < tl.rows; row++ {
		lo := row * tl.group
		y := tl.rowY(row)
		if row%2 == 1 {
			s.rect(svgMargin-6, y, tl.width-2*svgMargin+12, tl.rowH, `fill="`+colLane+`"`)
		}
		if row%every == 0 {
			label := vips[lo].VIP
			if tl.group > 1 {
				label += " …"
			}
			s.text(svgMargin, y+tl.rowH/2+fs*0.36, fmt.Sprintf(`font-size="%.1f" font-family="%s" fill="%s"`, fs, svgMono, colInk), label)
		}
		if tl.tagW > 0 && tl.group == 1 && vips[lo].Affected && tl.rowH >= 9 {
			tw := tl.tagW - 10
			x := svgMargin + tl.labelW
			s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="%.1f" fill="%s" stroke="%s" stroke-width="0.6"/>`+"\n",
				x, y+1.5, tw, tl.rowH-3, (tl.rowH-3)/2, colTagBg, colTag)
			s.text(x+tw/2, y+tl.rowH/2+math.Min(9.5, tl.rowH-5)*0.36,
				fmt.Sprintf(`font-size="%.1f" text-anchor="middle" fill="%s"`, math.Min(9.5, tl.rowH-5), colTag), tl.r.Router)
		}
	}
	if tl.group > 1 {
		s.text(svgMargin, tl.rowY(tl.rows)+svgAxisH-8, `font-size="10" fill="`+colMuted+`"`,
			fmt.Sprintf("each row: %d VIPs", tl.group))
	}
}

// panel draws implementation i: header, grid, rows, markers, axis.
func (tl *timeline) panel(s *svg, i int) {
	ir := tl.impls[i]
	run := ir.Runs[0]
	x0, x1 := tl.panelX(i), tl.panelX(i)+tl.plotW
	top, bottom := tl.plotTop, tl.rowY(tl.rows)
	// Header: the name and the run's result.
	col := colUp
	if run.Recovered < run.Total {
		col = colDark
	}
	hy := top - svgPanelHeadH
	s.text(x0, hy+14, `font-size="15" font-weight="700" fill="`+colInk+`"`, ir.Name)
	// SVG collapses spaces: no-break spaces keep the separators apart.
	sep := "\u00a0\u00a0·\u00a0\u00a0"
	rest := "p50 " + run.P50.String() + sep + "max " + run.Max.String() + sep + tl.r.takeoverWords() + " after " + fmtSeconds(run.TakeoverMS)
	s.f(`<text x="%.1f" y="%.1f" font-size="12"><tspan fill="%s" font-weight="700">%s</tspan><tspan dx="6" fill="%s">%s</tspan></text>`+"\n",
		x0, hy+32, col, html.EscapeString(fmt.Sprintf("recovered %d/%d", run.Recovered, run.Total)), colMuted,
		html.EscapeString("·\u00a0\u00a0"+rest))
	// Grid and axis.
	step := tickStep(tl.t1 - tl.t0)
	for t := math.Ceil(tl.t0/step) * step; t <= tl.t1+1e-9; t += step {
		x := tl.x(i, t)
		s.line(x, top, x, bottom, `stroke="`+colGrid+`" stroke-width="0.8"`)
		s.text(x, bottom+15, `font-size="10.5" text-anchor="middle" fill="`+colMuted+`"`, fmtTick(t))
	}
	s.text(x1, bottom+29, `font-size="10.5" text-anchor="end" fill="`+colMuted+`"`, "time after "+tl.r.faultWords())
	// Rows.
	barH := math.Max(2, tl.rowH*0.62)
	if tl.rowH < 6 {
		barH = tl.rowH - 0.5
	}
	for row := 0; row < tl.rows; row++ {
		y := tl.rowY(row) + (tl.rowH-barH)/2
		lo, hi := row*tl.group, min((row+1)*tl.group, len(run.VIPs))
		if tl.group == 1 {
			tl.vipBar(s, i, run.VIPs[lo], run.WatchedMS, y, barH)
			if tl.hasValue {
				v := run.VIPs[lo]
				c := colMuted
				if !v.Recovered {
					c = colDark
				}
				s.text(x1+svgValueW-4, tl.rowY(row)+tl.rowH/2+3.8, `font-size="10.5" text-anchor="end" fill="`+c+`"`,
					Stat{v.OutageMS, !v.Recovered}.String())
			}
			continue
		}
		tl.groupBar(s, i, run.VIPs[lo:hi], run.WatchedMS, y, barH)
	}
	// Markers: the fault and the takeover.
	xf := tl.x(i, 0)
	s.line(xf, top-6, xf, bottom, `stroke="`+colFault+`" stroke-width="1.4" stroke-dasharray="4 3"`)
	s.text(xf-3, top-5, `font-size="10" text-anchor="end" fill="`+colFault+`"`, tl.r.faultMark())
	if run.TakeoverMS >= 0 {
		xt := tl.x(i, run.TakeoverMS)
		s.line(xt, top-6, xt, bottom, `stroke="`+colTakeover+`" stroke-width="1.4"`)
		s.text(xt+3, top-5, `font-size="10" fill="`+colTakeover+`"`, tl.r.takeoverWords())
	}
	if h := run.HoldExpiredMS; h != nil && *h >= 0 {
		// Routed mode: when the router noticed A (its hold timer), under
		// the plot so that its label stays clear of the takeover's.
		xh := tl.x(i, *h)
		s.line(xh, top, xh, bottom+4, `stroke="`+colMuted+`" stroke-width="1" stroke-dasharray="2 2"`)
		s.text(xh-3, bottom+27, `font-size="9.5" text-anchor="end" fill="`+colMuted+`"`, "hold timer expired")
	}
	if xe := tl.x(i, run.WatchedMS); x1-xe > 60 {
		// The watch ended early (all recovered), the other one's went on.
		s.text(xe+4, bottom-4, `font-size="9.5" fill="`+colMuted+`"`, "watch ended")
	}
	s.rect(x0, top, x1-x0, bottom-top, `fill="none" stroke="`+colGrid+`"`)
}

// vipBar draws one VIP: up, dark, up again (or never).
func (tl *timeline) vipBar(s *svg, i int, v VIPOutcome, end, y, h float64) {
	up := `fill="` + colUpLight + `"`
	if v.DarkMS == nil {
		s.rect(tl.x(i, tl.t0), y, tl.x(i, end)-tl.x(i, tl.t0), h, up)
		return
	}
	dark := *v.DarkMS
	s.rect(tl.x(i, tl.t0), y, tl.x(i, dark)-tl.x(i, tl.t0), h, up)
	if v.Recovered && v.BackMS != nil {
		back := *v.BackMS
		s.rect(tl.x(i, dark), y, math.Max(1, tl.x(i, back)-tl.x(i, dark)), h, `fill="`+colDark+`"`)
		s.rect(tl.x(i, back), y, tl.x(i, end)-tl.x(i, back), h, `fill="`+colUp+`"`)
		return
	}
	s.rect(tl.x(i, dark), y, tl.x(i, end)-tl.x(i, dark), h, `fill="url(#lost)"`)
	if h >= 8 {
		s.text(tl.x(i, end)-4, y+h/2+3.5, `font-size="9.5" text-anchor="end" fill="#ffffff" font-weight="700"`, "never back")
	}
}

// groupBar draws a group of VIPs: per slice of time, the share of them
// that is dark as a column from the bottom of the row (a row half red is
// half of its VIPs without replies), hatched for those that never came
// back.
func (tl *timeline) groupBar(s *svg, i int, vs []VIPOutcome, end, y, h float64) {
	xa, x0, xe := tl.x(i, tl.t0), tl.x(i, 0), tl.x(i, end)
	s.rect(xa, y, x0-xa, h, `fill="`+colUpLight+`"`)
	s.rect(x0, y, xe-x0, h, `fill="`+colUp+`"`)
	const px = 2.0 // slice width
	msPerPx := (tl.t1 - tl.t0) / tl.plotW
	type level struct{ lost, dark int } // eighths of the row
	levelAt := func(t float64) level {
		var lost, dark int
		for _, v := range vs {
			if v.DarkMS == nil || t < *v.DarkMS {
				continue
			}
			if v.Recovered && v.BackMS != nil && t >= *v.BackMS {
				continue
			}
			dark++
			if !v.Recovered {
				lost++
			}
		}
		eighths := func(k int) int { return int(math.Ceil(8 * float64(k) / float64(len(vs)))) }
		return level{eighths(lost), eighths(dark)}
	}
	runStart, run := xa, level{-1, -1}
	flush := func(x float64) {
		if run.dark <= 0 {
			return
		}
		hl, hd := h*float64(run.lost)/8, h*float64(run.dark)/8
		s.rect(runStart, y+h-hl, x-runStart, hl, `fill="url(#lost)"`)
		s.rect(runStart, y+h-hd, x-runStart, hd-hl, `fill="`+colDark+`"`)
	}
	for x := xa; x < xe; x += px {
		lv := levelAt(tl.t0 + (x-tl.panelX(i)+px/2)*msPerPx)
		if lv != run {
			flush(x)
			runStart, run = x, lv
		}
	}
	flush(xe)
}

// legend explains the colours.
func (tl *timeline) legend(s *svg) {
	y := tl.rowY(tl.rows) + svgAxisH + 14
	x := svgMargin
	item := func(swatch func(x, y float64), label string) {
		swatch(x, y-9)
		s.text(x+22, y, `font-size="11" fill="`+colInk+`"`, label)
		x += 30 + 6.3*float64(len([]rune(label)))
	}
	item(func(x, y float64) { s.rect(x, y, 16, 10, `fill="`+colUpLight+`"`) }, "replies (before the fault)")
	item(func(x, y float64) { s.rect(x, y, 16, 10, `fill="`+colDark+`"`) }, "no replies")
	item(func(x, y float64) { s.rect(x, y, 16, 10, `fill="`+colUp+`"`) }, "replies again")
	item(func(x, y float64) { s.rect(x, y, 16, 10, `fill="url(#lost)"`) }, "never came back")
	if tl.tagW > 0 {
		what := "the router ignores its announcements"
		if tl.r.Router == "sticky" {
			what = "the router ignores its gratuitous ARP"
			if tl.r.IPv6 {
				what = "the router ignores its unsolicited NA"
			}
		}
		item(func(x, y float64) {
			s.f(`<rect x="%.1f" y="%.1f" width="16" height="10" rx="5" fill="%s" stroke="%s" stroke-width="0.6"/>`+"\n", x, y, colTagBg, colTag)
		}, tl.r.Router+": "+what)
	}
}

// fmtTick formats an axis tick.
func fmtTick(t float64) string {
	if t == 0 {
		return "0"
	}
	if math.Mod(t, 1000) == 0 {
		return fmt.Sprintf("%+.0fs", t/1000)
	}
	return fmt.Sprintf("%+.1fs", t/1000)
}
