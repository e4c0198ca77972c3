package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/vipd/vipd/internal/control"
)

// MaintenanceArgs are the arguments of the control command "maintenance".
type MaintenanceArgs struct {
	On bool `json:"on"`
	// Instance names one instance; empty means every instance.
	Instance string `json:"instance,omitempty"`
}

// faultMaintenance is the fault reason of an instance in maintenance.
const faultMaintenance = "maintenance"

// maintenance is the persisted set of instances in maintenance.
type maintenance struct {
	path string // "" when there is no state directory
	log  *slog.Logger

	mu        sync.Mutex // guards the fields below
	All       bool       `json:"all"`
	Instances []string   `json:"instances"`
}

func loadMaintenance(stateDir string, log *slog.Logger) *maintenance {
	m := &maintenance{log: log}
	if stateDir == "" {
		return m
	}
	m.path = filepath.Join(stateDir, "maintenance.json")
	b, err := os.ReadFile(m.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		log.Error("cannot read maintenance state; starting without maintenance", "path", m.path, "err", err)
	default:
		if err := json.Unmarshal(b, m); err != nil {
			log.Error("maintenance state is corrupt; starting without maintenance", "path", m.path, "err", err)
			m.All, m.Instances = false, nil
		} else if m.All || len(m.Instances) > 0 {
			log.Warn("maintenance mode persisted from an earlier run", "all", m.All, "instances", m.Instances)
		}
	}
	return m
}

func (m *maintenance) on(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.All || slices.Contains(m.Instances, name)
}

func (m *maintenance) faultsFor(name string) []string {
	if m.on(name) {
		return []string{faultMaintenance}
	}
	return nil
}

// set records the new state and writes it out atomically.
func (m *maintenance) set(name string, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case name == "":
		m.All = on
		if !on {
			m.Instances = nil
		}
	case on && !slices.Contains(m.Instances, name):
		m.Instances = append(m.Instances, name)
	case !on:
		m.Instances = slices.DeleteFunc(m.Instances, func(s string) bool { return s == name })
	}
	if m.path == "" {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(m.path), 0o755); err != nil {
		return fmt.Errorf("daemon: maintenance: %w", err)
	}
	tmp := m.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("daemon: maintenance: %w", err)
	}
	if err := os.Rename(tmp, m.path); err != nil {
		return fmt.Errorf("daemon: maintenance: %w", err)
	}
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
	// The instance that is not in maintenance while "all" is set would
	// stay in it: turning one off while all are on turns the others on
	// explicitly first.
	if !on && name != "" && d.maint.on(name) {
		d.maint.mu.Lock()
		if d.maint.All {
			d.maint.All = false
			for _, n := range names {
				if n != name && !slices.Contains(d.maint.Instances, n) {
					d.maint.Instances = append(d.maint.Instances, n)
				}
			}
		}
		d.maint.mu.Unlock()
	}
	if err := d.maint.set(name, on); err != nil {
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
	d.log.Info("maintenance "+msg, "instance", what)
	d.publish(control.Event{Type: control.EventMaintenance, Instance: name, Message: "maintenance " + msg})
	return nil
}
