package verify

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/announce"
)

// State is what is known about one (VIP, target) pair. Transitions:
//
//	from       event                                      to
//	any        Start (takeover), Stop                     Unknown
//	any        echo reply from the target to the VIP      Verified
//	Unknown,   missed echo, primary's echo answered       Stale
//	 Stale,
//	 Unverif.
//	Unknown,   missed echo, primary's echo unanswered     Unverifiable
//	 Stale
//	Verified   two missed echoes in a row, then as above  Stale or Unverifiable
//
// A VIP without any target of its family is Unverifiable from the start.
type State uint8

const (
	// Unknown: no probe has been decided since the last takeover.
	Unknown State = iota
	// Verified: an echo reply to the VIP came back here, so the target's
	// neighbour entry for the VIP holds this node's MAC.
	Verified
	// Stale: echoes from the VIP go unanswered while the target answers
	// the node's primary address: its entry for the VIP points elsewhere.
	Stale
	// Unverifiable: the target answers neither (down, or ICMP filtered),
	// or the VIP has no target at all.
	Unverifiable
)

// String returns the lower-case name used in logs, status and metrics.
func (s State) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case Verified:
		return "verified"
	case Stale:
		return "stale"
	case Unverifiable:
		return "unverifiable"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Step is one rung of the remediation ladder. Each rung is a different way
// of telling the target "VIP is at our MAC", from the politest to the most
// pointed.
type Step uint8

const (
	// StepNone: nothing sent.
	StepNone Step = iota
	// StepGratuitous: gratuitous ARP request and reply (broadcast), or an
	// unsolicited Neighbor Advertisement to all-nodes. A target that drops
	// or ignores gratuitous traffic is not moved by it.
	StepGratuitous
	// StepDirected: an ARP request "who-has target, tell VIP" sent to the
	// target's MAC, or a Neighbor Solicitation for the target from the
	// VIP. A host asked about its own address creates or overrides its
	// entry for the asker (RFC 826 merge, RFC 4861 §7.2.3); Linux does so
	// whatever arp_accept and locktime say.
	StepDirected
	// StepUnicast: an ARP reply "VIP is-at our MAC" sent to the target
	// only, or a Neighbor Advertisement with Override and Solicited (the
	// form of the answer to the target's own probe) sent to the target
	// only. Either makes a Linux target's entry REACHABLE.
	StepUnicast
)

// Ladder is the remediation ladder: the rungs a stale pair climbs, in
// order, one per missed probe. After the last it waits (with backoff) and
// climbs again from the first. The order is the policy: the cheapest and
// least intrusive first.
var Ladder = []Step{StepGratuitous, StepDirected, StepUnicast}

// LadderHeld is the ladder's order for a climb whose first rung was held
// back in the pacer (a policer upstream, see ladder.go): the unicast reply
// before the directed request. Both are one frame, but a Linux upstream
// takes a reply sent to it as proof of reachability (REACHABLE), and every
// other update (the directed request, gratuitous forms) leaves its entry
// STALE: a few seconds later the upstream probes it, and behind a policer
// the node's answer to that probe competes with every repair for the same
// few frames per second; when it loses, the entry fails and the VIP goes
// dark again until the upstream resolves it by itself.
var LadderHeld = []Step{StepGratuitous, StepUnicast, StepDirected}

// nextRung returns the rung after s (the first one after StepNone) on the
// ladder (LadderHeld if held), and false when s is the last.
func nextRung(s Step, held bool) (Step, bool) {
	l := Ladder
	if held {
		l = LadderHeld
	}
	if s == StepNone {
		return l[0], true
	}
	i := slices.Index(l, s)
	if i < 0 || i+1 >= len(l) {
		return StepNone, false
	}
	return l[i+1], true
}

// String returns the family-neutral name of the step.
func (s Step) String() string {
	switch s {
	case StepNone:
		return ""
	case StepGratuitous:
		return "gratuitous"
	case StepDirected:
		return "directed"
	case StepUnicast:
		return "unicast"
	}
	return fmt.Sprintf("Step(%d)", uint8(s))
}

// Name returns the step's name for a VIP of the given family, as it appears
// in VIPStatus.LastStep and FixedBy and in logs: "gratuitous_arp",
// "directed_request", "unicast_reply" for IPv4, "unsolicited_na",
// "neighbor_solicit", "unicast_na" for IPv6, "" for StepNone.
func (s Step) Name(ipv6 bool) string {
	if ipv6 {
		switch s {
		case StepGratuitous:
			return "unsolicited_na"
		case StepDirected:
			return "neighbor_solicit"
		case StepUnicast:
			return "unicast_na"
		}
	} else {
		switch s {
		case StepGratuitous:
			return "gratuitous_arp"
		case StepDirected:
			return "directed_request"
		case StepUnicast:
			return "unicast_reply"
		}
	}
	return s.String()
}

// Kinds returns the announce kinds a step sends, in order.
func (s Step) Kinds(ipv6 bool) []announce.Kind {
	switch {
	case s == StepGratuitous && ipv6:
		return []announce.Kind{announce.KindUnsolicitedNA}
	case s == StepGratuitous:
		return []announce.Kind{announce.KindGratuitousRequest, announce.KindGratuitousReply}
	case s == StepDirected && ipv6:
		return []announce.Kind{announce.KindNeighborSolicit}
	case s == StepDirected:
		return []announce.Kind{announce.KindDirectedRequest}
	case s == StepUnicast && ipv6:
		return []announce.Kind{announce.KindUnicastNA}
	case s == StepUnicast:
		return []announce.Kind{announce.KindUnicastReply}
	}
	return nil
}

// VIPStatus is the verification state of one VIP towards one target. A VIP
// with two targets has two statuses; a VIP with none has one, with a zero
// Target and State Unverifiable.
type VIPStatus struct {
	VIP    netip.Addr
	Target netip.Addr
	// TargetMAC is the target's MAC from this node's neighbour table, nil
	// while unknown.
	TargetMAC net.HardwareAddr
	State     State
	// Since is when State was entered.
	Since time.Time
	// LastVerified is when a reply last proved the target's entry, zero
	// if never.
	LastVerified time.Time
	// Attempts counts remediation steps sent since the VIP last became
	// stale (they stay visible after it is verified again).
	Attempts int
	// LastStep is the last remediation step sent since the VIP last became
	// stale (Step.Name), "" if none.
	LastStep string
	// FixedBy is the last step sent before the probe whose reply verified
	// the VIP, "" if it was verified without remediation.
	FixedBy string
}
