package doctor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/vipd/vipd/internal/verify"
)

// NudgeResult is the outcome of `vipd nudge` (verify.Nudge): one status per
// (VIP, target).
type NudgeResult struct {
	Interface string
	Statuses  []verify.VIPStatus
	Elapsed   time.Duration
}

// vipState is the worst state among a VIP's targets: stale, then
// unverifiable (or still unknown), then verified.
func vipStates(sts []verify.VIPStatus) (order []netip.Addr, worst map[netip.Addr]verify.State, repaired map[netip.Addr]bool) {
	worst, repaired = map[netip.Addr]verify.State{}, map[netip.Addr]bool{}
	rank := func(s verify.State) int {
		switch s {
		case verify.Stale:
			return 3
		case verify.Unverifiable, verify.Unknown:
			return 2
		}
		return 1
	}
	for _, st := range sts {
		w, ok := worst[st.VIP]
		if !ok {
			order = append(order, st.VIP)
		}
		if !ok || rank(st.State) > rank(w) {
			worst[st.VIP] = st.State
		}
		if st.State == verify.Verified && st.FixedBy != "" {
			repaired[st.VIP] = true
		}
	}
	return order, worst, repaired
}

// Stale returns the VIPs that have a target still stale: `vipd nudge`
// exits 1 when there is one.
func (r NudgeResult) Stale() []netip.Addr {
	order, worst, _ := vipStates(r.Statuses)
	var out []netip.Addr
	for _, v := range order {
		if worst[v] == verify.Stale {
			out = append(out, v)
		}
	}
	return out
}

// NudgeSummaryJSON counts VIPs (not pairs) by their worst state.
type NudgeSummaryJSON struct {
	VIPs         int `json:"vips"`
	Verified     int `json:"verified"`
	Repaired     int `json:"repaired"`
	Stale        int `json:"stale"`
	Unverifiable int `json:"unverifiable"`
	// Elapsed is the nudge's duration, as a Go duration string.
	Elapsed string `json:"elapsed"`
}

// Summary counts the VIPs.
func (r NudgeResult) Summary() NudgeSummaryJSON {
	order, worst, repaired := vipStates(r.Statuses)
	s := NudgeSummaryJSON{VIPs: len(order), Elapsed: r.Elapsed.Round(time.Millisecond).String()}
	for _, v := range order {
		switch worst[v] {
		case verify.Verified:
			s.Verified++
			if repaired[v] {
				s.Repaired++
			}
		case verify.Stale:
			s.Stale++
		default:
			s.Unverifiable++
		}
	}
	return s
}

// NudgeTargetJSON is one (VIP, target) pair after a nudge.
type NudgeTargetJSON struct {
	VIP          string    `json:"vip"`
	Target       string    `json:"target,omitempty"`
	TargetMAC    string    `json:"target_mac,omitempty"`
	State        string    `json:"state"`
	LastVerified time.Time `json:"last_verified,omitzero"`
	Attempts     int       `json:"attempts"`
	LastStep     string    `json:"last_step,omitempty"`
	FixedBy      string    `json:"fixed_by,omitempty"`
}

// NudgeJSON is the contract of `vipd nudge --json`.
type NudgeJSON struct {
	Interface string            `json:"interface"`
	Targets   []NudgeTargetJSON `json:"targets"`
	Summary   NudgeSummaryJSON  `json:"summary"`
	// OK is false when a VIP is still stale.
	OK bool `json:"ok"`
}

// JSON returns the result's JSON form.
func (r NudgeResult) JSON() NudgeJSON {
	out := NudgeJSON{Interface: r.Interface, Targets: make([]NudgeTargetJSON, 0, len(r.Statuses)),
		Summary: r.Summary(), OK: len(r.Stale()) == 0}
	for _, st := range r.Statuses {
		t := NudgeTargetJSON{VIP: st.VIP.String(), State: st.State.String(), LastVerified: st.LastVerified,
			Attempts: st.Attempts, LastStep: st.LastStep, FixedBy: st.FixedBy}
		if st.Target.IsValid() {
			t.Target = st.Target.String()
		}
		if len(st.TargetMAC) > 0 {
			t.TargetMAC = st.TargetMAC.String()
		}
		out.Targets = append(out.Targets, t)
	}
	return out
}

// MarshalJSON encodes the result as its JSON form.
func (r NudgeResult) MarshalJSON() ([]byte, error) { return json.Marshal(r.JSON()) }

// Render writes a table with one row per (VIP, target) and a summary.
func (r NudgeResult) Render(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VIP\tTARGET\tTARGET MAC\tSTATE\tFIXED BY\tATTEMPTS")
	for _, st := range r.Statuses {
		target, mac, fixed := "-", "-", "-"
		if st.Target.IsValid() {
			target = st.Target.String()
		}
		if len(st.TargetMAC) > 0 {
			mac = st.TargetMAC.String()
		}
		if st.FixedBy != "" {
			fixed = st.FixedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.VIP, target, mac, st.State, fixed, strconv.Itoa(st.Attempts))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("doctor: render nudge: %w", err)
	}
	s := r.Summary()
	fmt.Fprintf(&buf, "\n%d %s on %s: %d verified (%d repaired), %d stale, %d unverifiable, in %s\n",
		s.VIPs, plural(s.VIPs, "VIP", "VIPs"), r.Interface, s.Verified, s.Repaired, s.Stale, s.Unverifiable, s.Elapsed)
	if stale := r.Stale(); len(stale) > 0 {
		fmt.Fprintf(&buf, "still stale: %v: the upstream ignores every rung of the ladder; check it for static entries, ACLs or ARP/ND policers, or clear its entry there\n", stale)
	}
	if s.Unverifiable > 0 {
		fmt.Fprintln(&buf, "unverifiable: the target answers no echo from this node (down, or ICMP filtered), or the VIP has no target: give one with --target")
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("doctor: render nudge: %w", err)
	}
	return nil
}
