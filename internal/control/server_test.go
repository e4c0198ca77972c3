package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Requests the server must refuse itself, before any handler runs.
func TestServeBadRequests(t *testing.T) {
	var called atomic.Int32
	h := HandlerFunc(func(ctx context.Context, req Request, w ResponseWriter) {
		called.Add(1)
		_ = Reply(w, "unexpected")
	})
	path := startServer(t, &Server{Handler: h, MaxRequestBytes: 1024})

	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"malformed JSON", "{\"command\": status}\n", "control: malformed request"},
		{"not an object", "[1,2]\n", "control: malformed request"},
		{"trailing garbage", "{\"command\":\"status\"} x\n", "control: malformed request"},
		{"empty line", "\n", "control: empty request"},
		{"no command", "{\"args\":{}}\n", "control: request has no command"},
		{"null", "null\n", "control: request has no command"},
		{"oversize with newline", `{"command":"` + strings.Repeat("x", 2000) + "\"}\n", "control: request exceeds 1024 bytes"},
		{"oversize without newline", strings.Repeat("x", 100<<10), "control: request exceeds 1024 bytes"},
		{"binary", "\x00\xff\xfe\n", "control: malformed request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := rawExchange(t, path, []byte(tt.raw))
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("got %d response lines, want 1: %q", len(lines), out)
			}
			var resp Response
			if err := json.Unmarshal([]byte(lines[0]), &resp); err != nil {
				t.Fatalf("response %q: %v", lines[0], err)
			}
			if resp.OK || !strings.HasPrefix(resp.Error, tt.want) {
				t.Errorf("response = %+v, want an error starting %q", resp, tt.want)
			}
		})
	}
	if n := called.Load(); n != 0 {
		t.Errorf("handler ran %d times for bad requests", n)
	}
}

// The default limit: exactly DefaultMaxRequestBytes passes, one more fails.
func TestServeDefaultRequestLimit(t *testing.T) {
	h := HandlerFunc(func(ctx context.Context, req Request, w ResponseWriter) { _ = Reply(w, len(req.Args)) })
	path := startServer(t, &Server{Handler: h})

	mk := func(size int) []byte {
		prefix, suffix := `{"command":"x","args":"`, `"}`
		return []byte(prefix + strings.Repeat("a", size-len(prefix)-len(suffix)) + suffix + "\n")
	}
	for _, tt := range []struct {
		size int
		ok   bool
	}{{DefaultMaxRequestBytes, true}, {DefaultMaxRequestBytes + 1, false}} {
		out := rawExchange(t, path, mk(tt.size))
		var resp Response
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &resp); err != nil {
			t.Fatalf("size %d: response %q: %v", tt.size, out, err)
		}
		if resp.OK != tt.ok {
			t.Errorf("size %d: response %+v, want ok=%v", tt.size, resp, tt.ok)
		}
	}
}

func TestServeReadTimeout(t *testing.T) {
	path := startServer(t, &Server{Handler: echoStatus(Status{}), ReadTimeout: 50 * time.Millisecond})
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Send half a request and stall.
	if _, err := conn.Write([]byte(`{"command":`)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(waitTimeout))
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	if resp.OK || resp.Error != "control: timed out waiting for the request" {
		t.Errorf("response = %+v, want the read timeout error", resp)
	}
}

func TestServeUnknownCommand(t *testing.T) {
	m := echoStatus(Status{})
	m.HandleFunc("events", func(ctx context.Context, req Request, w ResponseWriter) { _ = Reply(w, nil) })
	path := startServer(t, &Server{Handler: m})

	resp, err := Call(context.Background(), path, Request{Command: "reboot"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `control: unknown command "reboot" (known: events, status)`; resp.OK || resp.Error != want {
		t.Errorf("response = %+v, want error %q", resp, want)
	}
	var re *RemoteError
	if err := resp.Decode(&struct{}{}); !errors.As(err, &re) {
		t.Errorf("Decode of a failed response = %v, want a *RemoteError", err)
	}
}

func TestServeHandlerFaults(t *testing.T) {
	m := NewMux()
	m.HandleFunc("panic", func(ctx context.Context, req Request, w ResponseWriter) { panic("boom") })
	m.HandleFunc("silent", func(ctx context.Context, req Request, w ResponseWriter) {})
	m.HandleFunc("unencodable", func(ctx context.Context, req Request, w ResponseWriter) {
		_ = Reply(w, func() {})
	})
	m.HandleFunc("ok", func(ctx context.Context, req Request, w ResponseWriter) { _ = Reply(w, "fine") })
	path := startServer(t, &Server{Handler: m})

	for _, tt := range []struct{ command, want string }{
		{"panic", `control: internal error while handling "panic"`},
		{"silent", `control: command "silent" sent no response`},
		{"unencodable", "control: encode response: json: unsupported type: func()"},
	} {
		resp, err := Call(context.Background(), path, Request{Command: tt.command})
		if err != nil {
			t.Fatalf("%s: %v", tt.command, err)
		}
		if resp.OK || resp.Error != tt.want {
			t.Errorf("%s: response = %+v, want error %q", tt.command, resp, tt.want)
		}
	}
	// The server survives all of that.
	resp, err := Call(context.Background(), path, Request{Command: "ok"})
	if err != nil || !resp.OK {
		t.Fatalf("after handler faults: %+v, %v", resp, err)
	}
}

// Cancelling Serve's context closes the listener and the open streams,
// waits for the handlers, and leaves no goroutine behind.
func TestServeCancelStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	path := sockPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 2)
	m := NewMux()
	m.HandleFunc("idle", func(ctx context.Context, req Request, w ResponseWriter) {
		_ = Reply(w, "subscribed")
		started <- struct{}{}
		<-ctx.Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, m, nil) }()

	streams := make(chan error, 2)
	for range 2 {
		go func() {
			streams <- Stream(context.Background(), path, Request{Command: "idle"}, func(Response) error { return nil })
		}()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(waitTimeout):
			t.Fatal("streams did not start")
		}
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil after cancel", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Serve did not return after cancel")
	}
	for range 2 {
		select {
		case err := <-streams:
			// The daemon closed the stream: a clean end for the client.
			if err != nil {
				t.Errorf("Stream = %v, want nil when the daemon ends it", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("client stream still open after Serve stopped")
		}
	}
	if _, err := Call(context.Background(), path, Request{Command: "idle"}); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Call after stop = %v, want ErrUnreachable", err)
	}
	checkGoroutines(t, before)
}

func TestServeNilHandler(t *testing.T) {
	ln, err := Listen(sockPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := Serve(context.Background(), ln, nil, nil); err == nil {
		t.Error("Serve with a nil handler succeeded")
	}
}

// flakyListener fails its first Accept calls with a temporary error.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: fmt.Errorf("accept4: %w", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestServeRetriesTemporaryAcceptErrors(t *testing.T) {
	path := sockPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln}
	fl.failures.Store(3)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, fl, echoStatus(Status{Node: "a"}), nil) }()
	defer func() { cancel(); <-served }()

	resp, err := Call(context.Background(), path, Request{Command: CommandStatus})
	if err != nil || !resp.OK {
		t.Fatalf("Call after EMFILE accepts = %+v, %v", resp, err)
	}
	if n := fl.failures.Load(); n >= 0 {
		t.Errorf("%d failures left: the test did not exercise the retry", n+1)
	}
}

// A permanent accept error (the listener closed under Serve) ends Serve.
func TestServeAcceptError(t *testing.T) {
	ln, err := Listen(sockPath(t))
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = Serve(context.Background(), ln, echoStatus(Status{}), nil)
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed listener = %v, want net.ErrClosed", err)
	}
}
