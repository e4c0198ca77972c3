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

// LeaveFault ends a fault; the instance starts again as from Initialize.
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
type TakeOver struct{}

// Release: stop announcing and remove the virtual addresses (leaving Master).
type Release struct{}

// Transition reports a state change, for logs, events and metrics.
type Transition struct {
	From, To State
	Reason   Reason
}

func (SendAdvert) isAction() {}
func (TakeOver) isAction()   {}
func (Release) isAction()    {}
func (Transition) isAction() {}

// MasterInfo is what this instance knows of the current master.
type MasterInfo struct {
	Addr     netip.Addr
	MAC      net.HardwareAddr
	Priority uint8
	Interval time.Duration
	Seen     time.Time
}

// Machine is one VRRP instance's state. It is not safe for concurrent use:
// one goroutine owns it.
type Machine struct {
	cfg      Config
	priority uint8 // effective priority
	state    State

	masterAdverInterval time.Duration
	adverTimer          time.Time // zero when stopped
	masterDownTimer     time.Time // zero when stopped
	lowerSince          time.Time // first lower-priority advert in the current run (preempt delay)
	master              MasterInfo
	faulted             bool
}

// New returns a machine in Initialize. cfg.Priority must be 1..255 and
// cfg.AdvertInterval positive; config validation guarantees both.
func New(cfg Config) *Machine {
	return &Machine{cfg: cfg, priority: cfg.Priority, masterAdverInterval: cfg.AdvertInterval}
}

// Reconfigure applies a changed configuration at time now (a reload),
// keeping the state. A master restarts its advertisement timer with the new
// interval; a backup keeps its Master_Down_Timer. Whether the instance is the
// address owner must not change: the caller restarts the instance instead.
// The effective priority becomes the configured one: the caller re-applies
// its adjustments with SetPriority.
func (m *Machine) Reconfigure(now time.Time, cfg Config) {
	m.cfg = cfg
	m.priority = cfg.Priority
	if m.state == Master {
		m.masterAdverInterval = cfg.AdvertInterval
		m.adverTimer = now.Add(cfg.AdvertInterval)
		m.master.Priority, m.master.Interval = m.priority, cfg.AdvertInterval
	}
	if cfg.PreemptDelay == 0 {
		m.lowerSince = time.Time{}
	}
}

// Config returns the configuration in use.
func (m *Machine) Config() Config { return m.cfg }

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority.
func (m *Machine) Priority() uint8 { return m.priority }

// MasterAdverInterval returns Master_Adver_Interval (learned from the master
// while Backup).
func (m *Machine) MasterAdverInterval() time.Duration { return m.masterAdverInterval }

// Master returns what is known of the current master (zero if unknown; when
// this instance is master, Addr is its own primary address).
func (m *Machine) Master() MasterInfo { return m.master }

// Owner reports whether this instance is the address owner (priority 255).
func (m *Machine) Owner() bool { return m.cfg.Priority == 255 }

// SkewTime returns Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256.
func (m *Machine) SkewTime() time.Duration {
	return time.Duration(256-int64(m.priority)) * m.masterAdverInterval / 256
}

// MasterDownInterval returns 3 × Master_Adver_Interval + Skew_Time.
func (m *Machine) MasterDownInterval() time.Duration {
	return 3*m.masterAdverInterval + m.SkewTime()
}

// NextDeadline returns when the next timer fires; ok is false when no timer
// runs.
func (m *Machine) NextDeadline() (t time.Time, ok bool) {
	switch m.state {
	case Master:
		return m.adverTimer, !m.adverTimer.IsZero()
	case Backup:
		return m.masterDownTimer, !m.masterDownTimer.IsZero()
	}
	return time.Time{}, false
}

// Step applies one event at time now and returns the actions to perform.
func (m *Machine) Step(now time.Time, ev Event) []Action {
	switch ev := ev.(type) {
	case Startup:
		if m.state != Initialize {
			return nil
		}
		return m.start(now, ReasonStartup)
	case Shutdown:
		return m.shutdown(ReasonShutdown, Initialize)
	case Tick:
		return m.tick(now)
	case Advert:
		return m.advert(now, ev)
	case SetPriority:
		if m.Owner() || ev.Priority == 0 {
			return nil
		}
		m.priority = ev.Priority
		return nil
	case EnterFault:
		if m.state == Fault {
			return nil
		}
		m.faulted = true
		return m.shutdown(ReasonFault, Fault)
	case LeaveFault:
		if m.state != Fault {
			return nil
		}
		m.faulted = false
		m.state = Initialize
		acts := m.start(now, ReasonRecovered)
		// Report a single transition Fault → X rather than Initialize → X.
		if len(acts) > 0 {
			if tr, ok := acts[0].(Transition); ok {
				tr.From = Fault
				acts[0] = tr
			}
		}
		return acts
	}
	return nil
}

func (m *Machine) start(now time.Time, reason Reason) []Action {
	m.lowerSince = time.Time{}
	m.masterAdverInterval = m.cfg.AdvertInterval
	if m.Owner() {
		return m.becomeMaster(now, ReasonOwner)
	}
	m.state = Backup
	m.master = MasterInfo{}
	m.masterDownTimer = now.Add(m.MasterDownInterval())
	return []Action{Transition{From: Initialize, To: Backup, Reason: reason}}
}

func (m *Machine) becomeMaster(now time.Time, reason Reason) []Action {
	from := m.state
	m.state = Master
	m.masterDownTimer = time.Time{}
	m.adverTimer = now.Add(m.cfg.AdvertInterval)
	m.masterAdverInterval = m.cfg.AdvertInterval
	m.master = MasterInfo{Addr: m.cfg.PrimaryAddr, Priority: m.priority, Interval: m.cfg.AdvertInterval, Seen: now}
	return []Action{
		Transition{From: from, To: Master, Reason: reason},
		SendAdvert{Priority: m.priority},
		TakeOver{},
	}
}

func (m *Machine) shutdown(reason Reason, to State) []Action {
	from := m.state
	m.adverTimer, m.masterDownTimer = time.Time{}, time.Time{}
	m.state = to
	switch from {
	case Master:
		m.master = MasterInfo{}
		return []Action{
			Transition{From: from, To: to, Reason: reason},
			SendAdvert{Priority: 0},
			Release{},
		}
	case to:
		return nil
	}
	m.master = MasterInfo{}
	return []Action{Transition{From: from, To: to, Reason: reason}}
}

func (m *Machine) tick(now time.Time) []Action {
	switch m.state {
	case Master:
		if m.adverTimer.IsZero() || now.Before(m.adverTimer) {
			return nil
		}
		// Keep the cadence unless the caller fell far behind.
		next := m.adverTimer.Add(m.cfg.AdvertInterval)
		if !next.After(now) {
			next = now.Add(m.cfg.AdvertInterval)
		}
		m.adverTimer = next
		m.master.Seen = now
		return []Action{SendAdvert{Priority: m.priority}}
	case Backup:
		if m.masterDownTimer.IsZero() || now.Before(m.masterDownTimer) {
			return nil
		}
		reason := ReasonMasterDown
		if m.master.Priority == 0 && m.master.Addr.IsValid() {
			reason = ReasonMasterResigned
		}
		return m.becomeMaster(now, reason)
	}
	return nil
}

func (m *Machine) advert(now time.Time, a Advert) []Action {
	switch m.state {
	case Backup:
		if a.Priority == 0 {
			// The master resigned: take over after Skew_Time.
			m.masterDownTimer = now.Add(m.SkewTime())
			m.master.Addr, m.master.MAC, m.master.Priority, m.master.Seen = a.From, a.MAC(), 0, now
			return nil
		}
		accept := !m.cfg.Preempt || a.Priority >= m.priority
		if !accept && m.cfg.PreemptDelay > 0 {
			if m.lowerSince.IsZero() {
				m.lowerSince = now
			}
			accept = now.Sub(m.lowerSince) < m.cfg.PreemptDelay
		}
		if a.Priority >= m.priority {
			m.lowerSince = time.Time{}
		}
		if !accept {
			// Preempt: let Master_Down_Timer run out.
			return nil
		}
		m.learn(now, a)
		m.masterDownTimer = now.Add(m.MasterDownInterval())
		return nil
	case Master:
		if a.Priority == 0 {
			// Another router resigned: make sure backups hear us at once.
			m.adverTimer = now.Add(m.cfg.AdvertInterval)
			return []Action{SendAdvert{Priority: m.priority}}
		}
		if a.Priority > m.priority || (a.Priority == m.priority && m.cfg.PrimaryAddr.IsValid() && a.From.Compare(m.cfg.PrimaryAddr) > 0) {
			m.adverTimer = time.Time{}
			m.state = Backup
			m.lowerSince = time.Time{}
			m.learn(now, a)
			m.masterDownTimer = now.Add(m.MasterDownInterval())
			return []Action{
				Transition{From: Master, To: Backup, Reason: ReasonPreempted},
				Release{},
			}
		}
		return nil
	}
	return nil
}

func (m *Machine) learn(now time.Time, a Advert) {
	if a.Interval > 0 {
		m.masterAdverInterval = a.Interval
	}
	m.master = MasterInfo{Addr: a.From, MAC: a.MAC(), Priority: a.Priority, Interval: a.Interval, Seen: now}
}

// MAC returns a copy of the sender's hardware address.
func (a Advert) MAC() net.HardwareAddr {
	if a.FromMAC == nil {
		return nil
	}
	return append(net.HardwareAddr(nil), a.FromMAC...)
}
