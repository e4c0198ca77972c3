package statedir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// vmacName records what vipd created and changed for virtual MAC
// interfaces (package vmac), to be undone.
const vmacName = "vmac.json"

// VMACRecord is the content of vmac.json: the virtual MAC interfaces vipd
// may have created and the sysctls it changed for them, which a start
// after a crash removes and restores. Both vanish with a reboot: a record
// of another boot is void.
type VMACRecord struct {
	// Links are the interfaces, by name, with their MAC: only a macvlan
	// of that name with that MAC is removed.
	Links []VMACLink `json:"links,omitempty"`
	// Sysctls maps a sysctl path under /proc/sys to its value before vipd
	// changed it.
	Sysctls map[string]string `json:"sysctls,omitempty"`
}

// VMACLink is one virtual MAC interface.
type VMACLink struct {
	Name string `json:"name"`
	MAC  string `json:"mac"`
}

// Empty reports whether r records nothing.
func (r VMACRecord) Empty() bool { return len(r.Links) == 0 && len(r.Sysctls) == 0 }

type vmacFile struct {
	BootID string `json:"boot_id,omitempty"`
	VMACRecord
}

// LoadVMAC reads dir/vmac.json. A missing file, or one of an earlier boot,
// is an empty record; one that does not parse is a [*CorruptError].
func LoadVMAC(dir string) (VMACRecord, error) {
	path := filepath.Join(dir, vmacName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return VMACRecord{}, nil
	}
	if err != nil {
		return VMACRecord{}, fmt.Errorf("statedir: read %s: %w", path, cause(err))
	}
	var f vmacFile
	if err := decodeObject(b, &f); err != nil {
		return VMACRecord{}, &CorruptError{Path: path, Err: err}
	}
	if boot := bootID(); f.BootID != "" && boot != "" && f.BootID != boot {
		return VMACRecord{}, nil
	}
	for i, l := range f.Links {
		if l.Name == "" || l.MAC == "" {
			return VMACRecord{}, &CorruptError{Path: path, Err: fmt.Errorf("link %d: no name or MAC", i)}
		}
	}
	return f.VMACRecord, nil
}

// SaveVMAC replaces dir/vmac.json with r, atomically; an empty r removes
// the file. dir must exist ([Lock] creates it).
func SaveVMAC(dir string, r VMACRecord) error {
	path := filepath.Join(dir, vmacName)
	if r.Empty() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("statedir: remove %s: %w", path, err)
		}
		return nil
	}
	b, err := json.Marshal(vmacFile{BootID: bootID(), VMACRecord: r})
	if err != nil {
		return fmt.Errorf("statedir: save %s: %w", path, err)
	}
	if err := writeAtomic(path, b); err != nil {
		return fmt.Errorf("statedir: save %s: %w", path, err)
	}
	return nil
}
