package lab

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (-update rewrites it):\n%s", path, got)
	}
}

func TestWriteTextCompare(t *testing.T) {
	var b bytes.Buffer
	if err := stickyReport(6).WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "sticky_compare.txt", b.Bytes())
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("trailing blanks: %q", line)
		}
	}
}

func TestWriteTextRuns(t *testing.T) {
	rep := stickyReport(4)
	for i := range rep.Impls {
		ir := &rep.Impls[i]
		second := ir.Runs[0]
		second.Run = 2
		second.TakeoverMS = 300
		ir.Runs = append(ir.Runs, second)
		ir.summarize()
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "sticky_runs.txt", b.Bytes())
}

func TestWriteTextManyVIPs(t *testing.T) {
	o := Options{VIPs: 300}.withDefaults()
	rep := newReport(o)
	run := RunResult{Run: 1, TakeoverMS: 2600, WatchedMS: 6000, ProbeIntervalMS: 15}
	for i := range 300 {
		out := 3000 + float64(i)
		run.VIPs = append(run.VIPs, VIPOutcome{VIP: fmt.Sprintf("198.18.%d.%d", (100+i)/256, (100+i)%256),
			Recovered: true, OutageMS: out, DarkMS: fp(1), BackMS: fp(out)})
	}
	run.finish()
	rep.Impls = []ImplReport{{Name: "vipd", Runs: []RunResult{run}}}
	rep.Impls[0].summarize()
	var b bytes.Buffer
	if err := rep.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.Contains(s, "the 10 slowest of 300 VIPs") || strings.Count(s, "198.18.") != 10 ||
		!strings.Contains(s, "198.18.1.143 ") || !strings.Contains(s, "each VIP probed every 15ms") {
		t.Errorf("limited table:\n%s", s)
	}
	b.Reset()
	if err := rep.WriteText(&b, TextOptions{AllVIPs: true}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "198.18."); n != 300 {
		t.Errorf("--all-vips listed %d VIPs", n)
	}
}

func TestWriteTextSkipped(t *testing.T) {
	rep := stickyReport(2)
	rep.Impls[1] = ImplReport{Name: "keepalived", Skipped: "keepalived is not installed"}
	var b bytes.Buffer
	if err := rep.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "keepalived: skipped (keepalived is not installed)") ||
		strings.Contains(b.String(), "keepalived outage") {
		t.Errorf("skipped implementation:\n%s", b.String())
	}
}

// checkXML parses s and counts its elements by name.
func checkXML(t *testing.T, s string) map[string]int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	n := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	if err := stickyReport(20).WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	n := checkXML(t, s)
	if n["svg"] != 1 || n["title"] != 1 {
		t.Errorf("elements %v", n)
	}
	for _, want := range []string{"vipd", "keepalived", "recovered 20/20", "recovered 10/20", "never back", "B master", "A off",
		"192.0.2.119", "Failover of 20 IPv4 VIPs behind a sticky router: vipd vs keepalived", "2026-11-24"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// Ten lost VIPs, drawn hatched, in keepalived's panel only.
	if got := strings.Count(s, `fill="url(#lost)"`); got != 10+1 { // +1: the legend
		t.Errorf("%d hatched bars, want 10 and the legend's", got)
	}
	// One red outage bar per recovered VIP that lost replies: 20 + 10.
	if got := strings.Count(s, `fill="`+colDark+`"/>`); got != 30+2 { // +2: the legend, the hatch pattern
		t.Errorf("%d red bars, want 30, the legend's and the pattern's", got)
	}
	golden(t, "sticky_compare.svg", b.Bytes())
}

func TestWriteSVGGrouped(t *testing.T) {
	o := Options{VIPs: 4096, Advert: time.Second}.withDefaults()
	rep := newReport(o)
	run := RunResult{Run: 1, TakeoverMS: 2660, WatchedMS: 6000, ProbeIntervalMS: 204.8}
	for i := range 4096 {
		out := 3000 + float64(i)/2
		run.VIPs = append(run.VIPs, VIPOutcome{VIP: fmt.Sprintf("198.18.%d.%d", (100+i)/256, (100+i)%256),
			Recovered: true, OutageMS: out, DarkMS: fp(float64(i % 205)), BackMS: fp(out)})
	}
	run.finish()
	rep.Impls = []ImplReport{{Name: "vipd", Runs: []RunResult{run}}}
	var b bytes.Buffer
	if err := rep.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	n := checkXML(t, s)
	if !strings.Contains(s, "each row: 32 VIPs") {
		t.Error("grouped rows not explained")
	}
	if n["rect"] > 20000 || b.Len() > 2<<20 {
		t.Errorf("%d rects, %d bytes: too big", n["rect"], b.Len())
	}
	if !strings.Contains(s, `fill="`+colDark+`"`) {
		t.Error("no dark share drawn")
	}
}

func TestWriteSVGEmpty(t *testing.T) {
	rep := newReport(Options{}.withDefaults())
	rep.Impls = []ImplReport{{Name: "vipd"}}
	var b bytes.Buffer
	if err := rep.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	checkXML(t, b.String())
	if !strings.Contains(b.String(), "no run finished") {
		t.Error("empty report")
	}
}

func TestWriteHTML(t *testing.T) {
	var b bytes.Buffer
	if err := stickyReport(4).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"<!doctype html>", "<svg", "</svg>", "<table>", "directed_request", "keepalived: recovered=2/4",
		`class="bad"`, `class="ok"`, "&#34;impls&#34;"} {
		if !strings.Contains(s, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestTickStep(t *testing.T) {
	for _, span := range []float64{500, 1500, 10500, 60000, 3.6e6} {
		step := tickStep(span)
		if n := span / step; n > 10 || (span > 1000 && n < 2) {
			t.Errorf("span %v: step %v gives %.1f ticks", span, step, n)
		}
	}
	if got := fmtTick(-500); got != "-0.5s" {
		t.Errorf("fmtTick(-500) = %q", got)
	}
	if got := fmtTick(2000); got != "+2s" {
		t.Errorf("fmtTick(2000) = %q", got)
	}
}

func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, false)
	p.Begin("vipd 1/2")
	p.Phase(PhaseBuilding, "")
	p.Update("vl-1-0") // not shown without a terminal
	p.Phase(PhaseFault, "A: switch port down")
	p.Note("removed %d namespaces", 3)
	p.Done("recovered=20/20")
	p.Finish()
	want := "vipd lab: [vipd 1/2] building\n" +
		"vipd lab: [vipd 1/2] fault: A: switch port down\n" +
		"vipd lab: removed 3 namespaces\n" +
		"vipd lab: [vipd 1/2] done: recovered=20/20\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	var nilp *Progress // quiet
	nilp.Begin("x")
	nilp.Phase(PhaseWatching, "")
	nilp.Update("")
	nilp.Note("x")
	nilp.Done("")
	nilp.Finish()
}

func TestProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, true)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	p.Begin("keepalived 1/1")
	p.Phase(PhaseWatching, "")
	now = now.Add(1500 * time.Millisecond)
	p.Update("recovered 3/20")
	p.Done("recovered=10/20")
	got := b.String()
	want := "\r\x1b[K  ⠋ keepalived 1/1 watching    0.0s" +
		"\r\x1b[K  ⠙ keepalived 1/1 watching    1.5s  recovered 3/20" +
		"\r\x1b[K  ✓ keepalived 1/1 recovered=10/20\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	b.Reset()
	p.Finish() // nothing drawn since Done
	if b.Len() != 0 {
		t.Errorf("Finish wrote %q", b.String())
	}
}

func TestRouterNames(t *testing.T) {
	// The CLI's --router values are labnet's names.
	for _, n := range []string{"plain", "sticky", "reply-only", "policer", "lossy"} {
		if _, err := labnet.ParseBehaviour(n); err != nil {
			t.Error(err)
		}
	}
}

func TestWriteTextBusy(t *testing.T) {
	rep := stickyReport(2)
	rep.Host.CPUs, rep.LoadStart, rep.LoadEnd = 2, 1.5, 11.3
	var b bytes.Buffer
	if err := rep.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "warning: the machine was busy (load 1.5, then 11.3, on 2 CPUs)") {
		t.Errorf("no warning:\n%s", b.String())
	}
	rep.LoadEnd = 2.9 // the lab itself keeps about one CPU busy
	b.Reset()
	rep.WriteText(&b, TextOptions{})
	if strings.Contains(b.String(), "warning") {
		t.Errorf("warning on a quiet machine:\n%s", b.String())
	}
}

func TestWriteTextClientLag(t *testing.T) {
	rep := stickyReport(2)
	at := 2000.0
	rep.Impls[0].Runs[0].ClientLagMS, rep.Impls[0].Runs[0].ClientLagAtMS = 1200, &at
	var b bytes.Buffer
	if err := rep.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "warning: in " + rep.Impls[0].Name + "'s run 1 the client fell 1.20s behind its probe schedule 2s after the fault"
	if !strings.Contains(b.String(), want) {
		t.Errorf("no %q in:\n%s", want, b.String())
	}
	rep.Impls[0].Runs[0].ClientLagMS = 20 // a tick or two late: not worth a line
	b.Reset()
	rep.WriteText(&b, TextOptions{})
	if strings.Contains(b.String(), "behind its probe schedule") {
		t.Errorf("warning for a 20 ms lag:\n%s", b.String())
	}
}
