package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/notify"
	"github.com/vipd/vipd/internal/present"
)

// What asked for a reload, as logged and shown by `vipd status`.
const (
	TriggerSignal  = "SIGHUP"
	TriggerControl = "vipd reload"
)

// ReloadError is a reload that was rejected (the running configuration is
// unchanged) or applied only in part (some instances could not start).
type ReloadError struct {
	Result string   // control.ReloadRejected or control.ReloadPartial
	Lines  []string // one problem each; "FILE:LINE:COL: PATH: MESSAGE" for the file's
}

func (e *ReloadError) Error() string {
	head := "reload rejected; the running configuration is unchanged:\n"
	if e.Result == control.ReloadPartial {
		head = "reload applied, but some instances could not start:\n"
	}
	return head + strings.Join(e.Lines, "\n")
}

// Reload re-reads the configuration and applies the difference: unchanged
// instances keep their state and VIPs; changed ones are updated in place
// when their identity (interface, VRID, family, address ownership, virtual
// MAC) is the same, else restarted; removed ones stop gracefully; new ones
// start. An invalid configuration changes nothing. Whatever asked for it
// (trigger), the outcome is logged, published as one event and kept for
// Status; a rejection is a *ReloadError.
func (d *Daemon) Reload(trigger string) error {
	st := control.ReloadStatus{Time: d.clock.Now(), Trigger: trigger, Result: control.ReloadApplied}
	var err error
	if d.opts.Load == nil {
		err = errors.New("daemon: reload: no configuration file to reload from")
		st.Result, st.Errors = control.ReloadRejected, []string{err.Error()}
	} else if cfg, lerr := d.opts.Load(); lerr != nil {
		st.Result, st.Errors = control.ReloadRejected, config.Lines(d.configFile(), lerr)
	} else if aerr := d.apply(cfg); aerr != nil {
		st.Result, st.Errors = control.ReloadPartial, errorLines(aerr)
	}
	switch st.Result {
	case control.ReloadRejected:
		for _, l := range st.Errors {
			d.log.Error("reload rejected; the running configuration is unchanged", "trigger", trigger, "err", l)
		}
		d.publish(control.Event{Type: control.EventReload, Message: "rejected: " + summary(st.Errors),
			Fields: map[string]string{"trigger": trigger}})
	case control.ReloadPartial:
		for _, l := range st.Errors {
			d.log.Error("reload applied, but an instance could not start", "trigger", trigger, "err", l)
		}
		d.publish(control.Event{Type: control.EventReload, Message: "partial: " + summary(st.Errors),
			Fields: map[string]string{"trigger": trigger}})
	}
	d.mu.Lock()
	d.lastReload = &st
	d.mu.Unlock()
	if err == nil && st.Result != control.ReloadApplied {
		err = &ReloadError{Result: st.Result, Lines: st.Errors}
	}
	return err
}

// configFile names the configuration file in messages.
func (d *Daemon) configFile() string {
	if d.opts.ConfigFile != "" {
		return d.opts.ConfigFile
	}
	return "configuration"
}

// errorLines splits a joined error into its parts, one line each.
func errorLines(err error) []string {
	var lines []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			lines = append(lines, errorLines(e)...)
		}
		return lines
	}
	return strings.Split(err.Error(), "\n")
}

// summary puts problems on one line for an event: the first few, and how
// many more there are.
func summary(lines []string) string {
	const shown = 3
	if len(lines) <= shown {
		return strings.Join(lines, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(lines[:shown], "; "), len(lines)-shown)
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
	if !reflect.DeepEqual(cfg.BGP, old.BGP) {
		// The speaker's identity and sessions are not changed under
		// running routes: the running bgp block stays.
		d.log.Warn("reload: bgp takes effect at the next restart")
		c := *cfg
		c.BGP = old.BGP
		cfg = &c
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
			d.obs.ForgetInstance(name)
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
			d.declare(ic)
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
// The virtual MAC settings are identity too: they decide where the VIPs
// live and where adverts leave from.
func sameIdentity(a, b config.Instance) bool {
	if a.Routed() || b.Routed() {
		return a.Routed() == b.Routed() && a.Interface == b.Interface
	}
	return a.Interface == b.Interface && a.VRID == b.VRID && a.IPv6() == b.IPv6() &&
		(a.Priority == 255) == (b.Priority == 255) && a.Version == b.Version &&
		a.VirtualMAC == b.VirtualMAC && a.VMACXmitBase == b.VMACXmitBase
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
	if r, ok := in.pres.(*present.Routed); ok && in.monitor == nil && in.routedPrio != cfg.Priority {
		in.routedPrio = cfg.Priority
		r.SetPriority(cfg.Priority)
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
