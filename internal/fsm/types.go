package fsm

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// State is a VRRP router state (RFC 5798 §6.4), plus Fault.
type State uint8

const (
	Initialize State = iota
	Backup
	Master
	Fault
)

func (s State) String() string {
	switch s {
	case Initialize:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Reason says why a transition happened.
type Reason uint8

const (
	ReasonNone Reason = iota
	// ReasonStartup: the instance started (Initialize → Backup).
	ReasonStartup
	// ReasonOwner: priority 255, the address owner starts as master.
	ReasonOwner
	// ReasonMasterDown: no advertisement within Master_Down_Interval.
	ReasonMasterDown
	// ReasonMasterResigned: the master sent priority 0 and Skew_Time passed.
	ReasonMasterResigned
	// ReasonPreempted: an advertisement with a higher priority (or equal
	// priority from a higher address) arrived while master.
	ReasonPreempted
	// ReasonShutdown: the daemon or the instance is stopping.
	ReasonShutdown
	// ReasonFault: a health check or the operator put the instance in fault.
	ReasonFault
	// ReasonRecovered: the fault cleared.
	ReasonRecovered
	// ReasonPreemptDelay: a master that took over by Master_Down_Timer
	// less than PreemptDelay ago heard a lower-priority master (a path that
	// failed without carrier loss and came back): it hands back and waits
	// out its preempt delay as a backup.
	ReasonPreemptDelay
)

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonStartup:
		return "startup"
	case ReasonOwner:
		return "address_owner"
	case ReasonMasterDown:
		return "master_down_timer"
	case ReasonMasterResigned:
		return "master_resigned"
	case ReasonPreempted:
		return "preempted"
	case ReasonShutdown:
		return "shutdown"
	case ReasonFault:
		return "fault"
	case ReasonRecovered:
		return "recovered"
	case ReasonPreemptDelay:
		return "preempt_delay"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Config is what the state machine needs from an instance's configuration.
type Config struct {
	// Priority is the configured priority, 1..255 (255 = address owner).
	Priority uint8
	// AdvertInterval is Advertisement_Interval.
	AdvertInterval time.Duration
	// Preempt is Preempt_Mode.
	Preempt bool
	// PreemptDelay: see the package documentation.
	PreemptDelay time.Duration
	// PrimaryAddr is this router's primary address on the interface, used
	// to break priority ties.
	PrimaryAddr netip.Addr
	// V2 selects VRRPv2's timers (RFC 3768 §6.1): Skew_Time is
	// (256 − Priority) / 256 seconds whatever the interval, and
	// Master_Down_Interval uses this router's own Advertisement_Interval
	// (adverts with another interval are dropped before they get here).
	V2 bool
}

// Event is an input to Step.
type Event interface{ isEvent() }

// Startup starts the instance (from Initialize).
type Startup struct{}

// Shutdown stops the instance; a master sends priority 0.
type Shutdown struct{}

// Tick tells the machine that time passed; timers due by now fire.
type Tick struct{}

// Advert is a received advertisement that passed the receive checks.
type Advert struct {
	From     netip.Addr
	FromMAC  net.HardwareAddr
	Priority uint8
	Interval time.Duration
}

// SetPriority changes the effective priority (health check weights,
// maintenance). It never changes whether the instance is the address owner.
type SetPriority struct{ Priority uint8 }

// EnterFault puts the instance in Fault: no addresses, no advertisements.
type EnterFault struct{}

// LeaveFault ends a fault; the instance starts again as from Initialize:
// a backup that listens for a Master_Down_Interval before it claims.
type LeaveFault struct{}

func (Startup) isEvent()     {}
func (Shutdown) isEvent()    {}
func (Tick) isEvent()        {}
func (Advert) isEvent()      {}
func (SetPriority) isEvent() {}
func (EnterFault) isEvent()  {}
func (LeaveFault) isEvent()  {}

// Action is an output of Step, performed by the caller in order.
type Action interface{ isAction() }

// SendAdvert: send an advertisement with this priority.
type SendAdvert struct{ Priority uint8 }

// TakeOver: add the virtual addresses and announce them (entering Master).
type TakeOver struct {
	// From is the MAC of the lower-priority master this router preempts
	// (nil otherwise): it answers for the VIPs until it hears this
	// router's advertisement and lets them go.
	From net.HardwareAddr
}

// Release: stop announcing and remove the virtual addresses (leaving Master).
type Release struct{}

// Transition reports a state change, for logs, events and metrics.
type Transition struct {
	From, To State
	Reason   Reason
}

// Reassert: this master heard another master with a lower priority (a
// healed partition, a peer that missed our adverts). A SendAdvert comes with
// it so that the other yields within one interval; the caller announces and
// verifies the VIPs again, because the upstream may have learnt the other
// node's MAC meanwhile. At most one per ReassertGap.
type Reassert struct {
	Other    netip.Addr
	Priority uint8
}

// MasterResigned: the master sent priority 0 (shutdown, maintenance,
// fault): an orderly handover, not a failure. MAC is the resigning
// router's, when known: its answers for the VIPs while it removes them are
// expected for a moment.
type MasterResigned struct {
	From netip.Addr
	MAC  net.HardwareAddr
	// WasMaster is true when this router was master itself when it heard
	// it (two masters, one of them resigned).
	WasMaster bool
}

// MasterChanged: the master this (non-master) router follows changed, or
// became unknown (zero Master). The caller tells its watchers who owns the
// VIPs now.
type MasterChanged struct{ Master MasterInfo }

func (SendAdvert) isAction()     {}
func (TakeOver) isAction()       {}
func (Release) isAction()        {}
func (Transition) isAction()     {}
func (Reassert) isAction()       {}
func (MasterResigned) isAction() {}
func (MasterChanged) isAction()  {}

// MasterInfo is what this instance knows of the current master.
type MasterInfo struct {
	Addr     netip.Addr
	MAC      net.HardwareAddr
	Priority uint8
	Interval time.Duration
	Seen     time.Time
}

// same reports whether a and b name the same router.
func (a MasterInfo) same(b MasterInfo) bool {
	return a.Addr == b.Addr && a.MAC.String() == b.MAC.String()
}
