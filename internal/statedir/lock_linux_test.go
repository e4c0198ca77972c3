package statedir_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/statedir"
)

func lockDir(t *testing.T, dir string) *statedir.DirLock {
	t.Helper()
	l, err := statedir.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// lockFilePID is the pid in dir's lock file.
func lockFilePID(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "vipd.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLockCreatesDirAndWritesPID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "vipd")
	l := lockDir(t, dir)
	if want := filepath.Join(dir, "vipd.lock"); l.Path() != want {
		t.Errorf("Path() = %s, want %s", l.Path(), want)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o755&^umask() {
		t.Errorf("%s: mode %v, want a directory with 0755 (umask %03o)", dir, fi.Mode(), umask())
	}
	if got, want := lockFilePID(t, dir), fmt.Sprintf("%d\n", os.Getpid()); got != want {
		t.Errorf("lock file holds %q, want %q", got, want)
	}
}

func umask() os.FileMode {
	m := unix.Umask(0)
	unix.Umask(m)
	return os.FileMode(m)
}

// A second Lock in the same process opens another file description, which
// flock treats like another process.
func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	l := lockDir(t, dir)
	_, err := statedir.Lock(dir)
	var le *statedir.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock() error = %v, want a *LockedError", err)
	}
	if le.PID != os.Getpid() || le.Path != filepath.Join(dir, "vipd.lock") {
		t.Errorf("LockedError = %+v, want pid %d and %s", le, os.Getpid(), filepath.Join(dir, "vipd.lock"))
	}
	want := fmt.Sprintf("another vipd (pid %d) is running: it holds %s", os.Getpid(), le.Path)
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	// The failed attempt did not touch the holder's pid.
	if got := lockFilePID(t, dir); got != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Errorf("lock file holds %q after the failed attempt", got)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	lockDir(t, dir)
}

// A holder whose pid cannot be read still blocks, and the message says so.
func TestLockHeldWithoutPID(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vipd.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{"", "not a pid\n", "-1\n"} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = statedir.Lock(dir)
		var le *statedir.LockedError
		if !errors.As(err, &le) || le.PID != 0 {
			t.Fatalf("file %q: Lock() error = %#v, want a *LockedError without a pid", content, err)
		}
		if want := "another vipd is running (its pid could not be read from the file): it holds " + path; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
	}
}

// A lock file left behind by a process that ended does not block, whatever
// it says; the new holder's pid replaces it entirely.
func TestLockStaleFile(t *testing.T) {
	for _, content := range []string{deadPID(t) + "\n", "4194304999999\nmore lines\n", "garbage", ""} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "vipd.lock"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		lockDir(t, dir)
		if got, want := lockFilePID(t, dir), fmt.Sprintf("%d\n", os.Getpid()); got != want {
			t.Errorf("stale %q: lock file holds %q, want %q", content, got, want)
		}
	}
}

// deadPID returns the pid of a process that has ended.
func deadPID(t *testing.T) string {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(p.Pid)
}

func TestLockBadDirectory(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lockAsDir := filepath.Join(base, "d")
	if err := os.MkdirAll(filepath.Join(lockAsDir, "vipd.lock"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir   string
		want  string
		errno syscall.Errno
	}{
		{file, "statedir: create state directory " + file + ": not a directory", syscall.ENOTDIR},
		{filepath.Join(file, "vipd"), "statedir: create state directory " + filepath.Join(file, "vipd") + ": not a directory", syscall.ENOTDIR},
		{lockAsDir, "statedir: open lock file " + filepath.Join(lockAsDir, "vipd.lock") + ": is a directory", syscall.EISDIR},
	} {
		_, err := statedir.Lock(tc.dir)
		if err == nil || err.Error() != tc.want || !errors.Is(err, tc.errno) {
			t.Errorf("Lock(%s) error = %v, want %q wrapping %v", tc.dir, err, tc.want, tc.errno)
		}
	}
	if _, err := statedir.Lock(""); err == nil || !strings.Contains(err.Error(), "no state directory") {
		t.Errorf(`Lock("") error = %v`, err)
	}
}
