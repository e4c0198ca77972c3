package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/statedir"
)

// MaintenanceArgs are the arguments of the control command "maintenance".
type MaintenanceArgs struct {
	On bool `json:"on"`
	// Instance names one instance; empty means every instance.
	Instance string `json:"instance,omitempty"`
}

// maintenance is the persisted set of instances in maintenance.
type maintenance struct {
	dir string // "" when there is no state directory

	mu    sync.Mutex // guards state
	state statedir.Maintenance
}

// loadMaintenance reads the persisted maintenance state. It fails closed:
// a state directory that cannot be read, or a corrupt file, is an error
// (starting without maintenance could put a node the operator took out back
// into the election).
func loadMaintenance(dir string, log *slog.Logger) (*maintenance, error) {
	m := &maintenance{dir: dir}
	if dir == "" {
		return m, nil
	}
	st, err := statedir.LoadMaintenance(dir)
	if err != nil {
		return nil, fmt.Errorf("daemon: maintenance state: %w (fix or remove the file; it says which instances the operator took out of service)", err)
	}
	if st.All || len(st.Instances) > 0 {
		log.Warn("maintenance mode persisted from an earlier run", "all", st.All, "instances", st.Instances)
	}
	m.state = st
	return m, nil
}

func (m *maintenance) on(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.On(name)
}

func (m *maintenance) faultsFor(name string) []string {
	if m.on(name) {
		return []string{faultMaintenance}
	}
	return nil
}

// set records the new state for name ("" for all) and writes it out;
// names are every instance's (turning one off while all are on turns the
// others on explicitly).
func (m *maintenance) set(name string, on bool, names []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.state
	st.Instances = slices.Clone(st.Instances)
	switch {
	case name == "":
		st.All = on
		if !on {
			st.Instances = nil
		}
	case on && !slices.Contains(st.Instances, name):
		st.Instances = append(st.Instances, name)
	case !on:
		if st.All {
			st.All = false
			for _, n := range names {
				if n != name && !slices.Contains(st.Instances, n) {
					st.Instances = append(st.Instances, n)
				}
			}
		}
		st.Instances = slices.DeleteFunc(st.Instances, func(s string) bool { return s == name })
	}
	if m.dir != "" {
		if err := statedir.SaveMaintenance(m.dir, st); err != nil {
			return fmt.Errorf("daemon: maintenance: %w", err)
		}
	}
	m.state = st
	return nil
}

// SetMaintenance puts one instance (or all, name "") in or out of
// maintenance: a master sends priority 0, so its peer takes over after
// Skew_Time, and removes its VIPs; the instance then stays out of the
// election until maintenance ends. The setting survives restarts.
func (d *Daemon) SetMaintenance(ctx context.Context, name string, on bool) error {
	d.mu.Lock()
	var rs []*running
	var names []string
	for n, r := range d.insts {
		names = append(names, n)
		if name == "" || n == name {
			rs = append(rs, r)
		}
	}
	d.mu.Unlock()
	if name != "" && len(rs) == 0 {
		return fmt.Errorf("daemon: maintenance: no instance %q", name)
	}
	if err := d.maint.set(name, on, names); err != nil {
		return err
	}
	for _, r := range rs {
		r.in.do(ctx, r.done, func() { r.in.setFault(faultMaintenance, on) })
	}
	what := "all instances"
	if name != "" {
		what = name
	}
	msg := "off"
	if on {
		msg = "on"
	}
	d.log.Info("maintenance mode changed", "maintenance", msg, "instance", what)
	d.publish(control.Event{Type: control.EventMaintenance, Instance: name, Message: "maintenance " + msg})
	return nil
}
