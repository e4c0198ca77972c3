package lab

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
)

// WriteHTML writes a self-contained page: the summary, the timeline (the
// SVG, inline), the per-VIP table of the first run and the JSON report.
func (r *Report) WriteHTML(w io.Writer) error {
	var svg strings.Builder
	if err := r.WriteSVG(&svg); err != nil {
		return err
	}
	var text strings.Builder
	if err := r.WriteText(&text, TextOptions{}); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("lab: encode report: %w", err)
	}
	tl := newTimeline(r)
	var b strings.Builder
	e := html.EscapeString
	fmt.Fprintf(&b, `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
<style>
body { font-family: %s; color: %s; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
p.sub { color: %s; margin-top: 0; }
.summary { font-family: %s; background: #f6f8fa; padding: .8rem 1rem; border-radius: 6px; }
.ok { color: %s; font-weight: 700; } .bad { color: %s; font-weight: 700; }
table { border-collapse: collapse; font-size: .85rem; margin-top: 1rem; }
th, td { padding: .2rem .7rem; text-align: left; border-bottom: 1px solid #d8dee4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.no { color: %s; font-weight: 700; }
.svg { overflow-x: auto; margin: 1rem 0; }
pre { font-size: .75rem; background: #f6f8fa; padding: 1rem; overflow: auto; }
</style></head><body>
`, e(tl.title()), svgFont, colInk, colMuted, svgMono, colUp, colDark, colDark)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"sub\">%s</p>\n", e(tl.title()), e(tl.subtitle()))
	b.WriteString(`<div class="summary">`)
	for _, ir := range r.Impls {
		cls := "ok"
		if ir.Summary == nil || ir.Summary.Recovered[1] < ir.Summary.Total {
			cls = "bad"
		}
		fmt.Fprintf(&b, "<div class=\"%s\">%s</div>", cls, e(ir.SummaryLine()))
	}
	b.WriteString("</div>\n<div class=\"svg\">\n")
	b.WriteString(svg.String())
	b.WriteString("</div>\n")
	if len(tl.impls) > 0 {
		b.WriteString(vipTableHTML(r, tl.impls))
	}
	fmt.Fprintf(&b, "<details><summary>text report</summary><pre>%s</pre></details>\n", e(text.String()))
	fmt.Fprintf(&b, "<details><summary>JSON report</summary><pre>%s</pre></details>\n", e(string(js)))
	b.WriteString("</body></html>\n")
	_, err = io.WriteString(w, b.String())
	return err
}

// vipTableHTML is the first run's per-VIP table, one column group per
// implementation.
func vipTableHTML(r *Report, impls []ImplReport) string {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString("<table><thead><tr><th>VIP</th><th>router</th>")
	extra, extraCell := r.vipdColumn()
	for _, ir := range impls {
		fmt.Fprintf(&b, "<th>%s outage</th><th>recovered</th>", e(ir.Name))
		if ir.Name == string(Vipd) {
			fmt.Fprintf(&b, "<th>%s</th>", e(extra))
		}
	}
	b.WriteString("</tr></thead><tbody>\n")
	for i, v := range impls[0].Runs[0].VIPs {
		tag := ""
		if v.Affected {
			tag = r.Router
		}
		fmt.Fprintf(&b, "<tr><td><code>%s</code></td><td>%s</td>", e(v.VIP), e(tag))
		for _, ir := range impls {
			run := ir.Runs[0]
			if i >= len(run.VIPs) {
				b.WriteString("<td></td><td></td>")
				continue
			}
			u := run.VIPs[i]
			rec, cls := "yes", ""
			if !u.Recovered {
				rec, cls = "no", " class=\"no\""
			}
			fmt.Fprintf(&b, "<td class=\"num\">%s</td><td%s>%s</td>", e(Stat{u.OutageMS, !u.Recovered}.String()), cls, rec)
			if ir.Name == string(Vipd) {
				fmt.Fprintf(&b, "<td>%s</td>", e(extraCell(u)))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>\n")
	return b.String()
}
