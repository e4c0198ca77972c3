package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestProbeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := ProbeTCP(testCtx(t, 5*time.Second), config.Check{Target: ln.Addr().String()}); err != nil {
		t.Errorf("open port: %v", err)
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	if err := ProbeTCP(testCtx(t, 5*time.Second), config.Check{Target: addr}); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("closed port: %v, want connection refused", err)
	}
}

func TestProbeHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != "vipd-health-check" || r.Method != http.MethodGet {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Write([]byte(strings.Repeat("x", 1<<20))) // more than is read
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	plain := httptest.NewServer(mux)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(mux) // a self-signed certificate
	defer tlsSrv.Close()

	tests := []struct {
		name   string
		url    string
		expect int
		ok     bool
		errIs  error
	}{
		{"200, default expect", plain.URL + "/ok", 0, true, nil},
		{"200", plain.URL + "/ok", 200, true, nil},
		{"503 fails", plain.URL + "/down", 200, false, ErrStatus},
		{"503 expected", plain.URL + "/down", 503, true, nil},
		{"redirect not followed", plain.URL + "/moved", 200, false, ErrStatus},
		{"redirect expected", plain.URL + "/moved", 302, true, nil},
		{"https, self-signed", tlsSrv.URL + "/ok", 200, true, nil},
		{"timeout", plain.URL + "/slow", 200, false, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := 5 * time.Second
			if tt.errIs == context.DeadlineExceeded {
				timeout = 50 * time.Millisecond
			}
			err := ProbeHTTP(testCtx(t, timeout), config.Check{Target: tt.url, ExpectStatus: tt.expect})
			if (err == nil) != tt.ok {
				t.Fatalf("ProbeHTTP = %v, want ok %v", err, tt.ok)
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("error %v is not %v", err, tt.errIs)
			}
		})
	}
	err := ProbeHTTP(testCtx(t, 5*time.Second), config.Check{Target: plain.URL + "/down", ExpectStatus: 200})
	if err == nil || err.Error() != "health: unexpected HTTP status: got 503, want 200" {
		t.Errorf("error text %v", err)
	}
}

func TestCapture(t *testing.T) {
	var c capture
	c.Write([]byte("line one\n  line two \n"))
	if got := c.text(); got != "line one / line two" {
		t.Errorf("text %q", got)
	}
	var big capture
	for range 100 {
		if n, err := big.Write([]byte("0123456789")); n != 10 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if len(big.buf) != maxOutput {
		t.Errorf("kept %d bytes, want %d", len(big.buf), maxOutput)
	}
	bad := capture{buf: []byte("a\xffb")}
	if got := bad.text(); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

func TestLinkUp(t *testing.T) {
	tests := []struct {
		flags net.Flags
		oper  string
		want  string // "" passes
	}{
		{net.FlagUp | net.FlagRunning, "up", ""},
		{net.FlagUp, "up", ""},
		{net.FlagUp | net.FlagRunning | net.FlagLoopback, "unknown", ""},
		{net.FlagUp, "unknown", "health: link not up: x is up but not running (no carrier)"},
		{net.FlagUp, "down", "health: link not up: x is down"},
		{net.FlagUp, "lower-layer-down", "health: link not up: x is lower-layer-down"},
		{net.FlagUp, "dormant", "health: link not up: x is dormant"},
		{net.FlagRunning, "up", "health: link not up: x is administratively down"},
		{0, "down", "health: link not up: x is administratively down"},
	}
	for _, tt := range tests {
		err := linkUp("x", tt.flags, tt.oper)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("linkUp(%v, %s) = %v, want nil", tt.flags, tt.oper, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, ErrLinkDown)):
			t.Errorf("linkUp(%v, %s) = %v, want %q", tt.flags, tt.oper, err, tt.want)
		}
	}
}
