package lab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

func fp(v float64) *float64 { return &v }

// stickyRun is a run in which every second VIP of n did not recover (when
// lost is true) and the others came back between 300 and 300+n ms.
func stickyRun(n int, lost bool, fixedBy string) RunResult {
	r := RunResult{Run: 1, Prefix: "vl-x-0", TakeoverMS: 280, WatchedMS: 10000, ProbeIntervalMS: 10}
	for i := range n {
		v := VIPOutcome{VIP: fmt.Sprintf("192.0.2.%d", 100+i), Affected: i%2 == 1, DarkMS: fp(2)}
		switch {
		case v.Affected && lost:
			v.OutageMS = 9950
		case v.Affected:
			v.Recovered, v.OutageMS, v.FixedBy = true, 900+float64(i), fixedBy
		default:
			v.Recovered, v.OutageMS = true, 300+float64(i)
		}
		if v.Recovered {
			v.BackMS = fp(v.OutageMS)
			v.AfterTakeoverMS = fp(v.OutageMS - r.TakeoverMS)
		}
		r.VIPs = append(r.VIPs, v)
	}
	r.finish()
	return r
}

func stickyReport(n int) *Report {
	o := Options{Router: labnet.Sticky, VIPs: n}.withDefaults()
	rep := newReport(o)
	rep.Started = time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	rep.Impls = []ImplReport{
		{Name: "vipd", Runs: []RunResult{stickyRun(n, false, "directed_request")}},
		{Name: "keepalived", Runs: []RunResult{stickyRun(n, true, "")}},
	}
	for i := range rep.Impls {
		rep.Impls[i].summarize()
	}
	return rep
}

func TestOutageStats(t *testing.T) {
	mk := func(out ...float64) []VIPOutcome {
		var vs []VIPOutcome
		for _, o := range out {
			if o < 0 {
				vs = append(vs, VIPOutcome{OutageMS: -o}) // not recovered
			} else {
				vs = append(vs, VIPOutcome{OutageMS: o, Recovered: true})
			}
		}
		return vs
	}
	tests := []struct {
		name     string
		vs       []VIPOutcome
		p50, max Stat
	}{
		{"none", nil, Stat{}, Stat{}},
		{"one", mk(5), Stat{MS: 5}, Stat{MS: 5}},
		{"odd", mk(3, 1, 2), Stat{MS: 2}, Stat{MS: 3}},
		{"even: nearest rank", mk(4, 1, 3, 2), Stat{MS: 2}, Stat{MS: 4}},
		{"half lost", mk(1, 2, -9000, -9000), Stat{MS: 2}, Stat{MS: 9000, AtLeast: true}},
		{"most lost", mk(1, -9000, -9000), Stat{MS: 9000, AtLeast: true}, Stat{MS: 9000, AtLeast: true}},
		// A lower bound sorts after every measured value, even a larger one.
		{"lower bound is last", mk(12000, -9000), Stat{MS: 12000}, Stat{MS: 9000, AtLeast: true}},
	}
	for _, tt := range tests {
		p50, mx := outageStats(tt.vs)
		if p50 != tt.p50 || mx != tt.max {
			t.Errorf("%s: p50 %+v max %+v, want %+v %+v", tt.name, p50, mx, tt.p50, tt.max)
		}
	}
}

func TestSummarize(t *testing.T) {
	ir := ImplReport{Name: "vipd"}
	ir.summarize()
	if ir.Summary != nil {
		t.Fatal("summary without runs")
	}
	for i, rec := range []int{20, 18, 19} {
		r := RunResult{Run: i + 1, Recovered: rec, Total: 20, TakeoverMS: float64(300 + i),
			P50: Stat{MS: float64(400 - i*10)}, Max: Stat{MS: float64(900 + i)}}
		if rec < 20 {
			r.Max = Stat{MS: 9900, AtLeast: true}
		}
		ir.Runs = append(ir.Runs, r)
	}
	ir.summarize()
	s := ir.Summary
	want := &Summary{Runs: 3, Total: 20, Recovered: [3]int{18, 19, 20},
		P50:      [3]Stat{{MS: 380}, {MS: 390}, {MS: 400}},
		Max:      [3]Stat{{MS: 900}, {MS: 9900, AtLeast: true}, {MS: 9900, AtLeast: true}},
		Takeover: [3]float64{300, 301, 302}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if got, w := ir.SummaryLine(), "vipd: recovered=19/20 p50=390ms max=>9.90s (median of 3 runs)"; got != w {
		t.Errorf("summary line %q, want %q", got, w)
	}
}

func TestRunFinish(t *testing.T) {
	r := stickyRun(20, true, "")
	if r.Recovered != 10 || r.Total != 20 {
		t.Errorf("recovered %d/%d", r.Recovered, r.Total)
	}
	if !r.Max.AtLeast || r.Max.MS != 9950 {
		t.Errorf("max %+v", r.Max)
	}
	if got, want := r.summaryLine(), "recovered=10/20 p50=318ms max=>9.95s takeover=280ms"; got != want {
		t.Errorf("summary line %q, want %q", got, want)
	}
}

func TestFmtSeconds(t *testing.T) {
	tests := []struct {
		ms   float64
		want string
	}{
		{-1, "-"},
		{0, "0ms"},
		{0.4, "0ms"},
		{412.6, "413ms"},
		{999.4, "999ms"},
		{1000, "1s"},
		{1234, "1.23s"},
		{10000, "10s"},
		{9960, "9.96s"},
	}
	for _, tt := range tests {
		if got := fmtSeconds(tt.ms); got != tt.want {
			t.Errorf("fmtSeconds(%v) = %q, want %q", tt.ms, got, tt.want)
		}
	}
	if got := (Stat{MS: 9960, AtLeast: true}).String(); got != ">9.96s" {
		t.Errorf("lower bound %q", got)
	}
}

func TestReportJSON(t *testing.T) {
	rep := stickyReport(4)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, rep) {
		t.Errorf("JSON round trip differs:\n%s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"router", "vips", "impls", "announce_rate", "host", "stale_removed"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if rep.Impl(Keepalived) == nil || rep.Impl("ucarp") != nil {
		t.Error("Impl lookup")
	}
}

func TestFromStatus(t *testing.T) {
	raw := []byte(`{"node":"b","instances":[{"name":"lab","vips":[
		{"address":"192.0.2.100/24","held":true,"verification":"verified","targets":[{"target":"192.0.2.1","state":"verified"}]},
		{"address":"192.0.2.101/24","held":true,"verification":"verified","targets":[{"target":"192.0.2.1","state":"verified","attempts":2,"last_step":"directed_request","fixed_by":"directed_request"}]},
		{"address":"2001:db8:1::100/64","held":true,"verification":"stale","targets":[{"target":"2001:db8:1::1","state":"stale","attempts":3,"last_step":"unicast_na"}]},
		{"address":"bogus","fixed_by":"x"},
		{"address":"192.0.2.103/24","held":true}
	]}]}`)
	got := fromStatus(raw)
	want := map[netip.Addr]vipReport{
		netip.MustParseAddr("192.0.2.100"):     {Verification: "verified"},
		netip.MustParseAddr("192.0.2.101"):     {Verification: "verified", FixedBy: "directed_request"},
		netip.MustParseAddr("2001:db8:1::100"): {Verification: "stale"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fromStatus = %v, want %v", got, want)
	}
	if fromStatus([]byte("not json")) != nil {
		t.Error("garbage gave a result")
	}
	// Today's status, before verification: no fields, no results.
	if got := fromStatus([]byte(`{"instances":[{"vips":[{"address":"192.0.2.100/32","held":true}]}]}`)); len(got) != 0 {
		t.Errorf("plain status gave %v", got)
	}
}

func TestLabPID(t *testing.T) {
	tests := []struct {
		ns  string
		pid int
		ok  bool
	}{
		{"vl-2s-0-client", 100, true},
		{"vl-zz-1a-a", 1295, true},
		{"vt-2s-0-client", 0, false},
		{"vl-", 0, false},
		{"vl-!!-0-a", 0, false},
		{"other", 0, false},
	}
	for _, tt := range tests {
		pid, ok := labPID(tt.ns)
		if ok != tt.ok || (ok && pid != tt.pid) {
			t.Errorf("labPID(%q) = %d, %v; want %d, %v", tt.ns, pid, ok, tt.pid, tt.ok)
		}
	}
}
