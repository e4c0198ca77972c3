package daemon

import (
	"context"
	"os"
	"runtime"
	"slices"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
)

func (d *Daemon) mux() *control.Mux {
	m := control.NewMux()
	m.HandleFunc(control.CommandStatus, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		control.Reply(w, d.Status(ctx))
	})
	m.HandleFunc(control.CommandEvents, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		ch, cancel := d.bus.subscribe()
		defer cancel()
		// An empty first reply tells the client the stream is open.
		if err := control.Reply(w, nil); err != nil {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-ch:
				if err := control.Reply(w, e); err != nil {
					return
				}
			}
		}
	})
	m.HandleFunc(control.CommandReload, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		if err := d.Reload(TriggerControl); err != nil {
			w.Write(control.ErrorResponse(err))
			return
		}
		control.Reply(w, nil)
	})
	m.HandleFunc(control.CommandMaintenance, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		var args MaintenanceArgs
		if err := req.DecodeArgs(&args); err != nil {
			w.Write(control.ErrorResponse(err))
			return
		}
		if err := d.SetMaintenance(ctx, args.Instance, args.On); err != nil {
			w.Write(control.ErrorResponse(err))
			return
		}
		control.Reply(w, nil)
	})
	return m
}

// Status reports the daemon and every instance, in configuration order.
// The state machines answer from their loops; the VIPs come from the
// Presenters' view of the kernel, never from a netlink dump.
func (d *Daemon) Status(ctx context.Context) (st control.Status) {
	st = control.Status{
		Node:       d.opts.Config.Node,
		PID:        os.Getpid(),
		Version:    d.opts.Version,
		StartedAt:  d.started,
		Goroutines: runtime.NumGoroutine(),
		OpenFDs:    openFDs(),
	}
	st.BGP = d.bgpStatus(ctx)
	d.mu.Lock()
	if r := d.lastReload; r != nil {
		c := *r
		st.LastReload = &c
	}
	var rs []*running
	var waiting []config.Instance
	order := make([]string, 0, len(d.cfg.Instances))
	for _, ic := range d.cfg.Instances {
		order = append(order, ic.Name)
		if r, ok := d.insts[ic.Name]; ok && r.done != nil {
			rs = append(rs, r)
		} else if d.waiting[ic.Name] {
			waiting = append(waiting, ic)
		}
	}
	d.mu.Unlock()
	for _, r := range rs {
		var is control.InstanceStatus
		if !r.in.do(ctx, r.done, func() { is = r.in.status() }) {
			continue
		}
		ps := r.in.pres.Status()
		addVIPs(&is, ps)
		addRoutes(&is, ps)
		if r.in.link == nil {
			st.Instances = append(st.Instances, is)
			continue
		}
		for k, v := range r.in.link.dropCounts() {
			// Packets that never reached an instance (unknown VRID,
			// malformed IP) are shown on every instance of the link.
			is.Counters.Drops["link_"+k] = v
		}
		st.Instances = append(st.Instances, is)
	}
	// Instances waiting for their interface are shown too.
	for _, ic := range waiting {
		family := "ipv4"
		if ic.IPv6() {
			family = "ipv6"
		}
		is := control.InstanceStatus{Name: ic.Name, Interface: ic.Interface, VRID: ic.VRID, Family: family,
			State: "INIT", Priority: ic.Priority, EffectivePriority: ic.Priority,
			AdvertInterval: control.Duration(ic.AdvertInterval), Preempt: ic.Preempt,
			FaultReasons: []string{"waiting for interface"}, Counters: control.Counters{Drops: map[string]uint64{}}}
		for _, p := range ic.VIPs {
			is.VIPs = append(is.VIPs, control.VIPStatus{Address: p.String()})
		}
		st.Instances = append(st.Instances, is)
	}
	slices.SortStableFunc(st.Instances, func(a, b control.InstanceStatus) int {
		return slices.Index(order, a.Name) - slices.Index(order, b.Name)
	})
	return st
}

// openFDs counts this process's open file descriptors (Linux), or -1.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
