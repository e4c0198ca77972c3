package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Lock makes sure that one vipd runs per host: it creates dir (mode 0755,
// with its parents) if it is missing, opens dir/vipd.lock and takes an
// exclusive flock(2) on it without waiting, then writes the own pid into
// the file. It touches nothing but dir and that file, so the daemon calls it
// before anything else.
//
// When another process holds the lock, the error is a [*LockedError] naming
// its pid. Any other failure — dir cannot be created, the file cannot be
// opened or written (permissions, a read-only file system, a path through a
// regular file) — is an error naming the path and the cause, which wraps the
// operating system's error: the daemon must not start without the lock.
//
// A lock file left by a process that ended does not block: the kernel
// released its flock.
func Lock(dir string) (*DirLock, error) {
	if dir == "" {
		return nil, errors.New("statedir: lock: no state directory configured")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("statedir: create state directory %s: %w", dir, cause(err))
	}
	path := filepath.Join(dir, lockName)
	// os.OpenFile opens close-on-exec: children (health checks, notify
	// hooks) must not inherit the lock and hold it after vipd died.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("statedir: open lock file %s: %w", path, cause(err))
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &LockedError{Path: path, PID: readPID(path)}
		}
		return nil, fmt.Errorf("statedir: lock %s: %w", path, err)
	}
	// The pid goes over the start of the file, then the rest is cut off:
	// a process that fails to take the lock meanwhile reads the old pid or
	// the new one on the first line, never an empty file (except a brand-new
	// one).
	b := pidLine(os.Getpid())
	if _, err := f.WriteAt(b, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("statedir: write pid to lock file %s: %w", path, cause(err))
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		f.Close()
		return nil, fmt.Errorf("statedir: write pid to lock file %s: %w", path, cause(err))
	}
	return &DirLock{f: f, path: path}, nil
}

// flock takes an exclusive lock on f without waiting; unix.EWOULDBLOCK
// means another open file description holds it.
func flock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
			if ferr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return ferr
}
