package daemon

import (
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/present"
)

// status reports the state machine and the counters; it runs in the
// instance's goroutine and never waits on the kernel.
func (in *instance) status() control.InstanceStatus {
	family := "ipv4"
	if in.cfg.IPv6() {
		family = "ipv6"
	}
	st := control.InstanceStatus{
		Name:                 in.cfg.Name,
		Interface:            in.cfg.Interface,
		VRID:                 in.cfg.VRID,
		Family:               family,
		State:                in.m.State().String(),
		Priority:             in.cfg.Priority,
		EffectivePriority:    in.m.Priority(),
		AdvertInterval:       control.Duration(in.cfg.AdvertInterval),
		MasterAdvertInterval: control.Duration(in.m.MasterAdverInterval()),
		Preempt:              in.cfg.Preempt,
		FaultReasons:         in.faultList(),
	}
	if mi := in.m.Master(); mi.Addr.IsValid() {
		ps := &control.PeerStatus{Address: mi.Addr.String(), Priority: mi.Priority}
		if in.m.State() == fsm.Master {
			ps.Self = true
			ps.MAC = in.ifi.HardwareAddr.String()
		} else if mi.MAC != nil {
			ps.MAC = mi.MAC.String()
		}
		st.Master = ps
	}
	drops := instanceDrops()
	for k, v := range in.drops {
		drops[k] = v
	}
	drops[queueFull] = in.queued.Load()
	st.Counters = control.Counters{
		AdvertsSent:     in.sent,
		AdvertsReceived: in.received,
		Drops:           drops,
		Transitions:     in.transitions,
		AddressMismatch: in.mismatch,
		SendErrors:      in.sendErrors,
	}
	if in.link != nil {
		st.Counters.ReadErrors = in.link.readErrors.Load()
	}
	if in.cfg.Routed() {
		in.routedStatus(&st)
	}
	if !in.lastTrAt.IsZero() {
		st.Counters.LastTransition = in.lastTrAt
		st.Counters.LastTransitionFrom = in.lastTr.From.String()
		st.Counters.LastTransitionTo = in.lastTr.To.String()
		st.Counters.LastTransitionReason = in.lastTr.Reason.String()
	}
	return st
}

// addVIPs fills st's VIPs and address counters from the Presenter's view.
func addVIPs(st *control.InstanceStatus, ps present.Status) {
	st.Counters.VIPsRestored, st.Counters.VIPsUnexpected = ps.Restored, ps.Unexpected
	for _, v := range ps.VIPs {
		vs := control.VIPStatus{Address: v.Prefix.String(), Held: v.Held, Misdirected: v.Misdirected}
		if v.ConflictMAC != nil {
			vs.ConflictMAC = v.ConflictMAC.String()
		}
		for _, t := range v.Verification {
			ts := control.TargetStatus{Target: t.Target.String(), State: t.State.String(), Since: t.Since,
				LastVerified: t.LastVerified, Attempts: t.Attempts, LastStep: t.LastStep, FixedBy: t.FixedBy}
			if t.TargetMAC != nil {
				ts.TargetMAC = t.TargetMAC.String()
			}
			vs.Targets = append(vs.Targets, ts)
			if vs.Verification == "" || rank(ts.State) > rank(vs.Verification) {
				vs.Verification = ts.State
			}
		}
		st.VIPs = append(st.VIPs, vs)
	}
}

// rank orders verification states from best to worst.
func rank(s string) int {
	switch s {
	case "verified":
		return 0
	case "unknown":
		return 1
	case "unverifiable":
		return 2
	}
	return 3 // stale
}
