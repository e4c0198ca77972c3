package watch

import "fmt"

// DropReason says why the watcher did nothing with a frame that its
// filter let through. Most are routine (ordinary ARP traffic claims
// nothing); all are counted in Stats.
type DropReason uint8

// Drop reasons. The zero value is not a reason.
const (
	_ DropReason = iota
	// DropShortFrame: shorter than an Ethernet header.
	DropShortFrame
	// DropEtherType: neither ARP, IPv4 nor IPv6.
	DropEtherType
	// DropOwnFrame: the Ethernet source is this node's MAC (a frame this
	// node sent, seen again).
	DropOwnFrame
	// DropMalformed: a truncated or inconsistent IPv4, IPv6, ARP or NDP
	// header (ARP not Ethernet/IPv4, ND hop limit not 255, bad option).
	DropMalformed
	// DropNotForUs: an IP frame whose Ethernet destination is not this
	// node's MAC (broadcast, multicast, flooded unicast).
	DropNotForUs
	// DropNotWatched: unicast to this node's MAC, but not for a watched
	// VIP: this node's own traffic.
	DropNotWatched
	// DropTableFull: misdirected traffic from a new source while
	// Config.MaxFlows or Config.MaxSources are tracked already.
	DropTableFull
	// DropNoClaim: ARP or NDP that claims none of the VIPs held or probed.
	DropNoClaim
	// DropOtherProbe: another host probing for a held or probed VIP (ARP
	// probe with sender IP 0.0.0.0, DAD NS from ::). That host does not
	// own the VIP yet; it is not a conflict.
	DropOtherProbe
	// DropHandover: a claim from a master that is handing the VIP over
	// (it resigned with priority 0, or this node preempted it), within
	// Config.HandoverGrace: its last answers are not a second owner.
	DropHandover

	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	DropShortFrame: "short_frame",
	DropEtherType:  "ethertype",
	DropOwnFrame:   "own_frame",
	DropMalformed:  "malformed",
	DropNotForUs:   "not_for_us",
	DropNotWatched: "not_watched",
	DropTableFull:  "table_full",
	DropNoClaim:    "no_claim",
	DropOtherProbe: "other_probe",
	DropHandover:   "handover",
}

// String returns a snake_case name, fit for a metric label.
func (r DropReason) String() string {
	if r > 0 && r < numDropReasons {
		return dropReasonNames[r]
	}
	return fmt.Sprintf("DropReason(%d)", uint8(r))
}

// DropReasons lists every reason, for pre-declaring metric labels.
func DropReasons() []DropReason {
	rs := make([]DropReason, 0, numDropReasons-1)
	for r := DropReason(1); r < numDropReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Stats counts what the watcher did since it was made.
type Stats struct {
	// Frames is every frame read.
	Frames uint64
	// Misdirected counts packets counted as misdirected traffic, Claims
	// the ARP/NDP claims of a held or probed VIP from another MAC.
	Misdirected uint64
	Claims      uint64
	// Repairs and Probes count frames handed to the pacer; SendErrors
	// those it refused (or, without a pacer, that failed to send).
	Repairs    uint64
	Probes     uint64
	SendErrors uint64
	// ReadErrors counts failed reads (other than the conn closing).
	ReadErrors uint64
	// Dropped has an entry for every DropReason.
	Dropped map[DropReason]uint64
}
