package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func sampleStatus() Status {
	t0 := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	return Status{
		Node:       "a",
		PID:        1234,
		Version:    "v0.1.0",
		StartedAt:  t0,
		Goroutines: 17,
		OpenFDs:    23,
		Instances: []InstanceStatus{
			{
				Name: "web", Interface: "eth0", VRID: 42, Family: "ipv4", State: "MASTER",
				Priority: 150, EffectivePriority: 150,
				AdvertInterval: Duration(100 * time.Millisecond), MasterAdvertInterval: Duration(100 * time.Millisecond),
				Preempt: true,
				Master:  &PeerStatus{Address: "192.0.2.11", MAC: "02:00:00:00:00:11", Priority: 150, Self: true},
				VIPs: []VIPStatus{
					{Address: "192.0.2.100/32", Held: true},
					{Address: "192.0.2.101/32", Held: true},
				},
				Counters: Counters{
					AdvertsSent: 1890, AdvertsReceived: 3,
					Drops:          map[string]uint64{"bad_ttl": 0},
					Transitions:    2,
					LastTransition: t0.Add(3 * time.Minute), LastTransitionFrom: "BACKUP", LastTransitionTo: "MASTER",
					LastTransitionReason: "master_down_timer",
				},
			},
			{
				Name: "api", Interface: "eth0", VRID: 43, Family: "ipv4", State: "BACKUP",
				Priority: 100, EffectivePriority: 90,
				AdvertInterval: Duration(100 * time.Millisecond), MasterAdvertInterval: Duration(time.Second),
				Preempt: false,
				Master:  &PeerStatus{Address: "192.0.2.12", MAC: "02:00:00:00:00:12", Priority: 150},
				VIPs: []VIPStatus{
					{Address: "192.0.2.110/32"},
					{Address: "192.0.2.111/32"},
				},
				Counters: Counters{
					AdvertsReceived: 1912,
					Drops:           map[string]uint64{"wrong_vrid": 1, "bad_ttl": 3, "auth": 0},
					Transitions:     1,
					LastTransition:  t0.Add(2 * time.Second), LastTransitionFrom: "INIT", LastTransitionTo: "BACKUP",
					LastTransitionReason: "startup",
					AddressMismatch:      2,
				},
			},
			{
				Name: "db6", Interface: "eth1", VRID: 7, Family: "ipv6", State: "FAULT",
				Priority: 200, EffectivePriority: 200,
				AdvertInterval: Duration(time.Second),
				Preempt:        true,
				VIPs:           []VIPStatus{{Address: "2001:db8::7/128"}},
				Counters:       Counters{Drops: map[string]uint64{}},
			},
		},
	}
}

func TestStatusRoundTrip(t *testing.T) {
	want := sampleStatus()
	path := startServer(t, &Server{Handler: echoStatus(want)})

	resp, err := Call(context.Background(), path, Request{Command: CommandStatus})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.OK {
		t.Fatalf("status failed: %s", resp.Error)
	}
	var got Status
	if err := resp.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestRequestArgsRoundTrip(t *testing.T) {
	type args struct {
		Verbose bool `json:"verbose"`
	}
	m := NewMux()
	m.HandleFunc("echo", func(ctx context.Context, req Request, w ResponseWriter) {
		a := args{}
		if err := req.DecodeArgs(&a); err != nil {
			_ = w.Write(ErrorResponse(err))
			return
		}
		_ = Reply(w, a)
	})
	path := startServer(t, &Server{Handler: m})

	for _, in := range []args{{Verbose: true}, {Verbose: false}} {
		req, err := NewRequest("echo", in)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := Call(context.Background(), path, req)
		if err != nil {
			t.Fatal(err)
		}
		var out args
		if err := resp.Decode(&out); err != nil {
			t.Fatal(err)
		}
		if out != in {
			t.Errorf("echo(%+v) = %+v", in, out)
		}
	}
	resp, err := Call(context.Background(), path, Request{Command: "echo", Args: json.RawMessage(`{"verbose":"yes"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Err(); err == nil || !strings.Contains(err.Error(), "control: decode echo args") {
		t.Errorf("bad args error = %v", err)
	}
}

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

func TestStreamThreeResponses(t *testing.T) {
	m := NewMux()
	m.HandleFunc("count", func(ctx context.Context, req Request, w ResponseWriter) {
		for i := 1; i <= 3; i++ {
			if err := Reply(w, i); err != nil {
				return
			}
		}
	})
	path := startServer(t, &Server{Handler: m})

	var got []int
	err := Stream(context.Background(), path, Request{Command: "count"}, func(r Response) error {
		var n int
		if err := r.Decode(&n); err != nil {
			return err
		}
		got = append(got, n)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("streamed %v, want [1 2 3]", got)
	}

	// A callback error ends the stream and comes back from Stream.
	errEnough := errors.New("enough")
	calls := 0
	err = Stream(context.Background(), path, Request{Command: "count"}, func(r Response) error {
		calls++
		return errEnough
	})
	if !errors.Is(err, errEnough) || calls != 1 {
		t.Errorf("Stream with a failing callback = %v after %d calls, want errEnough after 1", err, calls)
	}
}

// A client that goes away mid-stream must release the handler: the one
// that keeps writing sees a write error, the idle one a cancelled context.
func TestServeClientDisconnectMidStream(t *testing.T) {
	writerDone := make(chan error, 1)
	idleDone := make(chan error, 1)
	m := NewMux()
	m.HandleFunc("firehose", func(ctx context.Context, req Request, w ResponseWriter) {
		for i := 0; ; i++ {
			if err := Reply(w, i); err != nil {
				writerDone <- err
				return
			}
		}
	})
	m.HandleFunc("idle", func(ctx context.Context, req Request, w ResponseWriter) {
		_ = Reply(w, "hello")
		<-ctx.Done()
		idleDone <- ctx.Err()
	})
	path := startServer(t, &Server{Handler: m})

	for _, tt := range []struct {
		command string
		done    chan error
	}{{"firehose", writerDone}, {"idle", idleDone}} {
		t.Run(tt.command, func(t *testing.T) {
			n := 0
			err := Stream(context.Background(), path, Request{Command: tt.command}, func(r Response) error {
				n++
				if n == 2 || tt.command == "idle" {
					return ErrStop // Stream closes the connection
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-tt.done:
				if err == nil {
					t.Error("handler ended without an error")
				}
			case <-time.After(waitTimeout):
				t.Fatal("handler still running after the client hung up")
			}
		})
	}
}

// A client may end its request by half-closing instead of a newline, as
// `printf '{"command":"status"}' | socat - UNIX:/run/vipd/vipd.sock` does.
func TestServeRequestEndedByEOF(t *testing.T) {
	path := startServer(t, &Server{Handler: echoStatus(Status{Node: "a"})})
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := conn.Write([]byte(`{"command":"status"}`)); err != nil {
		t.Fatal(err)
	}
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := resp.Decode(&st); err != nil || st.Node != "a" {
		t.Errorf("status = %+v, %v", st, err)
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

func TestResponseWriterConcurrent(t *testing.T) {
	const writers, each = 8, 50
	m := NewMux()
	m.HandleFunc("fan", func(ctx context.Context, req Request, w ResponseWriter) {
		done := make(chan struct{})
		for i := range writers {
			go func() {
				defer func() { done <- struct{}{} }()
				for j := range each {
					_ = Reply(w, i*1000+j)
				}
			}()
		}
		for range writers {
			<-done
		}
	})
	path := startServer(t, &Server{Handler: m})
	seen := map[int]bool{}
	err := Stream(context.Background(), path, Request{Command: "fan"}, func(r Response) error {
		var n int
		if err := r.Decode(&n); err != nil {
			return err
		}
		seen[n] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != writers*each {
		t.Errorf("got %d distinct responses, want %d", len(seen), writers*each)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"command":"status"}`, `{"command":"x","args":{"a":1}}`, `null`, ``, `{`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := parseRequest(line)
		if err != nil {
			return
		}
		if req.Command == "" {
			t.Fatalf("parseRequest(%q) accepted a request without a command", line)
		}
		// What was accepted survives an encode/parse round trip.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal %+v: %v", req, err)
		}
		again, err := parseRequest(b)
		if err != nil || again.Command != req.Command {
			t.Fatalf("round trip of %q: %+v, %v", line, again, err)
		}
	})
}
