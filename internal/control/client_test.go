package control

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCallUnreachable(t *testing.T) {
	missing := sockPath(t)

	refused := sockPath(t)
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: refused, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	ul.Close()

	tests := []struct {
		name  string
		path  string
		cause error
		text  string
	}{
		{"socket missing", missing, fs.ErrNotExist, "connect: no such file or directory"},
		{"nothing listening", refused, syscall.ECONNREFUSED, "connect: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Call(context.Background(), tt.path, Request{Command: CommandStatus})
			if !errors.Is(err, ErrUnreachable) || !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not match ErrUnreachable and %v", err, tt.cause)
			}
			want := "control: cannot reach vipd at " + tt.path + ": is the daemon running? (" + tt.text + ")"
			if err == nil || err.Error() != want {
				t.Errorf("error = %q\n want %q", err, want)
			}
		})
	}
}

func TestCallContext(t *testing.T) {
	hold := make(chan struct{})
	m := NewMux()
	m.HandleFunc("hang", func(ctx context.Context, req Request, w ResponseWriter) {
		select {
		case <-ctx.Done():
		case <-hold:
		}
	})
	path := startServer(t, &Server{Handler: m})
	defer close(hold)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Call(ctx, path, Request{Command: "hang"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Call past its deadline = %v, want context.DeadlineExceeded", err)
	}

	done, cancelled := context.WithCancel(context.Background())
	cancelled()
	if _, err := Call(done, path, Request{Command: "hang"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Call with a cancelled context = %v, want context.Canceled", err)
	}
}

// fakeDaemon accepts one connection, reads the request line and answers
// with raw bytes.
func fakeDaemon(t *testing.T, answer string) string {
	t.Helper()
	path := sockPath(t)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(waitTimeout))
		buf := make([]byte, 4096)
		for n := 0; !strings.Contains(string(buf[:n]), "\n"); {
			m, err := conn.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
		}
		conn.Write([]byte(answer))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return path
}

func TestCallBadDaemon(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   string
	}{
		{"no response", "", `control: vipd closed the connection without answering "status"`},
		{"malformed response", "{ok\n", "control: malformed response"},
		{"blank lines skipped", "\n\n{\"ok\":true}\n", ""},
		{"last line without newline", `{"ok":true}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fakeDaemon(t, tt.answer)
			resp, err := Call(context.Background(), path, Request{Command: CommandStatus})
			if tt.want == "" {
				if err != nil || !resp.OK {
					t.Errorf("Call = %+v, %v; want ok", resp, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Call error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResponseHelpers(t *testing.T) {
	if err := (Response{OK: true}).Err(); err != nil {
		t.Errorf("Err of OK = %v", err)
	}
	if err := (Response{}).Err(); err == nil || err.Error() != "control: request failed without a reason" {
		t.Errorf("Err of empty failure = %v", err)
	}
	if err := (Response{OK: true}).Decode(new(int)); err == nil {
		t.Error("Decode without data succeeded")
	}
	if r := ErrorResponse(errors.New("x: broken")); r.OK || r.Error != "x: broken" {
		t.Errorf("ErrorResponse = %+v", r)
	}
	if r := ErrorResponse(nil); r.OK || r.Error == "" {
		t.Errorf("ErrorResponse(nil) = %+v", r)
	}
	req, err := NewRequest("status", nil)
	if err != nil || req.Args != nil {
		t.Errorf("NewRequest without args = %+v, %v", req, err)
	}
	v := 7
	if err := req.DecodeArgs(&v); err != nil || v != 7 {
		t.Errorf("DecodeArgs without args changed the default: %d, %v", v, err)
	}
	if _, err := NewRequest("x", make(chan int)); err == nil {
		t.Error("NewRequest with unencodable args succeeded")
	}
}

func TestMuxHandlePanics(t *testing.T) {
	var m Mux // the zero value is usable
	m.HandleFunc("a", func(context.Context, Request, ResponseWriter) {})
	for name, f := range map[string]func(){
		"duplicate":     func() { m.HandleFunc("a", func(context.Context, Request, ResponseWriter) {}) },
		"empty command": func() { m.HandleFunc("", func(context.Context, Request, ResponseWriter) {}) },
		"nil handler":   func() { m.Handle("b", nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Handle did not panic", name)
				}
			}()
			f()
		}()
	}
}
