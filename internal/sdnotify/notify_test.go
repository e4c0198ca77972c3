package sdnotify

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestNotifyMessages(t *testing.T) {
	recv := managerSocket(t)
	tests := []struct {
		name string
		call func() (bool, error)
		want string
	}{
		{"Ready", Ready, "READY=1"},
		{"Stopping", Stopping, "STOPPING=1"},
		{"Status", func() (bool, error) { return Status("2 instances, 1 master") }, "STATUS=2 instances, 1 master"},
		{"Status newlines", func() (bool, error) { return Status("a\nb\r\nc\rd") }, "STATUS=a b c d"},
		{"Notify several", func() (bool, error) { return Notify("STATUS=x\nREADY=1") }, "STATUS=x\nREADY=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := tt.call()
			if !sent || err != nil {
				t.Fatalf("= %v, %v; want true, nil", sent, err)
			}
			if got := recv(); got != tt.want {
				t.Errorf("manager got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReloading(t *testing.T) {
	recv := managerSocket(t)
	before, ok := monotonicUsec()
	if !ok {
		t.Skip("no CLOCK_MONOTONIC on this platform")
	}
	if sent, err := Reloading(); !sent || err != nil {
		t.Fatalf("Reloading = %v, %v; want true, nil", sent, err)
	}
	after, _ := monotonicUsec()

	got := recv()
	first, rest, ok := strings.Cut(got, "\n")
	if first != "RELOADING=1" || !ok {
		t.Fatalf("manager got %q, want RELOADING=1 then MONOTONIC_USEC", got)
	}
	v, found := strings.CutPrefix(rest, "MONOTONIC_USEC=")
	us, err := strconv.ParseUint(v, 10, 64)
	if !found || err != nil {
		t.Fatalf("second line %q, want MONOTONIC_USEC=<decimal>", rest)
	}
	if us < before || us > after {
		t.Errorf("MONOTONIC_USEC=%d, want between %d and %d (CLOCK_MONOTONIC around the call)", us, before, after)
	}
}

func TestNotifyUnset(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	for name, f := range map[string]func() (bool, error){
		"Ready": Ready, "Stopping": Stopping, "Reloading": Reloading,
		"Status": func() (bool, error) { return Status("x") },
	} {
		if sent, err := f(); sent || err != nil {
			t.Errorf("%s without NOTIFY_SOCKET = %v, %v; want false, nil", name, sent, err)
		}
	}
}

func TestNotifyErrors(t *testing.T) {
	tests := []struct {
		socket      string
		unsupported bool
	}{
		{"relative/notify.sock", true},
		{"vsock:2:1234", true},
		{"@", true},
		{filepath.Join(t.TempDir(), "absent.sock"), false},
	}
	for _, tt := range tests {
		t.Run(tt.socket, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", tt.socket)
			sent, err := Ready()
			if sent || err == nil {
				t.Fatalf("Ready = %v, %v; want false and an error", sent, err)
			}
			if !strings.HasPrefix(err.Error(), "sdnotify: ") {
				t.Errorf("error %q lacks the sdnotify: prefix", err)
			}
			if got := errors.Is(err, ErrUnsupportedSocket); got != tt.unsupported {
				t.Errorf("errors.Is(%v, ErrUnsupportedSocket) = %v, want %v", err, got, tt.unsupported)
			}
		})
	}
}
