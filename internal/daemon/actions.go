package daemon

import (
	"strconv"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/present"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vmac"
	"github.com/vipd/vipd/internal/watch"
)

// apply carries out the state machine's actions in order: the machine
// decides, the instance sends adverts and tells its Presenter what should
// be true on the wire.
func (in *instance) apply(acts []fsm.Action) {
	for _, a := range acts {
		if _, ok := a.(fsm.SendAdvert); !ok {
			in.busy()
		}
		switch a := a.(type) {
		case fsm.Transition:
			in.transition(a)
		case fsm.SendAdvert:
			in.send(a.Priority)
		case fsm.TakeOver:
			// Measured from the previous master last heard, and only
			// when this is a failover from another master (a zero since
			// measures nothing).
			now := in.clock.Now()
			reason := failoverReason(in.lastTr.Reason, a.From != nil, in.lastHeard, now, in.m.MasterDownInterval())
			since := in.lastHeard
			if reason == "" {
				since = time.Time{}
			} else if since.IsZero() {
				since = now
			}
			in.failover.Store(&reason)
			if a.From != nil {
				// The master this router preempts answers for the VIPs
				// until it hears us.
				in.pres.ExpectHandover(a.From)
			}
			in.pres.TakeOver(since)
		case fsm.Release:
			in.pres.Release(in.owner())
		case fsm.MasterChanged:
			in.pres.SetOwner(in.owner())
		case fsm.Reassert:
			in.log.Warn("another router advertises as master with a lower priority: reasserting",
				"other", a.Other, "their_priority", a.Priority, "priority", in.m.Priority())
			in.publish(control.Event{Type: control.EventState, Instance: in.name, Message: "reasserting against " + a.Other.String(),
				Fields: map[string]string{"other": a.Other.String(), "their_priority": strconv.Itoa(int(a.Priority))}})
			in.pres.Reassert()
		case fsm.MasterResigned:
			if a.WasMaster {
				in.log.Info("another master resigned", "other", a.From)
				continue
			}
			in.log.Info("master resigned; taking over after Skew_Time unless another router does", "master", a.From,
				"skew", in.m.SkewTime())
			in.pres.ExpectHandover(a.MAC)
		}
	}
}

func (in *instance) transition(a fsm.Transition) {
	in.transitions++
	in.lastTr, in.lastTrAt = a, in.clock.Now()
	in.log.Info("state change", "from", a.From.String(), "to", a.To.String(), "reason", a.Reason.String(),
		"priority", in.m.Priority())
	fields := map[string]string{"from": a.From.String(), "to": a.To.String(), "reason": a.Reason.String(),
		"priority": strconv.Itoa(int(in.m.Priority()))}
	if a.To == fsm.Fault {
		fields["faults"] = strings.Join(in.faultList(), ",")
	}
	in.publish(control.Event{Type: control.EventState, Instance: in.name,
		Message: a.From.String() + " -> " + a.To.String(), Fields: fields})
	if in.notifier != nil {
		in.notifier.Transition(a.To.String(), in.m.Priority(), a.Reason.String())
	}
}

// owner is the current master as the watcher needs it.
func (in *instance) owner() watch.Owner {
	mi := in.m.Master()
	if !mi.Addr.IsValid() || in.m.State() == fsm.Master {
		return watch.Owner{}
	}
	if in.cfg.VirtualMAC {
		// The VIPs are at the virtual MAC, whatever MAC the master's
		// adverts come from (vmac_xmit_base).
		return watch.Owner{Node: mi.Addr.String(), MAC: vmac.MAC(in.cfg.VRID, in.cfg.IPv6())}
	}
	return watch.Owner{Node: mi.Addr.String(), MAC: mi.MAC}
}

// report receives the Presenter's reports. It runs on the Presenter's (or
// its verifier's) goroutine: it only logs, publishes, counts and signals.
func (in *instance) report(r present.Report) {
	in.busy()
	switch r := r.(type) {
	case present.AddFailed:
		select {
		case in.addFailed <- struct{}{}:
		default:
		}
		in.publish(control.Event{Type: control.EventAddress, Instance: in.name, Message: "cannot add VIPs: " + r.Err.Error()})
	case present.RemoveFailed:
		in.publish(control.Event{Type: control.EventAddress, Instance: in.name, Message: "cannot remove VIPs: " + r.Err.Error()})
	case present.Restored:
		for _, p := range r.VIPs {
			in.publish(control.Event{Type: control.EventAddress, Instance: in.name, VIP: p.String(), Message: "restored",
				Fields: map[string]string{"iface": in.ifi.Name}})
		}
	case present.Unexpected:
		for _, p := range r.VIPs {
			in.publish(control.Event{Type: control.EventAddress, Instance: in.name, VIP: p.String(), Message: "unexpected",
				Fields: map[string]string{"iface": in.ifi.Name}})
		}
	case present.FailoverVerified:
		d := r.Duration.Round(time.Millisecond)
		reason := ""
		if p := in.failover.Load(); p != nil {
			reason = *p
		}
		if reason != "" {
			in.obs.ObserveFailover(in.name, reason, r.Duration)
		}
		in.log.Info("every VIP verified at the upstream", "since_master_last_heard", d, "failover", reason)
		in.publish(control.Event{Type: control.EventVerify, Instance: in.name, Message: "all VIPs verified",
			Fields: map[string]string{"failover": d.String(), "reason": reason}})
	case present.Verify:
		in.verifyEvent(r.Event)
	}
}

func (in *instance) verifyEvent(e verify.Event) {
	switch e := e.(type) {
	case verify.StateChanged:
		st := e.Status
		if st.State == verify.Unknown {
			return
		}
		fields := map[string]string{"target": st.Target.String(), "state": st.State.String()}
		if st.FixedBy != "" {
			fields["fixed_by"] = st.FixedBy
		}
		if st.Attempts > 0 {
			fields["attempts"] = strconv.Itoa(st.Attempts)
		}
		in.publish(control.Event{Type: control.EventVerify, Instance: in.name, VIP: st.VIP.String(), Message: st.State.String(), Fields: fields})
	case verify.RemediationSent:
		in.obs.RemediationSent(in.name, e.Kind.String(), e.Frames)
		in.publish(control.Event{Type: control.EventRemediation, Instance: in.name, VIP: e.VIP.String(), Message: e.Kind.String(),
			Fields: map[string]string{"target": e.Target.String(), "frames": strconv.Itoa(e.Frames)}})
	}
}
