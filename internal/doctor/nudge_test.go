package doctor

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/verify"
)

func TestNudgeResult(t *testing.T) {
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	st := func(vip, tgt string, s verify.State, fixed string, attempts int) verify.VIPStatus {
		v := verify.VIPStatus{VIP: a(vip), State: s, FixedBy: fixed, Attempts: attempts}
		if tgt != "" {
			v.Target, v.TargetMAC = a(tgt), rtrMAC
		}
		return v
	}
	tests := []struct {
		name  string
		sts   []verify.VIPStatus
		sum   NudgeSummaryJSON
		stale []netip.Addr
		lines []string
	}{
		{
			name: "all verified, half repaired",
			sts: []verify.VIPStatus{
				st("192.0.2.100", "192.0.2.1", verify.Verified, "", 0),
				st("192.0.2.101", "192.0.2.1", verify.Verified, "directed_request", 2),
			},
			sum: NudgeSummaryJSON{VIPs: 2, Verified: 2, Repaired: 1, Elapsed: "312ms"},
			lines: []string{
				"192.0.2.101  192.0.2.1  02:00:00:00:00:01  verified  directed_request  2\n",
				"192.0.2.100  192.0.2.1  02:00:00:00:00:01  verified  -                 0\n",
				"2 VIPs on eth0: 2 verified (1 repaired), 0 stale, 0 unverifiable, in 312ms\n",
			},
		},
		{
			name: "one stale target makes the VIP stale; no target is unverifiable",
			sts: []verify.VIPStatus{
				st("192.0.2.101", "192.0.2.1", verify.Verified, "", 0),
				st("192.0.2.101", "192.0.2.254", verify.Stale, "", 6),
				st("2001:db8::5", "", verify.Unverifiable, "", 0),
			},
			sum:   NudgeSummaryJSON{VIPs: 2, Stale: 1, Unverifiable: 1, Elapsed: "312ms"},
			stale: []netip.Addr{a("192.0.2.101")},
			lines: []string{
				"2001:db8::5  -            -                  unverifiable  -         0\n",
				"still stale: [192.0.2.101]",
				"unverifiable: the target answers no echo",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NudgeResult{Interface: "eth0", Statuses: tt.sts, Elapsed: 312 * time.Millisecond}
			if got := r.Summary(); got != tt.sum {
				t.Errorf("summary %+v, want %+v", got, tt.sum)
			}
			if got := r.Stale(); !reflect.DeepEqual(got, tt.stale) {
				t.Errorf("stale %v, want %v", got, tt.stale)
			}
			var b bytes.Buffer
			if err := r.Render(&b); err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.lines {
				if !strings.Contains(b.String(), l) {
					t.Errorf("output lacks %q:\n%s", l, b.String())
				}
			}
			js, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var j NudgeJSON
			if err := json.Unmarshal(js, &j); err != nil {
				t.Fatal(err)
			}
			if j.OK != (len(tt.stale) == 0) || j.Summary != tt.sum || len(j.Targets) != len(tt.sts) {
				t.Errorf("JSON %s", js)
			}
		})
	}
}
