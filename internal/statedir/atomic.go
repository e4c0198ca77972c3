package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// writeMu serializes the atomic writes of this process: each file has one
// fixed temporary name. Other processes are kept away by the Lock.
var writeMu sync.Mutex

// writeAtomic replaces the file at path with b (mode 0644): it writes
// path+".tmp" in the same directory, fsyncs it, renames it over path and
// fsyncs the directory, so that after a crash the file holds the old or the
// new content. On failure it removes the temporary file. The temporary file
// has a fixed name, so one left by a crash is overwritten by the next write
// rather than piling up. Errors read "write PATH: cause".
func writeAtomic(path string, b []byte) error { return replace(path, b, true) }

// writeReplace replaces the file at path with b like writeAtomic, without
// the fsyncs: the rename is atomic for every process on this host (a crash of
// vipd leaves the old or the new content), not across a power loss. It is
// for files that describe what does not survive one (the ledger of kernel
// addresses), written on a takeover's critical path, where an fsync costs
// milliseconds, more on a busy disk.
func writeReplace(path string, b []byte) error { return replace(path, b, false) }

func replace(path string, b []byte, durable bool) error {
	writeMu.Lock()
	defer writeMu.Unlock()
	tmp := path + ".tmp"
	if err := writeFile(tmp, b, durable); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, cause(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, cause(err))
	}
	if !durable {
		return nil
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, cause(err))
	}
	return nil
}

// writeFile writes b to a new (or truncated) file at path, and fsyncs it
// when sync is set.
func writeFile(path string, b []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
