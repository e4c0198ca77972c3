package control

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 5 * time.Second

// sockPath returns a short socket path in a fresh temporary directory.
func sockPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s")
	if len(p) > maxSocketPath {
		t.Skipf("temporary directory too deep for a socket path: %s", p)
	}
	return p
}

// startServer serves h on a fresh socket until the test ends, then checks
// that Serve returned nil and that no goroutine outlived it.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	before := runtime.NumGoroutine()
	path := sockPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("Serve did not return after cancel")
		}
		checkGoroutines(t, before)
	})
	return path
}

// checkGoroutines polls until no more than before goroutines run, and fails
// with a dump of all stacks when the deadline passes first.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines leaked: %d running, %d before\n%s", runtime.NumGoroutine(), before, buf)
		}
		time.Sleep(time.Millisecond) // polling a count: there is no event to wait on
	}
}

// rawExchange dials path, writes raw, and returns everything the server
// sends until it closes the connection.
func rawExchange(t *testing.T, path string, raw []byte) string {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	werr := make(chan error, 1)
	// Write concurrently: the server may answer and close before reading
	// all of an oversize request.
	go func() {
		_, err := conn.Write(raw)
		werr <- err
	}()
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	<-werr
	return out.String()
}

// echoStatus is a Mux answering "status" with st.
func echoStatus(st Status) *Mux {
	m := NewMux()
	m.HandleFunc(CommandStatus, func(ctx context.Context, req Request, w ResponseWriter) {
		_ = Reply(w, st)
	})
	return m
}
