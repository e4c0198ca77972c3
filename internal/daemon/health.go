package daemon

import (
	"context"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/present"
)

// startMonitor runs the instance's health checks, if any.
func (in *instance) startMonitor() {
	in.monitor, in.healthWas = nil, map[string]bool{}
	if len(in.cfg.Checks) == 0 {
		return
	}
	in.monitor = health.NewMonitor(in.cfg.Checks, health.Deps{
		Logger: in.log,
		OnChange: func(st health.Status) {
			in.healthNow.Store(&st)
			select {
			case in.healthCh <- struct{}{}:
			default:
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	in.stopMon, in.monDone = cancel, make(chan struct{})
	go func() { defer close(in.monDone); in.monitor.Run(ctx) }()
}

func (in *instance) stopMonitor() {
	if in.stopMon != nil {
		in.stopMon()
		<-in.monDone
		in.stopMon = nil
	}
}

// healthChanged applies the latest health status.
func (in *instance) healthChanged() {
	if st := in.healthNow.Load(); st != nil && in.monitor != nil {
		in.applyHealth(*st)
	}
}

// applyHealth sets the effective priority and the health fault, and
// reports checks that changed.
func (in *instance) applyHealth(st health.Status) {
	for _, c := range st.Checks {
		if c.Pending {
			continue
		}
		in.obs.HealthCheck(in.cfg.Name, c.Name, c.Healthy)
		if was, ok := in.healthWas[c.Name]; ok && was == c.Healthy {
			continue
		}
		in.healthWas[c.Name] = c.Healthy
		msg := "healthy"
		if !c.Healthy {
			msg = "failing"
		}
		fields := map[string]string{"check": c.Name, "type": c.Type}
		if !c.Healthy && c.LastErr != "" {
			fields["error"] = c.LastErr
		}
		in.publish(control.Event{Type: control.EventHealth, Instance: in.cfg.Name, Message: c.Name + " " + msg, Fields: fields})
	}
	prio, fault := health.Effective(in.cfg.Priority, st)
	if r, ok := in.pres.(*present.Routed); ok {
		// Routed: the priority is the routes' preference, not the
		// state machine's (which runs as an owner).
		if prio != in.routedPrio {
			in.log.Info("priority changed by health checks", "priority", prio, "configured", in.cfg.Priority)
			in.routedPrio = prio
			r.SetPriority(prio)
		}
	} else if prio != in.m.Priority() {
		in.log.Info("priority changed by health checks", "priority", prio, "configured", in.cfg.Priority)
		in.m.Step(in.clock.Now(), fsm.SetPriority{Priority: prio})
	}
	in.setFault(faultHealth, fault)
}

// checksWarmup bounds the wait for the first health results.
func (in *instance) checksWarmup() time.Duration {
	var d time.Duration
	for _, c := range in.cfg.Checks {
		d = max(d, c.Timeout)
	}
	return d + time.Second
}
