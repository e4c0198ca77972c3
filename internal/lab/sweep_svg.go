package lab

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

// Colours of the sweep chart's implementations.
const (
	colVipd       = "#0969da"
	colKeepalived = "#bc4c00"
)

// WriteSVG draws the sweep: one panel per router, the number of VIPs
// across (one step per size), the outage after the takeover up (one scale
// for all panels, logarithmic), per implementation the median (solid) and
// the worst VIP (dashed). A cell where not every VIP came back is marked
// with how many did.
func (s *Sweep) WriteSVG(w io.Writer) error {
	const (
		panelW, panelH = 250.0, 230.0
		gap, left, top = 26.0, 58.0, 78.0
		bottom         = 70.0
	)
	n := max(len(s.Routers), 1)
	width := left + float64(n)*panelW + float64(n-1)*gap + svgMargin
	height := top + panelH + bottom
	lo, hi := 10.0, 1000.0 // ms, widened to the data
	for _, c := range s.Cells {
		for _, v := range []float64{c.P50MS, c.WorstMS} {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	y := func(ms float64) float64 {
		ms = math.Max(ms, lo)
		return top + panelH - (math.Log10(ms)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*panelH
	}
	var g svg
	g.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="%s">`+"\n",
		width, height, width, height, svgFont)
	title := "Outage after the takeover: vipd and keepalived, side by side, IPv4 VIPs"
	if s.IPv6 {
		title = "Outage after the takeover: vipd and keepalived, side by side, IPv6 VIPs"
	}
	g.f("<title>%s</title>\n", html.EscapeString(title))
	g.rect(0, 0, width, height, `fill="#ffffff"`)
	g.text(svgMargin, svgMargin+14, `font-size="17" font-weight="700" fill="`+colInk+`"`, title)
	g.text(svgMargin, svgMargin+34, `font-size="12" fill="`+colMuted+`"`,
		fmt.Sprintf("%s · %d CPUs · advert %.0f ms · one run per cell · highest load average %.1f · solid: median VIP, dashed: worst VIP",
			s.Host.Kernel, s.Host.CPUs, s.AdvertMS, s.LoadMax))
	for pi, router := range s.Routers {
		x0 := left + float64(pi)*(panelW+gap)
		g.rect(x0, top, panelW, panelH, `fill="`+colLane+`"`)
		g.text(x0, top-8, `font-size="13" font-weight="700" fill="`+colInk+`"`, router)
		for d := lo; d <= hi*1.001; d *= 10 {
			g.line(x0, y(d), x0+panelW, y(d), `stroke="`+colGrid+`"`)
			if pi == 0 {
				g.text(x0-6, y(d)+4, `font-size="11" text-anchor="end" fill="`+colMuted+`"`, fmtMS(d))
			}
		}
		step := panelW / float64(max(len(s.Sizes), 1))
		x := func(i int) float64 { return x0 + step*(float64(i)+0.5) }
		for i, size := range s.Sizes {
			g.text(x(i), top+panelH+16, `font-size="11" text-anchor="middle" fill="`+colMuted+`"`, strconv.Itoa(size))
		}
		for k, im := range []Impl{Vipd, Keepalived} {
			col := colVipd
			if im == Keepalived {
				col = colKeepalived
			}
			for _, worst := range []bool{false, true} {
				var pts string
				for i, size := range s.Sizes {
					c := s.Cell(router, size, im)
					if c == nil || c.Skipped != "" || c.Recovered == 0 {
						continue
					}
					v := c.P50MS
					if worst {
						v = c.WorstMS
					}
					pts += fmt.Sprintf("%.1f,%.1f ", x(i), y(v))
					g.f(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x(i), y(v), col)
				}
				dash := ""
				if worst {
					dash = ` stroke-dasharray="5,4"`
				}
				if pts != "" {
					g.f(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", pts, col, dash)
				}
			}
			for i, size := range s.Sizes {
				c := s.Cell(router, size, im)
				if c == nil || c.AllBack {
					continue
				}
				label := "skipped"
				if c.Skipped == "" {
					label = fmt.Sprintf("%d/%d", c.Recovered, c.Total)
				}
				// Neighbouring columns' labels on different rows, so that
				// they do not overlap; the last column's ends inside the panel.
				lx, anchor := x(i), "middle"
				if i == len(s.Sizes)-1 {
					lx, anchor = x(i)+12, "end"
				}
				ly := top + 12 + float64(k)*13 + float64(i%2)*2*13 // two implementations
				g.text(lx, ly, `font-size="10" text-anchor="`+anchor+`" fill="`+col+`"`, label)
			}
		}
	}
	g.text(left, top+panelH+36, `font-size="12" fill="`+colMuted+`"`, "VIPs")
	ly := top + panelH + 56
	for k, im := range []Impl{Vipd, Keepalived} {
		col := colVipd
		if im == Keepalived {
			col = colKeepalived
		}
		lx := left + float64(k)*170
		g.line(lx, ly-4, lx+28, ly-4, `stroke="`+col+`" stroke-width="2"`)
		g.text(lx+34, ly, `font-size="12" fill="`+colInk+`"`, string(im)+" (n/N: VIPs back)")
	}
	g.f("</svg>\n")
	_, err := io.WriteString(w, g.b.String())
	return err
}
