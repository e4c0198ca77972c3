package statedir

import (
	"bytes"
	"os"
	"strconv"
)

// lockName is the lock file in the state directory.
const lockName = "vipd.lock"

// DirLock is the held lock of a state directory, returned by [Lock]. It is
// released by Close, or by the kernel when the process ends.
type DirLock struct {
	f    *os.File // open for the lifetime of the lock; nil once closed
	path string
}

// Path is the lock file.
func (l *DirLock) Path() string { return l.path }

// Close releases the lock. The file and the pid in it stay: only the flock
// counts. Close is not safe for concurrent use; a second call does nothing.
func (l *DirLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// readPID returns the pid on the first line of the lock file at path, 0
// when there is none.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// pidLine is what the holder writes into the lock file.
func pidLine(pid int) []byte {
	return []byte(strconv.Itoa(pid) + "\n")
}
