package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/control"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckReportsEveryErrorWithItsLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vipd.yaml")
	os.WriteFile(path, []byte("instances:\n  - name: x\n    interface: eth0\n    vrid: 300\n    vips: [192.0.2.1/24]\n    colour: blue\n"), 0o644)
	code, _, stderr := runCLI(t, "check", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{path + ":4:", "vrid: must be 1..255", path + ":6:", "colour: unknown key", "2 error(s)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestCheckAcceptsTheExamples(t *testing.T) {
	for _, f := range []string{"../../examples/vipd.yaml", "../../examples/ipv6.yaml"} {
		code, stdout, stderr := runCLI(t, "check", "-c", f)
		if code != 0 || !strings.Contains(stdout, "ok") {
			t.Errorf("%s: exit %d\n%s%s", f, code, stdout, stderr)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"status", "--bogus"}, {"maintenance", "sideways"}} {
		if code, _, stderr := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

func TestStatusWithoutDaemonSaysSo(t *testing.T) {
	code, _, stderr := runCLI(t, "status", "--socket", filepath.Join(t.TempDir(), "none.sock"))
	if code != 1 || !strings.Contains(stderr, "is the daemon running?") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestStatusRendersWhatTheDaemonSays runs a fake daemon on a control socket.
func TestStatusRendersWhatTheDaemonSays(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := control.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	mux := control.NewMux()
	mux.HandleFunc(control.CommandStatus, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		control.Reply(w, control.Status{Node: "a", PID: 1, StartedAt: time.Now(), Instances: []control.InstanceStatus{{
			Name: "web", Interface: "eth0", VRID: 42, Family: "ipv4", State: "MASTER", Priority: 150, EffectivePriority: 150,
			VIPs: []control.VIPStatus{{Address: "192.0.2.100/24", Held: true, Verification: "verified"}},
		}}})
	})
	go func() { defer close(done); control.Serve(ctx, ln, mux, nil) }()
	defer func() { cancel(); <-done }()

	code, stdout, stderr := runCLI(t, "status", "--socket", sock, "-v")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"web", "MASTER", "192.0.2.100/24", "verified"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCLI(t, "status", "--socket", sock, "--json")
	if code != 0 || !strings.Contains(stdout, `"verification": "verified"`) {
		t.Fatalf("json (exit %d):\n%s", code, stdout)
	}
}
