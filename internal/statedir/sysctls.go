package statedir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// sysctlsName records the sysctls vipd changed and must restore.
const sysctlsName = "sysctls.json"

// sysctlsFile is the content of sysctls.json.
type sysctlsFile struct {
	// BootID is the boot the values were changed in: sysctls do not
	// survive a reboot, so a record of another boot is void.
	BootID string `json:"boot_id,omitempty"`
	// Old maps a sysctl path under /proc/sys to its value before vipd
	// changed it.
	Old map[string]string `json:"old"`
}

// LoadSysctls reads dir/sysctls.json: the original values of the sysctls
// a vipd changed and did not restore (it was killed). A missing file, or
// one of an earlier boot, is none; one that does not parse is a
// [*CorruptError].
func LoadSysctls(dir string) (map[string]string, error) {
	path := filepath.Join(dir, sysctlsName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statedir: read %s: %w", path, cause(err))
	}
	var f sysctlsFile
	if err := decodeObject(b, &f); err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
	if boot := bootID(); f.BootID != "" && boot != "" && f.BootID != boot {
		return nil, nil
	}
	return f.Old, nil
}

// SaveSysctls replaces dir/sysctls.json with old, atomically; with old
// empty it removes the file. dir must exist ([Lock] creates it).
func SaveSysctls(dir string, old map[string]string) error {
	path := filepath.Join(dir, sysctlsName)
	if len(old) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("statedir: remove %s: %w", path, err)
		}
		return nil
	}
	b, err := json.Marshal(sysctlsFile{BootID: bootID(), Old: old})
	if err != nil {
		return fmt.Errorf("statedir: save sysctls: %w", err)
	}
	if err := writeAtomic(path, b); err != nil {
		return fmt.Errorf("statedir: save sysctls: %w", err)
	}
	return nil
}
