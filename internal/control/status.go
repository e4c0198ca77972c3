package control

import (
	"encoding/json"
	"fmt"
	"time"
)

// CommandStatus is the command whose response Data is a Status.
const CommandStatus = "status"

// Status is the daemon's state as reported by `vipd status`. Its JSON form
// is the contract of `vipd status --json`: fields may be added, but not
// renamed or removed.
type Status struct {
	// Node is this node's name.
	Node string `json:"node"`
	// PID is the daemon's process ID.
	PID int `json:"pid"`
	// Version is the daemon's version, e.g. "v0.1.0".
	Version string `json:"version"`
	// StartedAt is when the daemon started.
	StartedAt time.Time `json:"started_at"`
	// Goroutines and OpenFDs describe the daemon process, to spot leaks.
	Goroutines int `json:"goroutines"`
	OpenFDs    int `json:"open_fds"`
	// LastReload is the last reload attempt since the daemon started;
	// nil when there was none.
	LastReload *ReloadStatus `json:"last_reload,omitempty"`
	// BGP is the routed mode's speaker; nil (absent) without one.
	BGP *BGPStatus `json:"bgp,omitempty"`
	// Instances lists the VRRP instances; always an array in JSON.
	Instances []InstanceStatus `json:"instances"`
}

// BGPStatus is the node's BGP speaker (routed mode).
type BGPStatus struct {
	ASN      uint32 `json:"asn"`
	RouterID string `json:"router_id"`
	// Peers are the sessions, in configuration order; always an array.
	Peers []BGPPeerStatus `json:"peers"`
}

// BGPPeerStatus is one BGP session.
type BGPPeerStatus struct {
	Address string `json:"address"`
	ASN     uint32 `json:"asn"`
	// State is the session's state (RFC 4271 §8.2.2, lower case):
	// "idle", "connect", "active", "opensent", "openconfirm",
	// "established".
	State string `json:"state"`
	// Since is when the session was established, Uptime how long ago;
	// both absent unless it is.
	Since  time.Time `json:"since,omitzero"`
	Uptime Duration  `json:"uptime,omitzero"`
	// HoldTime is the negotiated hold time (absent unless established).
	HoldTime Duration `json:"hold_time,omitzero"`
	// PrefixesSent and PrefixesReceived count the prefixes advertised to
	// and received from the peer.
	PrefixesSent     uint64 `json:"prefixes_sent"`
	PrefixesReceived uint64 `json:"prefixes_received"`
}

// Established reports whether the session is up.
func (p BGPPeerStatus) Established() bool { return p.State == "established" }

// Results of a reload.
const (
	ReloadApplied  = "applied"  // the new configuration runs
	ReloadPartial  = "partial"  // it runs, but some instances could not start (Errors)
	ReloadRejected = "rejected" // it was invalid; the running one is unchanged (Errors)
)

// ReloadStatus is the outcome of a reload.
type ReloadStatus struct {
	Time time.Time `json:"time"`
	// Trigger is what asked for it: "SIGHUP" or "vipd reload".
	Trigger string `json:"trigger"`
	// Result is ReloadApplied, ReloadPartial or ReloadRejected.
	Result string `json:"result"`
	// Errors say why, one problem each, a configuration error as
	// "FILE:LINE:COL: PATH: MESSAGE" like `vipd check`.
	Errors []string `json:"errors,omitempty"`
}

// MarshalJSON encodes s, writing a nil Instances as [].
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status
	p := plain(s)
	if p.Instances == nil {
		p.Instances = []InstanceStatus{}
	}
	return json.Marshal(p)
}

// InstanceStatus is the state of one VRRP instance.
type InstanceStatus struct {
	// Name is the instance's configured name.
	Name string `json:"name"`
	// Interface is the network interface the instance runs on.
	Interface string `json:"interface"`
	// VRID is the virtual router ID (1–255).
	VRID uint8 `json:"vrid"`
	// Family is "ipv4" or "ipv6" ("ipv4+ipv6" for a routed instance
	// with both).
	Family string `json:"family"`
	// Mode is "bgp" for a routed instance; absent for VRRP.
	Mode string `json:"mode,omitempty"`
	// State is "INIT", "BACKUP", "MASTER" or "FAULT"; a routed instance
	// is "ANNOUNCING" (its VIPs are announced, the router picks a node) or
	// "FAULT" (withdrawn: FaultReasons say why).
	State string `json:"state"`
	// Priority is the configured priority; EffectivePriority is the one
	// advertised now, after health-check adjustments.
	Priority          uint8 `json:"priority"`
	EffectivePriority uint8 `json:"effective_priority"`
	// AdvertInterval is this node's configured advertisement interval;
	// MasterAdvertInterval is the interval learnt from the current master
	// (RFC 5798 Master_Adver_Interval).
	AdvertInterval       Duration `json:"advert_interval"`
	MasterAdvertInterval Duration `json:"master_advert_interval"`
	// Preempt says whether this node takes over from a lower-priority master.
	Preempt bool `json:"preempt"`
	// FaultReasons say why the instance is held in FAULT: "maintenance",
	// "address" (the VIPs could not be added), "health", "interface", "source" (the address adverts are sent from is gone).
	FaultReasons []string `json:"fault_reasons,omitempty"`
	// Master is the current master as seen by this node, itself when it is
	// master; nil (absent in JSON) when none is known.
	Master *PeerStatus `json:"master,omitempty"`
	// VIPs lists the virtual addresses; always an array in JSON.
	VIPs []VIPStatus `json:"vips"`
	// Counters counts what the instance did and saw.
	Counters Counters `json:"counters"`
}

// MarshalJSON encodes s, writing a nil VIPs as [] and nil Counters.Drops
// as {}.
func (s InstanceStatus) MarshalJSON() ([]byte, error) {
	type plain InstanceStatus
	p := plain(s)
	if p.VIPs == nil {
		p.VIPs = []VIPStatus{}
	}
	if p.Counters.Drops == nil {
		p.Counters.Drops = map[string]uint64{}
	}
	return json.Marshal(p)
}

// PeerStatus describes a VRRP router: the current master.
type PeerStatus struct {
	// Address is the router's primary IP address, the advertisement source.
	Address string `json:"address"`
	// MAC is the router's hardware address, when known.
	MAC string `json:"mac,omitempty"`
	// Priority is the priority it advertises.
	Priority uint8 `json:"priority"`
	// Self is true when the router is this node.
	Self bool `json:"self"`
}

// VIPStatus is the state of one virtual address.
type VIPStatus struct {
	// Address is the virtual address as a prefix, e.g. "192.0.2.100/32".
	Address string `json:"address"`
	// Held is true when the address is present on the interface.
	Held bool `json:"held"`
	// Verification is the proof that the upstream delivers the VIP to this
	// node: "verified", "stale", "unverifiable" or "unknown"; empty when
	// verification is off or the instance does not hold the VIP. With
	// several targets it is the worst of them.
	Verification string `json:"verification,omitempty"`
	// Targets are the per-target verification results.
	Targets []TargetStatus `json:"targets,omitempty"`
	// Misdirected counts packets for this VIP that reached this node while
	// another node held it (an upstream with a stale entry).
	Misdirected uint64 `json:"misdirected,omitempty"`
	// ConflictMAC is another host that answers for this VIP while this
	// node holds it (a duplicate owner); empty when none.
	ConflictMAC string `json:"conflict_mac,omitempty"`
	// Route is a routed VIP's route: "best here", "best elsewhere"
	// (expected on a standby), "best here at some peers", "not announced",
	// "unknown" (announced, not verified yet) or "announced" (verification
	// off); absent in VRRP mode. RoutePeers is the state at each peer.
	Route      string            `json:"route,omitempty"`
	RoutePeers []RoutePeerStatus `json:"route_peers,omitempty"`
}

// RoutePeerStatus is a routed VIP's route at one BGP peer.
type RoutePeerStatus struct {
	Peer  string `json:"peer"`
	State string `json:"state"`
}

// TargetStatus is the verification of one VIP towards one upstream target.
type TargetStatus struct {
	Target       string    `json:"target"`
	TargetMAC    string    `json:"target_mac,omitempty"`
	State        string    `json:"state"`
	Since        time.Time `json:"since,omitzero"`
	LastVerified time.Time `json:"last_verified,omitzero"`
	// Attempts counts remediation steps since the VIP last went stale;
	// LastStep names the last one and FixedBy the one that made it
	// verified ("" when verified without any).
	Attempts int    `json:"attempts,omitempty"`
	LastStep string `json:"last_step,omitempty"`
	FixedBy  string `json:"fixed_by,omitempty"`
}

// Counters counts an instance's activity since the daemon started.
type Counters struct {
	AdvertsSent     uint64 `json:"adverts_sent"`
	AdvertsReceived uint64 `json:"adverts_received"`
	// Drops counts discarded advertisements by drop reason; always an
	// object in JSON.
	Drops map[string]uint64 `json:"drops"`
	// Transitions counts state changes.
	Transitions uint64 `json:"transitions"`
	// LastTransition is when the last state change happened, with its
	// states and reason; all absent in JSON before the first one.
	LastTransition       time.Time `json:"last_transition,omitzero"`
	LastTransitionFrom   string    `json:"last_transition_from,omitempty"`
	LastTransitionTo     string    `json:"last_transition_to,omitempty"`
	LastTransitionReason string    `json:"last_transition_reason,omitempty"`
	// AddressMismatch counts advertisements whose address list differs from
	// the configured one (RFC 5798 §7.1: logged, not dropped).
	AddressMismatch uint64 `json:"address_mismatch"`
	// VIPsRestored counts VIPs that disappeared from this node while it
	// was master (an `ip addr del`, a network manager's flush) and were
	// put back. VIPsUnexpected counts VIPs found on this node while it was
	// not master, which vipd had not added (reported, not removed).
	VIPsRestored   uint64 `json:"vips_restored"`
	VIPsUnexpected uint64 `json:"vips_unexpected"`
	// ReadErrors counts failed reads of the instance's VRRP socket (the
	// reader retries, and reopens the socket if it stays broken);
	// SendErrors failed advertisement sends.
	ReadErrors uint64 `json:"read_errors"`
	SendErrors uint64 `json:"send_errors"`
}

// Duration is a time.Duration that encodes as a Go duration string such as
// "100ms" in JSON and text.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText encodes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("control: parse duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
