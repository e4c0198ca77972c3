package doctor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one doctor run.
type Report struct {
	// Node is the node's name from the configuration or the daemon.
	Node string
	// Daemon says whether a daemon answered on the control socket.
	Daemon DaemonInfo
	// Findings has one entry per VIP, in configuration order.
	Findings []Finding
	// Elapsed is how long the probes took.
	Elapsed time.Duration
	// BGP checks the routed instances; nil without any.
	BGP *Routed
	// Advice are per-instance explanations that no VIP's verdict carries
	// (the traps of a virtual MAC).
	Advice []string
}

// DaemonInfo describes the daemon doctor asked, or tried to.
type DaemonInfo struct {
	Socket  string
	Running bool
	PID     int
	Version string
	// Error says why the daemon could not be asked; "" when Running or
	// when no socket was given.
	Error string
}

// Count returns the number of findings with verdict v.
func (r Report) Count(v Verdict) int {
	n := 0
	for _, f := range r.Findings {
		if f.Verdict == v {
			n++
		}
	}
	return n
}

// Unreachable returns the number of VIPs whose verdict is unreachable;
// `vipd doctor` exits non-zero when it is not 0.
func (r Report) Unreachable() int {
	n := 0
	for _, f := range r.Findings {
		if f.Verdict.Unreachable() {
			n++
		}
	}
	return n
}

// NudgeCommands returns one `vipd nudge` command line per interface that
// repairs every VIP found stale on it, in order of first appearance.
func (r Report) NudgeCommands() []string {
	var ifaces []string
	vips := map[string][]string{}
	for _, f := range r.Findings {
		if f.Verdict != Stale {
			continue
		}
		if _, ok := vips[f.Interface]; !ok {
			ifaces = append(ifaces, f.Interface)
		}
		s := f.VIP.Addr().String()
		if !contains(vips[f.Interface], s) {
			vips[f.Interface] = append(vips[f.Interface], s)
		}
	}
	out := make([]string, 0, len(ifaces))
	for _, ifn := range ifaces {
		out = append(out, "vipd nudge --interface "+ifn+" --vip "+strings.Join(vips[ifn], ","))
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Summary is one line: "20 VIPs: 10 ok, 10 stale; 10 unreachable".
func (r Report) Summary() string {
	var parts []string
	for _, v := range Verdicts() {
		if n := r.Count(v); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v.Label()))
		}
	}
	s := fmt.Sprintf("%d %s", len(r.Findings), plural(len(r.Findings), "VIP", "VIPs"))
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	if n := r.Unreachable(); n > 0 {
		s += fmt.Sprintf("; %d unreachable", n)
	} else {
		s += "; none unreachable"
	}
	return s
}

// Render writes the human report: a header line, a table with one row per
// VIP, the reason and fix of every VIP that is not simply ok, a summary
// and the nudge commands that repair the stale VIPs.
func (r Report) Render(w io.Writer) error {
	var buf bytes.Buffer
	node := r.Node
	if node == "" {
		node = "this node"
	} else {
		node = "node " + node
	}
	fmt.Fprintf(&buf, "vipd doctor on %s: %s\n", node, r.Daemon.describe())
	if len(r.Findings) == 0 {
		fmt.Fprintln(&buf, "no VIPs configured")
	} else {
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "INSTANCE\tIFACE\tVIP\tHERE\tANSWERED BY\tUPSTREAM\tVIPD\tVERDICT")
		for _, f := range r.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Instance, f.Interface, f.VIP.Addr(),
				here(f), answeredBy(f), upstream(f), daemonCell(f.Daemon), f.Verdict.Label())
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("doctor: render: %w", err)
		}
	}
	first := true
	for _, f := range r.Findings {
		if f.Verdict == OK && len(f.Notes) == 0 {
			continue
		}
		if first {
			fmt.Fprintln(&buf)
			first = false
		}
		fmt.Fprintf(&buf, "%s (%s): %s: %s\n", f.VIP.Addr(), f.Instance, f.Verdict.Label(), f.Reason)
		if f.Fix != "" {
			fmt.Fprintf(&buf, "  fix: %s\n", f.Fix)
		}
		for _, n := range f.Notes {
			fmt.Fprintf(&buf, "  note: %s\n", n)
		}
	}
	if len(r.Advice) > 0 {
		fmt.Fprintln(&buf)
		for _, a := range r.Advice {
			fmt.Fprintf(&buf, "advice: %s\n", a)
		}
	}
	if err := r.BGP.render(&buf); err != nil {
		return err
	}
	fmt.Fprintf(&buf, "\n%s (in %s)\n", r.Summary(), r.Elapsed.Round(time.Millisecond))
	for _, c := range r.NudgeCommands() {
		fmt.Fprintf(&buf, "to repair the stale VIPs at once, run on this node: %s\n", c)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("doctor: render: %w", err)
	}
	return nil
}

func (d DaemonInfo) describe() string {
	switch {
	case d.Running:
		s := "vipd running (pid " + strconv.Itoa(d.PID)
		if d.Version != "" {
			s += ", " + d.Version
		}
		return s + ") at " + d.Socket
	case d.Socket == "":
		return "no control socket given: the network was probed only"
	case d.Error != "":
		return "vipd not reachable at " + d.Socket + " (" + d.Error + "): the network was probed only"
	}
	return "vipd not reachable at " + d.Socket + ": the network was probed only"
}

func here(f Finding) string {
	if f.Held {
		return "held"
	}
	return "-"
}

func answeredBy(f Finding) string {
	var parts []string
	if f.Held {
		parts = append(parts, "this node")
	}
	for _, m := range f.Answers {
		parts = append(parts, m.String())
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, " + ")
	case f.AnswerErr != "":
		return "?"
	}
	return "nobody"
}

func upstream(f Finding) string {
	if !f.Held {
		return "-"
	}
	var parts []string
	for _, t := range f.Targets {
		if t.Target.IsValid() {
			parts = append(parts, t.Target.String()+" "+t.State.String())
		}
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, ", ")
	case f.CheckErr != "":
		return "?"
	}
	return "no target"
}

func daemonCell(d *DaemonView) string {
	if d == nil {
		return "-"
	}
	s := d.State
	if s == "" {
		s = "?"
	}
	if d.MisdirectedAfter > 0 {
		s += fmt.Sprintf(", %d misdirected", d.MisdirectedAfter)
	}
	if d.ConflictMAC != "" {
		s += ", conflict " + d.ConflictMAC
	}
	return s
}

// ReportJSON is the JSON form of a Report, the contract of `vipd doctor
// --json`: fields may be added, not renamed or removed.
type ReportJSON struct {
	Node    string        `json:"node,omitempty"`
	Daemon  DaemonJSON    `json:"daemon"`
	VIPs    []FindingJSON `json:"vips"`
	BGP     *Routed       `json:"bgp,omitempty"`
	Summary SummaryJSON   `json:"summary"`
	Advice  []string      `json:"advice,omitempty"`
}

// DaemonJSON is DaemonInfo in JSON.
type DaemonJSON struct {
	Socket  string `json:"socket,omitempty"`
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
	Version string `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

// FindingJSON is one VIP's finding in JSON.
type FindingJSON struct {
	Instance  string `json:"instance"`
	Interface string `json:"interface"`
	VIP       string `json:"vip"`
	Held      bool   `json:"held"`
	// AnsweredBy lists the MACs other than this node's that answered for
	// the VIP; always an array.
	AnsweredBy  []string        `json:"answered_by"`
	AnswerError string          `json:"answer_error,omitempty"`
	Targets     []TargetJSON    `json:"targets,omitempty"`
	CheckError  string          `json:"check_error,omitempty"`
	Daemon      *DaemonViewJSON `json:"daemon,omitempty"`
	Verdict     Verdict         `json:"verdict"`
	Unreachable bool            `json:"unreachable"`
	Reason      string          `json:"reason"`
	Fix         string          `json:"fix,omitempty"`
	Notes       []string        `json:"notes,omitempty"`
}

// TargetJSON is one target's verification of a VIP held here.
type TargetJSON struct {
	Target    string `json:"target"`
	TargetMAC string `json:"target_mac,omitempty"`
	State     string `json:"state"`
}

// DaemonViewJSON is a DaemonView in JSON.
type DaemonViewJSON struct {
	State        string `json:"state"`
	Master       string `json:"master,omitempty"`
	MasterMAC    string `json:"master_mac,omitempty"`
	Verification string `json:"verification,omitempty"`
	ConflictMAC  string `json:"conflict_mac,omitempty"`
	// Misdirected is the daemon's count after the probes; MisdirectedNow
	// the packets that arrived while doctor ran.
	Misdirected    uint64 `json:"misdirected,omitempty"`
	MisdirectedNow uint64 `json:"misdirected_now,omitempty"`
}

// SummaryJSON counts the verdicts.
type SummaryJSON struct {
	VIPs        int `json:"vips"`
	Unreachable int `json:"unreachable"`
	// Verdicts counts the VIPs per verdict; every verdict is present.
	Verdicts map[string]int `json:"verdicts"`
	// Nudge lists the commands that repair the stale VIPs, per interface.
	Nudge   []string `json:"nudge,omitempty"`
	Elapsed string   `json:"elapsed"`
}

// JSON returns the report's JSON form.
func (r Report) JSON() ReportJSON {
	out := ReportJSON{
		Node:   r.Node,
		Daemon: DaemonJSON{Socket: r.Daemon.Socket, Running: r.Daemon.Running, PID: r.Daemon.PID, Version: r.Daemon.Version, Error: r.Daemon.Error},
		VIPs:   make([]FindingJSON, 0, len(r.Findings)),
		BGP:    r.BGP,
		Summary: SummaryJSON{VIPs: len(r.Findings), Unreachable: r.Unreachable(), Verdicts: map[string]int{},
			Nudge: r.NudgeCommands(), Elapsed: r.Elapsed.Round(time.Millisecond).String()},
	}
	for _, v := range Verdicts() {
		out.Summary.Verdicts[v.String()] = r.Count(v)
	}
	out.Advice = r.Advice
	for _, f := range r.Findings {
		j := FindingJSON{Instance: f.Instance, Interface: f.Interface, VIP: f.VIP.Addr().String(), Held: f.Held,
			AnsweredBy: []string{}, AnswerError: f.AnswerErr, CheckError: f.CheckErr, Verdict: f.Verdict,
			Unreachable: f.Verdict.Unreachable(), Reason: f.Reason, Fix: f.Fix, Notes: f.Notes}
		for _, m := range f.Answers {
			j.AnsweredBy = append(j.AnsweredBy, m.String())
		}
		for _, t := range f.Targets {
			if !t.Target.IsValid() {
				continue
			}
			tj := TargetJSON{Target: t.Target.String(), State: t.State.String()}
			if len(t.TargetMAC) > 0 {
				tj.TargetMAC = t.TargetMAC.String()
			}
			j.Targets = append(j.Targets, tj)
		}
		if d := f.Daemon; d != nil {
			j.Daemon = &DaemonViewJSON{State: d.State, Master: d.Master, MasterMAC: d.MasterMAC, Verification: d.Verification,
				ConflictMAC: d.ConflictMAC, Misdirected: d.MisdirectedAfter, MisdirectedNow: d.misdirectedNow()}
		}
		out.VIPs = append(out.VIPs, j)
	}
	return out
}

// MarshalJSON encodes the report as its JSON form.
func (r Report) MarshalJSON() ([]byte, error) { return json.Marshal(r.JSON()) }
