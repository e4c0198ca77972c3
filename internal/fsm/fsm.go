package fsm

import (
	"net"
	"net/netip"
	"time"
)

// ReassertGap is the least time between two Reassert actions.
const ReassertGap = 2 * time.Second

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
	// masterSince and masterBy are when and why this router last became
	// master (a young master yields to keep the preempt delay).
	masterSince  time.Time
	lastReassert time.Time
	// ignored is the last lower-priority master a preempting backup
	// ignored, and when; preempted is that master once this router took
	// over from it: its goodbye advert right after is no reason to
	// reassert.
	// lowerHeard is when a master heard a lower-priority master last.
	lowerHeard time.Time
	ignored    netip.Addr
	ignoredMAC net.HardwareAddr
	ignoredAt  time.Time
	preempted  netip.Addr
	// provisional: this router became master by Master_Down_Timer while
	// it still followed a lower-priority master within its preempt delay
	// (that master went silent: dead, or cut off without carrier loss).
	provisional bool
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

// SkewTime returns Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256,
// or (256 − Priority) / 256 seconds for VRRPv2 (RFC 3768 §6.1).
func (m *Machine) SkewTime() time.Duration {
	if m.cfg.V2 {
		return time.Duration(256-int64(m.priority)) * time.Second / 256
	}
	return time.Duration(256-int64(m.priority)) * m.masterAdverInterval / 256
}

// MasterDownInterval returns 3 × Master_Adver_Interval + Skew_Time (for
// VRRPv2, 3 × Advertisement_Interval + Skew_Time: a v2 backup does not
// learn the interval).
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
	before, wasMaster := m.master, m.state == Master
	acts := m.step(now, ev)
	// A master that leaves Master releases the VIPs: MasterChanged only
	// when it learnt who the master is now.
	if m.state != Master && !before.same(m.master) && (!wasMaster || m.master.Addr.IsValid()) {
		acts = append(acts, MasterChanged{Master: m.master})
	}
	return acts
}

func (m *Machine) step(now time.Time, ev Event) []Action {
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
		return m.shutdown(ReasonFault, Fault)
	case LeaveFault:
		if m.state != Fault {
			return nil
		}
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
	m.provisional = reason == ReasonMasterDown && m.cfg.PreemptDelay > 0 &&
		!m.lowerSince.IsZero() && now.Sub(m.lowerSince) < m.cfg.PreemptDelay
	m.masterSince = now
	m.preempted = netip.Addr{}
	var prev net.HardwareAddr
	if reason == ReasonMasterDown && m.ignored.IsValid() && now.Sub(m.ignoredAt) <= m.MasterDownInterval() {
		m.preempted, prev = m.ignored, m.ignoredMAC
	}
	m.master = MasterInfo{Addr: m.cfg.PrimaryAddr, Priority: m.priority, Interval: m.cfg.AdvertInterval, Seen: now}
	return []Action{
		Transition{From: from, To: Master, Reason: reason},
		SendAdvert{Priority: m.priority},
		TakeOver{From: prev},
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
			return []Action{MasterResigned{From: a.From, MAC: a.MAC()}}
		}
		if !m.accept(now, a) {
			// Preempt: let Master_Down_Timer run out.
			m.ignored, m.ignoredMAC, m.ignoredAt = a.From, a.MAC(), now
			return nil
		}
		m.learn(now, a)
		m.masterDownTimer = now.Add(m.MasterDownInterval())
		return nil
	case Master:
		if a.Priority == 0 {
			// Another master resigned (two masters, one gave up): make
			// sure backups hear us at once, and reassert, because the
			// upstream may have learnt the other's MAC.
			m.adverTimer = now.Add(m.cfg.AdvertInterval)
			acts := []Action{MasterResigned{From: a.From, MAC: a.MAC(), WasMaster: true}}
			if r := m.reassert(now, a); r != nil {
				acts = append(acts, r)
			}
			return append(acts, SendAdvert{Priority: m.priority})
		}
		if a.Priority > m.priority || (a.Priority == m.priority && m.cfg.PrimaryAddr.IsValid() && a.From.Compare(m.cfg.PrimaryAddr) > 0) {
			// RFC 5798 §6.4.3: go to Backup. No priority 0, which would
			// start every other backup's Skew_Time for nothing; one last
			// advert with our priority tells the new master that we held
			// the VIPs until now (it reasserts, or hands back if it only
			// took over because we seemed gone, see below).
			prio := m.priority
			m.toBackup(now, a)
			return []Action{
				SendAdvert{Priority: prio},
				Transition{From: Master, To: Backup, Reason: ReasonPreempted},
				Release{},
			}
		}
		if m.provisional && now.Sub(m.masterSince) < m.cfg.PreemptDelay {
			// The lower-priority master this router followed within its
			// preempt delay is back: the path had failed without carrier
			// loss. Hand back and wait out the delay as a backup.
			// Priority 0 makes the other router (which may have yielded
			// to us at the same moment) take over after its Skew_Time.
			m.toBackup(now, a)
			m.lowerSince = now
			return []Action{
				Transition{From: Master, To: Backup, Reason: ReasonPreemptDelay},
				SendAdvert{Priority: 0},
				Release{},
			}
		}
		if a.From == m.preempted && now.Sub(m.masterSince) < m.goodbyeWindow() {
			// The master we just preempted says goodbye: our takeover
			// announced after its last announcement. Later adverts from
			// it are a master again (a partition right after the
			// takeover): those are reasserted against.
			return nil
		}
		if r := m.reassert(now, a); r != nil {
			m.adverTimer = now.Add(m.cfg.AdvertInterval)
			return []Action{r, SendAdvert{Priority: m.priority}}
		}
		return nil
	}
	return nil
}

// goodbyeWindow is how long after preempting a master its adverts are
// taken for its goodbye: it answers our first advert at once, so a few
// advert intervals, at most ReassertGap.
func (m *Machine) goodbyeWindow() time.Duration {
	return min(ReassertGap, 3*m.cfg.AdvertInterval)
}

// accept decides whether a backup follows a master's advert (RFC 5798
// §6.4.2, with the preempt delay).
func (m *Machine) accept(now time.Time, a Advert) bool {
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
	return accept
}

// reassert returns a Reassert against a's sender unless one was made less
// than ReassertGap ago.
func (m *Machine) reassert(now time.Time, a Advert) Action {
	// A lower master heard again after a silence (a partition that
	// healed) is a new episode: reassert at once, whatever the gap.
	episode := m.lowerHeard.IsZero() || now.Sub(m.lowerHeard) > m.MasterDownInterval()
	m.lowerHeard = now
	if !episode && !m.lastReassert.IsZero() && now.Sub(m.lastReassert) < ReassertGap {
		return nil
	}
	m.lastReassert = now
	return Reassert{Other: a.From, Priority: a.Priority}
}

func (m *Machine) toBackup(now time.Time, a Advert) {
	m.adverTimer = time.Time{}
	m.state = Backup
	m.provisional = false
	m.lowerSince = time.Time{}
	m.learn(now, a)
	m.masterDownTimer = now.Add(m.MasterDownInterval())
}

func (m *Machine) learn(now time.Time, a Advert) {
	if a.Interval > 0 && !m.cfg.V2 {
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
