package doctor

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/verify"
)

var (
	ourMAC   = mustMAC("02:00:00:00:00:0b")
	otherMAC = mustMAC("02:00:00:00:00:0a")
	thirdMAC = mustMAC("02:00:00:00:00:0c")
	rtrMAC   = mustMAC("02:00:00:00:00:01")
	vip4     = netip.MustParsePrefix("192.0.2.101/24")
	vip6     = netip.MustParsePrefix("2001:db8:1::101/64")
	rtr4     = netip.MustParseAddr("192.0.2.1")
	rtr6     = netip.MustParseAddr("fe80::1")
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func target(vip netip.Prefix, t netip.Addr, s verify.State) verify.VIPStatus {
	return verify.VIPStatus{VIP: vip.Addr(), Target: t, TargetMAC: rtrMAC, State: s}
}

func TestJudge(t *testing.T) {
	base := func(vip netip.Prefix) Observation {
		return Observation{Instance: "v4", Interface: "eth0", VIP: vip, OurMAC: ourMAC}
	}
	held := func(vip netip.Prefix, ts ...verify.VIPStatus) Observation {
		o := base(vip)
		o.Held = true
		o.Targets = ts
		return o
	}
	with := func(o Observation, f func(*Observation)) Observation { f(&o); return o }

	tests := []struct {
		name string
		obs  Observation
		want Verdict
		// reason, fix and notes must contain these (empty: not checked).
		reason, fix, note string
		noNotes           bool
	}{
		{name: "held, verified", obs: held(vip4, target(vip4, rtr4, verify.Verified)), want: OK,
			reason: "192.0.2.1 (02:00:00:00:00:01) delivers it", noNotes: true},
		{name: "held, stale", obs: held(vip4, target(vip4, rtr4, verify.Stale)), want: Stale,
			reason: "answers this node's primary address but not the VIP",
			fix:    "run: vipd nudge --interface eth0 --vip 192.0.2.101"},
		{name: "held, IPv6 stale", obs: held(vip6, target(vip6, rtr6, verify.Stale)), want: Stale,
			fix: "vipd nudge --interface eth0 --vip 2001:db8:1::101"},
		{name: "held, one of two targets stale", obs: held(vip4, target(vip4, rtr4, verify.Verified),
			target(vip4, netip.MustParseAddr("192.0.2.254"), verify.Stale)), want: Stale, reason: "192.0.2.254"},
		{name: "held, stale and daemon verifying", obs: with(held(vip4, target(vip4, rtr4, verify.Stale)), func(o *Observation) {
			o.Daemon = &DaemonView{State: "MASTER", Verification: "stale"}
		}), want: Stale, note: "the running vipd verifies this VIP too (stale)"},
		{name: "held, target dead", obs: held(vip4, target(vip4, rtr4, verify.Unverifiable)), want: Unverifiable,
			reason: "answers no echo", fix: "verify.targets"},
		{name: "held, target undecided", obs: held(vip4, target(vip4, rtr4, verify.Unknown)), want: Unverifiable},
		{name: "held, no target", obs: held(vip4, verify.VIPStatus{VIP: vip4.Addr(), State: verify.Unverifiable}), want: Unverifiable,
			reason: "no upstream target", fix: "verify.targets"},
		{name: "interface missing", obs: with(base(vip4), func(o *Observation) {
			o.AnswerErr, o.CheckErr, o.NoInterface = "interface eth0: no such network interface", "interface eth0: no such network interface", true
		}), want: Unverifiable, reason: "interface eth0 does not exist on this node", fix: "wait_for_interface: true"},
		{name: "held, check failed", obs: with(held(vip4), func(o *Observation) { o.CheckErr = "operation not permitted" }),
			want: Unverifiable, reason: "operation not permitted"},
		{name: "held, another MAC answers", obs: with(held(vip4, target(vip4, rtr4, verify.Verified)), func(o *Observation) {
			o.Answers = []net.HardwareAddr{otherMAC}
		}), want: Conflict, reason: "02:00:00:00:00:0a also answers ARP", fix: "check the host with MAC 02:00:00:00:00:0a"},
		{name: "held, IPv6 another MAC answers", obs: with(held(vip6), func(o *Observation) {
			o.Answers = []net.HardwareAddr{otherMAC}
		}), want: Conflict, reason: "neighbor solicitations"},
		{name: "held, only our own MAC among the answers", obs: with(held(vip4, target(vip4, rtr4, verify.Verified)), func(o *Observation) {
			o.Answers = []net.HardwareAddr{ourMAC}
		}), want: OK},
		{name: "held, probe failed: still judged on targets", obs: with(held(vip4, target(vip4, rtr4, verify.Verified)), func(o *Observation) {
			o.AnswerErr = "permission denied"
		}), want: OK, note: "could not ask who else answers for it: permission denied"},
		{name: "held while daemon is BACKUP", obs: with(held(vip4, target(vip4, rtr4, verify.Verified)), func(o *Observation) {
			o.Daemon = &DaemonView{State: "BACKUP"}
		}), want: OK, note: "although its vipd is BACKUP"},
		{name: "not held, one owner", obs: with(base(vip4), func(o *Observation) { o.Answers = []net.HardwareAddr{otherMAC} }),
			want: OK, reason: "held by 02:00:00:00:00:0a", noNotes: true},
		{name: "not held, same owner answers twice", obs: with(base(vip4), func(o *Observation) {
			o.Answers = []net.HardwareAddr{otherMAC, mustMAC("02:00:00:00:00:0A")}
		}), want: OK},
		{name: "not held, two owners", obs: with(base(vip4), func(o *Observation) {
			o.Answers = []net.HardwareAddr{otherMAC, thirdMAC}
		}), want: Conflict, reason: "02:00:00:00:00:0a and 02:00:00:00:00:0c all answer"},
		{name: "not held, nobody", obs: base(vip4), want: NobodyAnswers, reason: "no host answers ARP", fix: "instance v4"},
		{name: "not held, nobody, daemon knows the master", obs: with(base(vip4), func(o *Observation) {
			o.Daemon = &DaemonView{State: "BACKUP", Master: "192.0.2.11", MasterMAC: otherMAC.String()}
		}), want: NobodyAnswers, fix: "the VRRP master 192.0.2.11 (02:00:00:00:00:0a) does not hold it"},
		{name: "not held, probe failed", obs: with(base(vip4), func(o *Observation) { o.AnswerErr = "permission denied" }),
			want: Unverifiable, reason: "permission denied"},
		{name: "not held, misdirected now", obs: with(base(vip4), func(o *Observation) {
			o.Answers = []net.HardwareAddr{otherMAC}
			o.Daemon = &DaemonView{State: "BACKUP", MisdirectedBefore: 10, MisdirectedAfter: 25}
		}), want: MisdirectedHere, reason: "(15 packets while doctor ran)",
			fix: "on the owner (MAC 02:00:00:00:00:0a) run: vipd nudge --interface IFACE --vip 192.0.2.101"},
		{name: "not held, misdirected new episode", obs: with(base(vip4), func(o *Observation) {
			o.Answers = []net.HardwareAddr{otherMAC}
			o.Daemon = &DaemonView{State: "BACKUP", MisdirectedBefore: 40, MisdirectedAfter: 3}
		}), want: MisdirectedHere, reason: "(3 packets"},
		{name: "not held, misdirected earlier only", obs: with(base(vip4), func(o *Observation) {
			o.Answers = []net.HardwareAddr{otherMAC}
			o.Daemon = &DaemonView{State: "BACKUP", MisdirectedBefore: 12, MisdirectedAfter: 12}
		}), want: OK, note: "12 misdirected packets for it earlier"},
		{name: "not held, misdirected rows forgotten", obs: with(base(vip4), func(o *Observation) {
			o.Answers = []net.HardwareAddr{otherMAC}
			o.Daemon = &DaemonView{State: "BACKUP", MisdirectedBefore: 12}
		}), want: OK, noNotes: true},
		{name: "conflict the daemon saw earlier", obs: with(held(vip4, target(vip4, rtr4, verify.Verified)), func(o *Observation) {
			o.Daemon = &DaemonView{State: "MASTER", ConflictMAC: otherMAC.String()}
		}), want: OK, note: "vipd saw 02:00:00:00:00:0a claim this VIP earlier"},
		{name: "conflict the daemon sees and the probe too", obs: with(held(vip4, target(vip4, rtr4, verify.Verified)), func(o *Observation) {
			o.Daemon = &DaemonView{State: "MASTER", ConflictMAC: otherMAC.String()}
			o.Answers = []net.HardwareAddr{otherMAC}
		}), want: Conflict, noNotes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Judge(tt.obs)
			if f.Verdict != tt.want {
				t.Fatalf("verdict %v (%s), want %v", f.Verdict, f.Reason, tt.want)
			}
			if f.Reason == "" {
				t.Error("no reason")
			}
			if f.Verdict != OK && f.Fix == "" {
				t.Errorf("verdict %v without a fix", f.Verdict)
			}
			if f.Verdict == OK && f.Fix != "" {
				t.Errorf("ok with a fix: %q", f.Fix)
			}
			if !strings.Contains(f.Reason, tt.reason) {
				t.Errorf("reason %q, want it to contain %q", f.Reason, tt.reason)
			}
			if !strings.Contains(f.Fix, tt.fix) {
				t.Errorf("fix %q, want it to contain %q", f.Fix, tt.fix)
			}
			notes := strings.Join(f.Notes, "\n")
			if !strings.Contains(notes, tt.note) {
				t.Errorf("notes %q, want them to contain %q", notes, tt.note)
			}
			if tt.noNotes && len(f.Notes) > 0 {
				t.Errorf("unexpected notes %q", notes)
			}
		})
	}
}

func TestVerdictNames(t *testing.T) {
	unreachable := map[Verdict]bool{Stale: true, NobodyAnswers: true, Conflict: true, MisdirectedHere: true}
	seen := map[string]bool{}
	for _, v := range Verdicts() {
		s := v.String()
		if s == "" || strings.HasPrefix(s, "Verdict(") || seen[s] {
			t.Errorf("verdict %d: bad or repeated name %q", v, s)
		}
		seen[s] = true
		var back Verdict
		if err := back.UnmarshalText([]byte(s)); err != nil || back != v {
			t.Errorf("%q: round trip gave %v, %v", s, back, err)
		}
		if v.Unreachable() != unreachable[v] {
			t.Errorf("%v.Unreachable() = %v", v, v.Unreachable())
		}
	}
	if got := NobodyAnswers.Label(); got != "nobody answers" {
		t.Errorf("label %q", got)
	}
	if got := Verdict(0).String(); got != "Verdict(0)" {
		t.Errorf("zero verdict %q", got)
	}
	var v Verdict
	if err := v.UnmarshalText([]byte("fine")); err == nil {
		t.Error("unknown name accepted")
	}
}
