package control

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestListenSocketMode(t *testing.T) {
	tests := []struct {
		name string
		path func(t *testing.T) string
	}{
		{"temporary name then link", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "sub", "dir", "vipd.sock")
		}},
		{"bind in place when the temporary name is too long", func(t *testing.T) string {
			// Make a directory whose paths fit a socket name, but not with
			// the 13-byte temporary name.
			dir := t.TempDir()
			pad := maxSocketPath - 2 - len(dir) - 1 // dir + "/" + pad + "/s" == maxSocketPath
			if pad < 1 {
				t.Skipf("temporary directory too deep: %s", dir)
			}
			dir = filepath.Join(dir, strings.Repeat("d", pad))
			p := filepath.Join(dir, "s")
			if len(p) != maxSocketPath || len(filepath.Join(dir, ".ctl00000000")) <= maxSocketPath {
				t.Fatalf("bad test path %s (%d bytes)", p, len(p))
			}
			return p
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			ln, err := Listen(path)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
				t.Errorf("socket mode = %v, want a socket with 0600", fi.Mode())
			}
			dfi, err := os.Stat(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if perm := dfi.Mode().Perm(); perm&^0o755 != 0 {
				t.Errorf("created directory mode = %v, want at most 0755", perm)
			}
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the socket: %v", len(entries), entries)
			}
			if got := ln.Addr().String(); got != path {
				t.Errorf("Addr() = %q, want %q", got, path)
			}
			conn, err := net.Dial("unix", path)
			if err != nil {
				t.Fatalf("dial the new socket: %v", err)
			}
			conn.Close()
			if err := ln.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("socket file still there after Close: %v", err)
			}
		})
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	path := sockPath(t)
	// A socket file nobody listens on, as a crashed daemon leaves it.
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	ul.Close()
	if _, err := net.Dial("unix", path); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("stale socket dial error = %v, want connection refused", err)
	}

	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, echoStatus(Status{Node: "a"}), nil) }()
	defer func() { cancel(); <-done }()

	resp, err := Call(context.Background(), path, Request{Command: CommandStatus})
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := resp.Decode(&st); err != nil || st.Node != "a" {
		t.Fatalf("status over the replaced socket = %+v, %v", st, err)
	}
}

func TestListenRefusesLiveSocket(t *testing.T) {
	path := sockPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	ln2, err := Listen(path)
	if err == nil {
		ln2.Close()
		t.Fatal("second Listen on a live socket succeeded")
	}
	if !errors.Is(err, ErrSocketInUse) {
		t.Errorf("error %v does not match ErrSocketInUse", err)
	}
	if want := "control: socket " + path + " is in use by a running vipd"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	// The first daemon's socket must be untouched.
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("first socket unreachable after the refused Listen: %v", err)
	}
	conn.Close()
}

func TestListenRefusesNonSocket(t *testing.T) {
	path := sockPath(t)
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(path)
	if err == nil {
		ln.Close()
		t.Fatal("Listen replaced a regular file")
	}
	if !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("error = %v, want one saying it is not a socket", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
		t.Errorf("regular file changed: %q, %v", b, err)
	}
}

func TestListenPathTooLong(t *testing.T) {
	path := "/" + strings.Repeat("x", maxSocketPath)
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("Listen(%d-byte path) error = %v, want too long", len(path), err)
	}
	if _, err := Call(context.Background(), path, Request{Command: "status"}); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("Call(%d-byte path) error = %v, want too long", len(path), err)
	}
}

// Closing the listener must not remove a socket that replaced ours.
func TestListenerCloseKeepsForeignFile(t *testing.T) {
	path := sockPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("other"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("Close removed a file that is not its socket: %v", err)
	}
}
