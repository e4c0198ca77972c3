package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// listen opens a unixgram socket standing in for the service manager at
// name (a path, or '@' and an abstract name) and returns a function that
// reads the next datagram, failing the test after a deadline.
func listen(t *testing.T, name string) func() string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() string {
		t.Helper()
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("manager socket: %v", err)
		}
		return string(buf[:n])
	}
}

// managerSocket sets $NOTIFY_SOCKET to a fresh socket in t.TempDir().
func managerSocket(t *testing.T) func() string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	recv := listen(t, path)
	t.Setenv("NOTIFY_SOCKET", path)
	return recv
}
