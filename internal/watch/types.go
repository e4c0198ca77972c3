package watch

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Owner says who holds a VIP that this node does not hold: the master of
// the VIP's instance as this node knows it from the master's VRRP
// advertisements. Either field may be unknown.
type Owner struct {
	// Node is the owner's name or address for logs ("B", "192.0.2.12");
	// empty when unknown.
	Node string
	// MAC is the owner's hardware address on this link; nil when unknown.
	// Without it the watcher reports misdirected traffic but sends no
	// repair.
	MAC net.HardwareAddr
}

func (o Owner) String() string {
	node := o.Node
	if node == "" {
		node = "unknown"
	}
	if len(o.MAC) == 0 {
		return "node " + node + " (MAC unknown)"
	}
	return "node " + node + " (" + o.MAC.String() + ")"
}

// Misdirected is traffic for a VIP this node does not hold that reached
// this node's MAC: one row per (VIP, source MAC, source IP). Packets, First
// and Last count the current (or last) episode; Repairs counts the repairs
// sent to SrcMAC for VIP in that episode (shared by every SrcIP behind the
// same SrcMAC).
type Misdirected struct {
	VIP    netip.Addr
	SrcMAC net.HardwareAddr // the stale upstream: the frames' Ethernet source
	SrcIP  netip.Addr       // the packets' IP source (often a remote client)
	// Packets is the number of packets seen in the episode.
	Packets     uint64
	First, Last time.Time
	Repairs     uint64
	// Reported is set once the traffic persisted long enough to be
	// reported (Config.MinPackets over Config.MinDuration).
	Reported bool
	// Owner is the VIP's owner as last given to SetWatched.
	Owner Owner
}

// Conflict is a second owner of a VIP this node holds or is probing: a
// host with another MAC that claimed the VIP in ARP (sender protocol
// address = VIP) or NDP (Neighbor Advertisement for the VIP, or a
// solicitation from it).
type Conflict struct {
	VIP netip.Addr
	MAC net.HardwareAddr // the other owner's MAC
	// Count is the number of claims seen.
	Count       uint64
	First, Last time.Time
}

// ReportKind says what a Report is about.
type ReportKind uint8

// Report kinds. The zero value is not a kind.
const (
	_ ReportKind = iota
	// ReportMisdirected: traffic for a VIP this node does not hold kept
	// arriving at this node's MAC (once per episode). Report.Misdirected
	// and Report.Owner are set.
	ReportMisdirected
	// ReportMisdirectedEnded: an episode ended, Config.EpisodeGap after its
	// last packet (typically because a repair worked). Only episodes that
	// were reported end with a report.
	ReportMisdirectedEnded
	// ReportConflict: another MAC claims a VIP this node holds or probes
	// (once, when confirmed). Report.Conflict is set.
	ReportConflict
	// ReportConflictEnded: a reported conflict was not seen for
	// Config.ConflictForget, or the VIP is no longer held or probed.
	ReportConflictEnded

	numReportKinds
)

var reportKindNames = [numReportKinds]string{
	ReportMisdirected:      "misdirected",
	ReportMisdirectedEnded: "misdirected_ended",
	ReportConflict:         "conflict",
	ReportConflictEnded:    "conflict_ended",
}

// String returns a snake_case name, fit for logs and metric labels.
func (k ReportKind) String() string {
	if k > 0 && k < numReportKinds {
		return reportKindNames[k]
	}
	return fmt.Sprintf("ReportKind(%d)", uint8(k))
}

// Report is what the watcher tells Deps.OnReport. It is a copy; the
// callee may keep it.
type Report struct {
	Kind  ReportKind
	Iface string
	// Misdirected is the row that crossed the threshold (or, for an end,
	// the last row of the episode), for the misdirected kinds.
	Misdirected Misdirected
	// Sources is how many source IPs the episode has seen behind
	// Misdirected.SrcMAC.
	Sources int
	// Conflict is set for the conflict kinds.
	Conflict Conflict
	// At is when the watcher made the report.
	At time.Time
}

// Config holds the thresholds. The zero value of a field means its
// default; Defaults returns them all.
type Config struct {
	// MinPackets and MinDuration: misdirected traffic for a (VIP, source
	// MAC) is reported, and repaired, once an episode has at least
	// MinPackets packets spanning at least MinDuration. Defaults 3 and 1 s.
	MinPackets  uint64
	MinDuration time.Duration
	// EpisodeGap ends an episode of misdirected traffic after this long
	// without a packet; a later packet starts a new episode that is
	// reported again. Default 10 s.
	EpisodeGap time.Duration
	// RepairInterval is the least time between two repairs of one (VIP,
	// source MAC); it doubles after each repair of an episode up to
	// MaxRepairInterval. Defaults 1 s and 30 s. RepairInterval is never
	// below 1 s, Linux's default neighbour locktime, within which a
	// Linux router ignores a second non-gratuitous update.
	RepairInterval    time.Duration
	MaxRepairInterval time.Duration
	// Forget drops a misdirected row this long after its last packet.
	// Default 10 min.
	Forget time.Duration
	// MaxFlows bounds the (VIP, source MAC) pairs tracked, MaxSources the
	// source IPs per pair; frames beyond are counted as DropTableFull.
	// Defaults 1024 and 32.
	MaxFlows   int
	MaxSources int

	// ProbeCount probes are sent per VIP by Probe, ProbeInterval apart
	// (RFC 5227 §2.1.1 PROBE_NUM and PROBE_MIN; RFC 4862 §5.1
	// DupAddrDetectTransmits and RetransTimer), and replies are watched
	// for ProbeWait after the last one (RFC 5227 ANNOUNCE_WAIT).
	// Defaults 3, 1 s, 2 s.
	ProbeCount    int
	ProbeInterval time.Duration
	ProbeWait     time.Duration
	// A conflict is confirmed, reported and listed once ConflictClaims
	// claims from one MAC span at least ConflictSpan within
	// ConflictWindow. One stray claim (an ex-master answering the first
	// probe just before it releases the address) is not a conflict.
	// Defaults 2, 500 ms (a negative ConflictSpan means none), 10 s.
	ConflictClaims uint64
	ConflictSpan   time.Duration
	ConflictWindow time.Duration
	// ConflictForget ends a confirmed conflict after this long without a
	// claim. Default 10 min.
	ConflictForget time.Duration
	// ConflictRecheck: a confirmed conflict of a held VIP is probed again
	// this long after its last claim, and ends if the probes get no claim
	// from that MAC. Default 3 s.
	ConflictRecheck time.Duration
	// HandoverGrace: claims from a MAC named by ExpectHandover are not
	// counted for this long (DropHandover). Default 3 s: the old
	// master's kernel may answer ARP and NDP until its addresses are
	// gone, and its last gratuitous rounds may still be in flight.
	HandoverGrace time.Duration
}

// Defaults returns the default Config.
func Defaults() Config {
	return Config{
		MinPackets:        3,
		MinDuration:       time.Second,
		EpisodeGap:        10 * time.Second,
		RepairInterval:    time.Second,
		MaxRepairInterval: 30 * time.Second,
		Forget:            10 * time.Minute,
		MaxFlows:          1024,
		MaxSources:        32,
		ProbeCount:        3,
		ProbeInterval:     time.Second,
		ProbeWait:         2 * time.Second,
		ConflictClaims:    2,
		ConflictSpan:      500 * time.Millisecond,
		ConflictWindow:    10 * time.Second,
		ConflictForget:    10 * time.Minute,
		HandoverGrace:     3 * time.Second,
		ConflictRecheck:   3 * time.Second,
	}
}

// minRepairInterval is Linux's default neighbour locktime (1 s): a repair
// sooner than that after the previous one would be ignored anyway.
const minRepairInterval = time.Second

// normalize fills in defaults and fixes impossible combinations.
func (c Config) normalize() Config {
	d := Defaults()
	if c.MinPackets == 0 {
		c.MinPackets = d.MinPackets
	}
	if c.MinDuration <= 0 {
		c.MinDuration = d.MinDuration
	}
	if c.EpisodeGap <= 0 {
		c.EpisodeGap = d.EpisodeGap
	}
	if c.RepairInterval <= 0 {
		c.RepairInterval = d.RepairInterval
	}
	c.RepairInterval = max(c.RepairInterval, minRepairInterval)
	if c.MaxRepairInterval <= 0 {
		c.MaxRepairInterval = d.MaxRepairInterval
	}
	c.MaxRepairInterval = max(c.MaxRepairInterval, c.RepairInterval)
	if c.Forget <= 0 {
		c.Forget = d.Forget
	}
	c.Forget = max(c.Forget, c.EpisodeGap)
	if c.MaxFlows <= 0 {
		c.MaxFlows = d.MaxFlows
	}
	if c.MaxSources <= 0 {
		c.MaxSources = d.MaxSources
	}
	if c.ProbeCount <= 0 {
		c.ProbeCount = d.ProbeCount
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = d.ProbeInterval
	}
	if c.ProbeWait <= 0 {
		c.ProbeWait = d.ProbeWait
	}
	if c.ConflictClaims == 0 {
		c.ConflictClaims = d.ConflictClaims
	}
	if c.ConflictSpan < 0 {
		c.ConflictSpan = 0
	} else if c.ConflictSpan == 0 {
		c.ConflictSpan = d.ConflictSpan
	}
	if c.ConflictWindow <= 0 {
		c.ConflictWindow = d.ConflictWindow
	}
	c.ConflictWindow = max(c.ConflictWindow, c.ConflictSpan)
	if c.ConflictForget <= 0 {
		c.ConflictForget = d.ConflictForget
	}
	c.ConflictForget = max(c.ConflictForget, c.ConflictWindow)
	if c.HandoverGrace <= 0 {
		c.HandoverGrace = d.HandoverGrace
	}
	if c.ConflictRecheck <= 0 {
		c.ConflictRecheck = d.ConflictRecheck
	}
	return c
}
