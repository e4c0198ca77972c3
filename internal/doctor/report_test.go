package doctor

import (
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/verify"
)

func sampleReport() Report {
	v := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	held := func(p netip.Prefix, s verify.State) Observation {
		return Observation{Instance: "v4", Interface: "eth0", VIP: p, OurMAC: ourMAC, Held: true,
			Targets: []verify.VIPStatus{target(p, rtr4, s)}}
	}
	obs := []Observation{
		held(v("192.0.2.100/24"), verify.Verified),
		held(v("192.0.2.101/24"), verify.Stale),
		held(v("192.0.2.103/24"), verify.Stale),
		{Instance: "v4b", Interface: "eth1", VIP: v("198.51.100.7/24"), OurMAC: ourMAC, Held: true,
			Targets: []verify.VIPStatus{target(v("198.51.100.7/24"), netip.MustParseAddr("198.51.100.1"), verify.Stale)}},
		{Instance: "v4b", Interface: "eth1", VIP: v("198.51.100.8/24"), OurMAC: ourMAC,
			Answers: []net.HardwareAddr{otherMAC},
			Daemon:  &DaemonView{State: "BACKUP", MisdirectedBefore: 1, MisdirectedAfter: 9}},
		{Instance: "v6", Interface: "eth0", VIP: v("2001:db8:1::100/64"), OurMAC: ourMAC},
	}
	r := Report{Node: "b", Daemon: DaemonInfo{Socket: "/run/vipd/vipd.sock", Error: "not running"}, Elapsed: 1234 * time.Millisecond}
	for _, o := range obs {
		r.Findings = append(r.Findings, Judge(o))
	}
	return r
}

func TestReportCounts(t *testing.T) {
	r := sampleReport()
	if got := r.Count(Stale); got != 3 {
		t.Errorf("stale: %d", got)
	}
	if got := r.Unreachable(); got != 5 {
		t.Errorf("unreachable: %d", got)
	}
	want := []string{
		"vipd nudge --interface eth0 --vip 192.0.2.101,192.0.2.103",
		"vipd nudge --interface eth1 --vip 198.51.100.7",
	}
	if got := r.NudgeCommands(); !reflect.DeepEqual(got, want) {
		t.Errorf("nudge commands %q, want %q", got, want)
	}
	if got, want := r.Summary(), "6 VIPs: 1 ok, 3 stale, 1 nobody answers, 1 misdirected here; 5 unreachable"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got, want := (Report{Findings: r.Findings[:1]}).Summary(), "1 VIP: 1 ok; none unreachable"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestReportRender(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().Render(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"vipd doctor on node b: vipd not reachable at /run/vipd/vipd.sock (not running): the network was probed only\n",
		"INSTANCE  IFACE  VIP ",
		"192.0.2.100      held  this node          192.0.2.1 verified",
		"192.0.2.1 stale",
		"BACKUP, 9 misdirected",
		"misdirected here\n",
		"192.0.2.101 (v4): stale: 192.0.2.1 (02:00:00:00:00:01) answers",
		"  fix: run: vipd nudge --interface eth0 --vip 192.0.2.101\n",
		"2001:db8:1::100 (v6): nobody answers:",
		"6 VIPs: 1 ok, 3 stale, 1 nobody answers, 1 misdirected here; 5 unreachable (in 1.234s)\n",
		"to repair the stale VIPs at once, run on this node: vipd nudge --interface eth0 --vip 192.0.2.101,192.0.2.103\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// An ok VIP without notes gets no detail line.
	if strings.Contains(out, "192.0.2.100 (v4)") {
		t.Errorf("detail for an ok VIP:\n%s", out)
	}
	t.Logf("\n%s", out)
}

func TestReportJSON(t *testing.T) {
	r := sampleReport()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var j ReportJSON
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(j, r.JSON()) {
		t.Errorf("round trip:\n got %+v\nwant %+v", j, r.JSON())
	}
	if j.Node != "b" || j.Daemon.Running || j.Summary.VIPs != 6 || j.Summary.Unreachable != 5 {
		t.Errorf("header: %+v", j)
	}
	if len(j.Summary.Verdicts) != len(Verdicts()) || j.Summary.Verdicts["stale"] != 3 || j.Summary.Verdicts["conflict"] != 0 {
		t.Errorf("verdict counts: %v", j.Summary.Verdicts)
	}
	f := j.VIPs[1]
	if f.VIP != "192.0.2.101" || f.Verdict != Stale || !f.Unreachable || len(f.Targets) != 1 ||
		f.Targets[0] != (TargetJSON{Target: "192.0.2.1", TargetMAC: rtrMAC.String(), State: "stale"}) {
		t.Errorf("stale finding: %+v", f)
	}
	m := j.VIPs[4]
	if m.Verdict != MisdirectedHere || m.Daemon == nil || m.Daemon.Misdirected != 9 || m.Daemon.MisdirectedNow != 8 ||
		!reflect.DeepEqual(m.AnsweredBy, []string{otherMAC.String()}) {
		t.Errorf("misdirected finding: %+v %+v", m, m.Daemon)
	}
	if !bytes.Contains(b, []byte(`"answered_by":[]`)) || !bytes.Contains(b, []byte(`"verdict":"nobody_answers"`)) {
		t.Errorf("JSON: %s", b)
	}
}

func TestFromConfigAndStatus(t *testing.T) {
	cfg := &config.Config{Instances: []config.Instance{{Name: "web", Interface: "eth0",
		VIPs:   []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")},
		Verify: config.Verify{Enabled: true, Targets: []netip.Addr{netip.MustParseAddr("192.0.2.254")}}}}}
	want := []Instance{{Name: "web", Interface: "eth0", VIPs: cfg.Instances[0].VIPs, Targets: cfg.Instances[0].Verify.Targets}}
	if got := FromConfig(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("FromConfig: %+v", got)
	}
	st := control.Status{Instances: []control.InstanceStatus{{Name: "web", Interface: "eth0",
		VIPs: []control.VIPStatus{{Address: "192.0.2.100/24"}, {Address: "2001:db8::1"}}}}}
	got, err := FromStatus(st)
	if err != nil {
		t.Fatal(err)
	}
	wantSt := []Instance{{Name: "web", Interface: "eth0", VIPs: []netip.Prefix{
		netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("2001:db8::1/128")}}}
	if !reflect.DeepEqual(got, wantSt) {
		t.Errorf("FromStatus: %+v", got)
	}
	st.Instances[0].VIPs[0].Address = "nonsense"
	if _, err := FromStatus(st); err == nil {
		t.Error("bad address accepted")
	}
}

func TestDaemonViews(t *testing.T) {
	status := func(state string, mis uint64, conflict string) *control.Status {
		return &control.Status{Instances: []control.InstanceStatus{{Name: "v4", State: state,
			Master: &control.PeerStatus{Address: "192.0.2.12", MAC: "02:00:00:00:00:0b", Priority: 100},
			VIPs:   []control.VIPStatus{{Address: "192.0.2.101/24", Misdirected: mis, ConflictMAC: conflict, Verification: "verified"}}}}}
	}
	key := VIPKey{"v4", netip.MustParseAddr("192.0.2.101")}
	tests := []struct {
		name          string
		before, after *control.Status
		want          *DaemonView
	}{
		{"no daemon", nil, nil, nil},
		{"both readings", status("BACKUP", 3, ""), status("MASTER", 7, "02:00:00:00:00:0c"),
			&DaemonView{State: "MASTER", Master: "192.0.2.12", MasterMAC: "02:00:00:00:00:0b", Verification: "verified",
				ConflictMAC: "02:00:00:00:00:0c", MisdirectedBefore: 3, MisdirectedAfter: 7}},
		{"daemon stopped answering", status("BACKUP", 3, ""), nil,
			&DaemonView{State: "BACKUP", Master: "192.0.2.12", MasterMAC: "02:00:00:00:00:0b", Verification: "verified",
				MisdirectedBefore: 3, MisdirectedAfter: 3}},
		{"daemon started meanwhile", nil, status("BACKUP", 5, ""),
			&DaemonView{State: "BACKUP", Master: "192.0.2.12", MasterMAC: "02:00:00:00:00:0b", Verification: "verified",
				MisdirectedBefore: 5, MisdirectedAfter: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DaemonViews(tt.before, tt.after)[key]
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
