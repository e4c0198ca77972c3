package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/notify"
)

// Reload re-reads the configuration and applies the difference: unchanged
// instances keep their state and VIPs; changed ones are updated in place
// when their identity (interface, VRID, family, address ownership) is the
// same, else restarted; removed ones stop gracefully; new ones start. An
// invalid configuration changes nothing.
func (d *Daemon) Reload() error {
	if d.opts.Load == nil {
		return errors.New("daemon: reload: no configuration file to reload from")
	}
	cfg, err := d.opts.Load()
	if err != nil {
		d.publish(control.Event{Type: control.EventReload, Message: "rejected: " + err.Error()})
		return fmt.Errorf("daemon: reload: %w", err)
	}
	return d.apply(cfg)
}

// apply moves the running daemon to cfg.
func (d *Daemon) apply(cfg *config.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return errors.New("daemon: reload: shutting down")
	}
	old := d.cfg
	if cfg.ControlSocket != old.ControlSocket || cfg.AnnounceRate != old.AnnounceRate || cfg.Node != old.Node || cfg.StateDir != old.StateDir {
		d.log.Warn("reload: node, control_socket, state_dir and announce_rate take effect at the next restart")
	}
	next := map[string]config.Instance{}
	for _, ic := range cfg.Instances {
		next[ic.Name] = ic
	}
	var added, changed, restarted, removed []string
	// Stop what goes away or changes identity first, so that a VRID can
	// move between instance names in one reload.
	for name, r := range d.insts {
		ic, keep := next[name]
		if keep && sameIdentity(r.in.cfg, ic) {
			continue
		}
		d.stopInstance(r)
		delete(d.insts, name)
		if keep {
			restarted = append(restarted, name)
		} else {
			removed = append(removed, name)
		}
	}
	for name := range d.waiting {
		if _, keep := next[name]; !keep {
			delete(d.waiting, name)
		}
	}
	d.cfg = cfg
	d.indexVIPs(cfg)
	var errs []error
	for _, ic := range cfg.Instances {
		if r, ok := d.insts[ic.Name]; ok {
			if sameInstance(r.in.cfg, ic) {
				continue
			}
			r.in.do(context.Background(), r.done, func() { r.in.reconfigure(ic) })
			changed = append(changed, ic.Name)
			continue
		}
		if d.waiting[ic.Name] {
			continue
		}
		in, err := d.attach(ic)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := &running{in: in}
		d.insts[ic.Name] = r
		d.startInstance(r)
		if !slices.Contains(restarted, ic.Name) {
			added = append(added, ic.Name)
		}
	}
	d.indexPresenters()
	d.log.Info("configuration reloaded", "added", added, "changed", changed, "restarted", restarted, "removed", removed)
	d.publish(control.Event{Type: control.EventReload, Message: "applied", Fields: map[string]string{
		"added": fmt.Sprint(added), "changed": fmt.Sprint(changed), "restarted": fmt.Sprint(restarted), "removed": fmt.Sprint(removed)}})
	return errors.Join(errs...)
}

// sameIdentity reports whether b can be applied to a running a in place.
func sameIdentity(a, b config.Instance) bool {
	return a.Interface == b.Interface && a.VRID == b.VRID && a.IPv6() == b.IPv6() &&
		(a.Priority == 255) == (b.Priority == 255) && a.Version == b.Version
}

func sameInstance(a, b config.Instance) bool {
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}

// reconfigure applies a reloaded configuration of the same identity in
// place: the state is kept; the Presenter adds the new VIPs, removes the
// dropped ones, announces and verifies; unchanged VIPs are not touched.
func (in *instance) reconfigure(cfg config.Instance) {
	old := in.cfg
	if err := in.configure(cfg); err != nil {
		in.log.Error("reload: cannot apply", "err", err)
		in.configure(old)
		return
	}
	in.m.Reconfigure(in.clock.Now(), in.fsmConfig())
	if !reflect.DeepEqual(old.Checks, cfg.Checks) {
		in.stopMonitor()
		in.startMonitor()
	}
	if !reflect.DeepEqual(old.Notify, cfg.Notify) {
		in.notifier.Close()
		in.notifier = notify.New(cfg.Notify, cfg.Name, in.node, in.baseLog)
	}
	if in.monitor != nil {
		in.applyHealth(in.monitor.Status())
	} else {
		in.setFault(faultHealth, false)
	}
	if !reflect.DeepEqual(settings(old), settings(cfg)) {
		in.pres.SetVIPs(settings(cfg))
	}
	if in.m.State() == fsm.Master {
		// The advert carries the new list at once.
		in.send(in.m.Priority())
	}
	in.log.Info("reload applied")
}
