package doctor

import (
	"bytes"
	"fmt"
	"text/tabwriter"

	"github.com/vipd/vipd/internal/control"
)

// Routed is the check of the routed instances (mode: bgp), whose VIPs no
// ARP or ND answers for: the daemon's BGP sessions, and each VIP's route
// as the daemon verifies it (an echo from the VIP to each peer comes back
// to the node the router's best path points at).
type Routed struct {
	Sessions []control.BGPPeerStatus `json:"sessions"`
	Routes   []RouteFinding          `json:"routes"`
}

// RouteFinding is one routed VIP.
type RouteFinding struct {
	Instance string `json:"instance"`
	VIP      string `json:"vip"`
	// State is the instance's (ANNOUNCING, FAULT, ...).
	State string `json:"state"`
	Route string `json:"route"`
	// Problem is why this VIP fails the check; "" when it passes.
	Problem string `json:"problem,omitempty"`
}

// routedCheck builds the check from the daemon's status; nil when the
// daemon runs no routed instance.
func routedCheck(st *control.Status) *Routed {
	if st == nil || st.BGP == nil {
		return nil
	}
	r := &Routed{Sessions: st.BGP.Peers, Routes: []RouteFinding{}}
	for _, in := range st.Instances {
		if in.Mode != "bgp" {
			continue
		}
		for _, v := range in.VIPs {
			f := RouteFinding{Instance: in.Name, VIP: v.Address, State: in.State, Route: v.Route}
			if in.State == "ANNOUNCING" && (v.Route == "not announced" || v.Route == "") {
				f.Problem = "announcing, but no BGP session of its family is up: no router has a path to this node"
			}
			r.Routes = append(r.Routes, f)
		}
	}
	return r
}

// Problems counts what fails the routed check: sessions not established,
// and VIPs of an announcing instance that no router has.
func (r *Routed) Problems() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, s := range r.Sessions {
		if !s.Established() {
			n++
		}
	}
	for _, f := range r.Routes {
		if f.Problem != "" {
			n++
		}
	}
	return n
}

func (r *Routed) render(buf *bytes.Buffer) error {
	if r == nil {
		return nil
	}
	fmt.Fprintln(buf)
	tw := tabwriter.NewWriter(buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BGP PEER\tASN\tSESSION\tUP\tSENT\tRECEIVED\tVERDICT")
	for _, s := range r.Sessions {
		verdict := "ok"
		if !s.Established() {
			verdict = "DOWN: the router has none of this node's routes"
		}
		up := "-"
		if s.Established() {
			up = fmt.Sprint(s.Uptime)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\n", s.Address, s.ASN, s.State, up, s.PrefixesSent, s.PrefixesReceived, verdict)
	}
	fmt.Fprintln(tw, "INSTANCE\tVIP\tSTATE\tROUTE\t\t\tVERDICT")
	for _, f := range r.Routes {
		verdict := "ok"
		if f.Problem != "" {
			verdict = "PROBLEM: " + f.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t\t%s\n", f.Instance, f.VIP, f.State, f.Route, verdict)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("doctor: render: %w", err)
	}
	return nil
}
