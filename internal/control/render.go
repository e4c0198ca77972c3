package control

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// RenderStatusOptions tunes RenderStatus.
type RenderStatusOptions struct {
	// Verbose adds the process's goroutines and open files and one line
	// per virtual address.
	Verbose bool
	// Now is the time ages are measured from; zero means time.Now().
	Now time.Time
}

// RenderStatus writes the human view of s to w, as `vipd status` shows it:
// a header line for the node, a table with a row per instance, then a line
// of counters per instance. It is RenderStatusOptions{}.Render.
func RenderStatus(w io.Writer, s Status) error {
	return RenderStatusOptions{}.Render(w, s)
}

// Render writes the human view of s to w. See RenderStatus.
func (o RenderStatusOptions) Render(w io.Writer, s Status) error {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)

	fmt.Fprintln(tw, header(s, now, o.Verbose))
	renderBGP(tw, s.BGP)
	if r := s.LastReload; r != nil {
		fmt.Fprintf(tw, "last reload: %s (%s ago, %s): %s\n", r.Time.Local().Format("2006-01-02 15:04:05"), age(now.Sub(r.Time)), r.Trigger, r.Result)
		for _, e := range r.Errors {
			fmt.Fprintln(tw, "  "+e)
		}
	}
	if len(s.Instances) == 0 {
		fmt.Fprintln(tw, "no instances configured")
	} else {
		fmt.Fprintln(tw, "INSTANCE\tIFACE\tVRID\tFAMILY\tSTATE\tPRIO\tMASTER\tADVERT\tVIPS")
		for _, in := range s.Instances {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
				in.Name, in.Interface, in.VRID, in.Family, stateCell(in),
				priority(in), master(in.Master), advert(in), vipSummary(in.VIPs))
		}
		fmt.Fprintln(tw)
		// Lines without tabs end a tabwriter column block, so each
		// instance's VIP lines align among themselves only.
		for _, in := range s.Instances {
			fmt.Fprintln(tw, counters(in, now))
			if o.Verbose {
				for _, v := range in.VIPs {
					if d := vipDetail(v, now); d != "" {
						fmt.Fprintf(tw, "  vip\t%s\t%s\t%s\n", v.Address, held(v.Held), d)
					} else {
						fmt.Fprintf(tw, "  vip\t%s\t%s\n", v.Address, held(v.Held))
					}
				}
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("control: render status: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("control: render status: %w", err)
	}
	return nil
}

func header(s Status, now time.Time, verbose bool) string {
	var parts []string
	parts = append(parts, "pid "+strconv.Itoa(s.PID))
	if !s.StartedAt.IsZero() {
		parts = append(parts, "up "+age(now.Sub(s.StartedAt)))
	}
	if s.Version != "" {
		parts = append(parts, "vipd "+s.Version)
	}
	if verbose {
		parts = append(parts, fmt.Sprintf("%d goroutines", s.Goroutines), fmt.Sprintf("%d open fds", s.OpenFDs))
	}
	return fmt.Sprintf("node %s (%s)", s.Node, strings.Join(parts, ", "))
}

// priority shows the configured priority, and the effective one first when
// health checks changed it.
func priority(in InstanceStatus) string {
	if in.EffectivePriority == in.Priority {
		return strconv.Itoa(int(in.Priority))
	}
	return fmt.Sprintf("%d (cfg %d)", in.EffectivePriority, in.Priority)
}

func master(p *PeerStatus) string {
	switch {
	case p == nil:
		return "-"
	case p.Self && p.Address == "":
		return "self"
	case p.Self:
		return "self (" + p.Address + ")"
	}
	s := p.Address
	if p.MAC != "" {
		s += " " + p.MAC
	}
	return s + " prio " + strconv.Itoa(int(p.Priority))
}

// advert shows the configured interval, and the master's when this node
// follows a master that advertises at another rate.
func advert(in InstanceStatus) string {
	s := in.AdvertInterval.String()
	if in.State == "BACKUP" && in.MasterAdvertInterval != 0 && in.MasterAdvertInterval != in.AdvertInterval {
		s += " (master " + in.MasterAdvertInterval.String() + ")"
	}
	return s
}

func vipSummary(vips []VIPStatus) string {
	if len(vips) == 0 {
		return "-"
	}
	n := 0
	for _, v := range vips {
		if v.Held {
			n++
		}
	}
	return fmt.Sprintf("%d/%d held", n, len(vips))
}

func held(b bool) string {
	if b {
		return "held"
	}
	return "not held"
}

// counters is an instance's second line: traffic, transitions, and what
// deserves attention (drops, address list mismatches, preemption off).
func counters(in InstanceStatus, now time.Time) string {
	c := in.Counters
	parts := []string{fmt.Sprintf("adverts sent %d, received %d", c.AdvertsSent, c.AdvertsReceived)}
	tr := fmt.Sprintf("transitions %d", c.Transitions)
	if !c.LastTransition.IsZero() {
		tr += fmt.Sprintf(", last %s→%s %s ago", orUnknown(c.LastTransitionFrom), orUnknown(c.LastTransitionTo), age(now.Sub(c.LastTransition)))
		if c.LastTransitionReason != "" {
			tr += " (" + c.LastTransitionReason + ")"
		}
	}
	parts = append(parts, tr)
	if d := drops(c.Drops); d != "" {
		parts = append(parts, "drops "+d)
	}
	if c.AddressMismatch != 0 {
		parts = append(parts, fmt.Sprintf("address list mismatches %d", c.AddressMismatch))
	}
	if !in.Preempt {
		parts = append(parts, "preempt off")
	}
	return in.Name + ": " + strings.Join(parts, "; ")
}

// drops lists the non-zero drop counters by reason, sorted.
func drops(m map[string]uint64) string {
	var reasons []string
	for r, n := range m {
		if n != 0 {
			reasons = append(reasons, r)
		}
	}
	slices.Sort(reasons)
	var b strings.Builder
	for i, r := range reasons {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", r, m[r])
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// age formats an elapsed time compactly, to two units at most: "12s",
// "3m12s", "2h5m", "3d4h". A negative age (clock step) shows as "0s".
func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Second)
	days := d / (24 * time.Hour)
	h := d % (24 * time.Hour) / time.Hour
	m := d % time.Hour / time.Minute
	s := d % time.Minute / time.Second
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// stateCell shows why an instance is held, e.g. "FAULT(maintenance)" or
// "INIT(waiting for interface)".
func stateCell(in InstanceStatus) string {
	if len(in.FaultReasons) > 0 {
		return in.State + "(" + strings.Join(in.FaultReasons, ",") + ")"
	}
	return in.State
}

// vipDetail is the verification, misdirected and conflict part of a VIP line.
func vipDetail(v VIPStatus, now time.Time) string {
	var parts []string
	if v.Verification != "" {
		parts = append(parts, v.Verification)
	}
	if v.Route != "" {
		p := "route " + v.Route
		for _, rp := range v.RoutePeers {
			p += ", at " + rp.Peer + " " + rp.State
		}
		parts = append(parts, p)
	}
	for _, t := range v.Targets {
		p := "via " + t.Target + " " + t.State
		if !t.LastVerified.IsZero() {
			p += " " + now.Sub(t.LastVerified).Round(time.Second).String() + " ago"
		}
		if t.Attempts > 0 {
			p += fmt.Sprintf(" (%d repairs, last %s", t.Attempts, t.LastStep)
			if t.FixedBy != "" {
				p += ", fixed by " + t.FixedBy
			}
			p += ")"
		}
		parts = append(parts, p)
	}
	if v.Misdirected > 0 {
		parts = append(parts, fmt.Sprintf("misdirected %d", v.Misdirected))
	}
	if v.ConflictMAC != "" {
		parts = append(parts, "CONFLICT with "+v.ConflictMAC)
	}
	return strings.Join(parts, "; ")
}

// renderBGP writes the BGP speaker's line and one line per session.
func renderBGP(w io.Writer, b *BGPStatus) {
	if b == nil {
		return
	}
	fmt.Fprintf(w, "bgp: as %d, router id %s\n", b.ASN, b.RouterID)
	for _, p := range b.Peers {
		line := fmt.Sprintf("  peer\t%s\tas %d\t%s", p.Address, p.ASN, p.State)
		if p.Established() {
			line += fmt.Sprintf("\tup %s\thold %s", time.Duration(p.Uptime), time.Duration(p.HoldTime))
		} else {
			line += "\t\t"
		}
		line += fmt.Sprintf("\tprefixes sent %d, received %d", p.PrefixesSent, p.PrefixesReceived)
		fmt.Fprintln(w, line)
	}
}
