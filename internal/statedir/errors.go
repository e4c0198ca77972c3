package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// LockedError is returned by [Lock] when another process holds the lock of
// the state directory: another vipd is running on this host.
type LockedError struct {
	// Path is the lock file.
	Path string
	// PID is the pid the lock file names, 0 when it names none (the holder
	// has not written it yet, or the file cannot be read).
	PID int
}

// Error is one line for an operator, e.g.
// "another vipd (pid 1234) is running: it holds /var/lib/vipd/vipd.lock".
func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("another vipd (pid %d) is running: it holds %s", e.PID, e.Path)
	}
	return fmt.Sprintf("another vipd is running (its pid could not be read from the file): it holds %s", e.Path)
}

// CorruptError reports a state file that exists and was read but cannot be
// used: not valid JSON, not the expected shape, or (the ledger) a format
// version this vipd does not read.
type CorruptError struct {
	// Path is the file.
	Path string
	// Err says what is wrong with it.
	Err error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("statedir: %s is not usable: %v", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// ErrUnsupportedVersion is wrapped by the [*CorruptError] of a ledger
// written in a format version this vipd does not read.
var ErrUnsupportedVersion = errors.New("unsupported format version (written by a newer vipd?)")

// cause strips the *fs.PathError or *os.LinkError of err, whose message
// repeats the path the caller already names; the errno stays wrapped, so
// errors.Is(err, fs.ErrPermission) still holds.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
