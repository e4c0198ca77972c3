package lab

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func ptr(v float64) *float64 { return &v }

func TestSweepCellsAndVerdict(t *testing.T) {
	rep := &Report{Router: "plain", VIPs: 3}
	run := RunResult{Recovered: 3, Total: 3, TakeoverMS: 360, VIPs: []VIPOutcome{
		{Recovered: true, AfterTakeoverMS: ptr(30)},
		{Recovered: true, AfterTakeoverMS: ptr(10)},
		{Recovered: true, AfterTakeoverMS: ptr(90)},
	}}
	run.P50, run.Max = Stat{MS: 390}, Stat{MS: 450}
	v := cellOf(rep, &ImplReport{Name: "vipd", Runs: []RunResult{run}})
	if v.P50MS != 30 || v.WorstMS != 90 || !v.AllBack || v.OutageMax.MS != 450 {
		t.Fatalf("vipd cell %+v", v)
	}
	k := v
	k.Impl, k.P50MS, k.WorstMS = Keepalived, 29, 80
	k.OutageP50, k.OutageMax = Stat{MS: 380}, Stat{MS: 440}
	s := &Sweep{Routers: []string{"plain"}, Sizes: []int{3}, Cells: []SweepCell{v, k}}
	if got := s.Verdict("plain", 3); got != "behind: worst" { // 390 <= 380*1.05; 450 > 440
		t.Fatalf("verdict %q", got)
	}
	// Within a probe interval: not behind, but said.
	s.Cells[0].ProbeMS, s.Cells[1].ProbeMS = 10, 10
	if got := s.Verdict("plain", 3); got != "ok (worst +10 ms, within a probe interval)" {
		t.Fatalf("verdict %q", got)
	}
	s.Cells[1].OutageMax = Stat{MS: 439}
	if got := s.Verdict("plain", 3); got != "behind: worst" {
		t.Fatalf("verdict %q (11 ms over a 10 ms probe interval)", got)
	}
	s.Cells[0].ClientLagMS = 120
	if got := s.Verdict("plain", 3); got != "behind: worst (the client fell 120 ms behind)" {
		t.Fatalf("verdict %q", got)
	}
	s.Cells[0].ClientLagMS = 0
	s.Cells[1].WorstMS, s.Cells[1].OutageMax = 95, Stat{MS: 460}
	if got := s.Verdict("plain", 3); got != "ok" {
		t.Fatalf("verdict %q", got)
	}
	s.Cells[0].Recovered, s.Cells[0].AllBack = 2, false
	if got := s.Verdict("plain", 3); got != "behind: 2/3 back" {
		t.Fatalf("verdict %q", got)
	}
	var md, svg bytes.Buffer
	if err := s.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "| plain | 3 | 2/3 | 30 ms | 90 ms | 3/3 | 29 ms | 95 ms | 390 ms / 450 ms; 380 ms / 460 ms | behind: 2/3 back |") {
		t.Fatalf("markdown %v:\n%s", err, md.String())
	}
	if err := s.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg.Bytes(), new(struct{})); err != nil {
		t.Fatalf("SVG is not well-formed: %v", err)
	}
	if !strings.Contains(svg.String(), "2/3") {
		t.Error("the SVG does not mark the VIPs that did not come back")
	}
}
