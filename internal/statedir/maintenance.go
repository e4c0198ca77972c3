package statedir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// maintenanceName is the maintenance state in the state directory.
const maintenanceName = "maintenance.json"

// Maintenance is the persisted maintenance mode: the content of
// maintenance.json, in the format vipd has always written.
type Maintenance struct {
	// All puts every instance in maintenance.
	All bool `json:"all"`
	// Instances are the instances in maintenance one by one.
	Instances []string `json:"instances"`
}

// On reports whether the instance name is in maintenance.
func (m Maintenance) On(name string) bool {
	return m.All || slices.Contains(m.Instances, name)
}

// LoadMaintenance reads dir/maintenance.json. It fails closed: a missing
// file (or directory) is no maintenance, but a file that cannot be read is
// an error wrapping the operating system's error, and one that does not
// parse is a [*CorruptError] naming the file — the daemon must then refuse
// to start rather than let a node in maintenance rejoin the election.
func LoadMaintenance(dir string) (Maintenance, error) {
	path := filepath.Join(dir, maintenanceName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Maintenance{}, nil
	}
	if err != nil {
		return Maintenance{}, fmt.Errorf("statedir: read %s: %w", path, cause(err))
	}
	var m Maintenance
	if err := decodeObject(b, &m); err != nil {
		return Maintenance{}, &CorruptError{Path: path, Err: err}
	}
	return m, nil
}

// SaveMaintenance replaces dir/maintenance.json with m, atomically (see the
// package documentation). dir must exist ([Lock] creates it).
func SaveMaintenance(dir string, m Maintenance) error {
	path := filepath.Join(dir, maintenanceName)
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("statedir: save maintenance: %w", err)
	}
	if err := writeAtomic(path, b); err != nil {
		return fmt.Errorf("statedir: save maintenance: %w", err)
	}
	return nil
}
