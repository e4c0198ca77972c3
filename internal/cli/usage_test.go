package cli

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
)

func TestVersion(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "1.2.3-4-gabcdef"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || stdout != "vipd 1.2.3-4-gabcdef\n" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	// Without -ldflags the version falls back to what the toolchain
	// recorded, never to an empty string.
	Version = ""
	if code, stdout, _ := runCLI(t, "--version"); code != 0 || !strings.HasPrefix(stdout, "vipd ") || len(strings.TrimSpace(stdout)) <= len("vipd") {
		t.Errorf("fallback version: exit %d, %q", code, stdout)
	}
}

func TestUsageErrorsExit2Everywhere(t *testing.T) {
	for _, args := range [][]string{
		{"maintenance"},
		{"maintenance", "on", "extra"},
		{"stauts"},
		{"status", "extra"},
		{"check", "--config"},
		{"events", "--json=maybe"},
		{"lab", "--vips", "0"},
		{"lab", "--vips", "-3"},
		{"lab", "--runs", "0"},
		{"lab", "--mode", "ospf"},
		{"lab", "--fault", "unplug"},
		{"lab", "--mode", "bgp", "--compare", "keepalived"},
		{"lab", "--mode", "bgp", "--advert", "1s"},
		{"lab", "--mode", "bgp", "--virtual-mac"},
		{"lab", "--mode", "bgp", "--sweep"},
		{"lab", "--hold-time", "3s"},
		{"lab", "--fault", "sigterm"},
		{"completion", "bash", "extra"},
		{"help", "bogus"},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stdout %q, stderr %q)", args, code, stdout, stderr)
		}
		if !strings.Contains(stderr, "Usage:") {
			t.Errorf("%v: no usage on stderr:\n%s", args, stderr)
		}
	}
	if _, _, stderr := runCLI(t, "stauts"); !strings.Contains(stderr, "did you mean status") {
		t.Errorf("no suggestion for a typo:\n%s", stderr)
	}
}

// TestHelpSpeaksToOperators: every command's help, in plain words.
func TestHelpSpeaksToOperators(t *testing.T) {
	root := newRoot(nil, nil)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		text := strings.ToLower(c.Short + "\n" + c.Long + "\n" + c.Flags().FlagUsages())
		for _, w := range []string{"story", "the seed", "seed's", "2010"} {
			if strings.Contains(text, w) {
				t.Errorf("vipd %s: help says %q", c.Name(), w)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// The root help lists each command once (cobra's list, no second one).
	_, stdout, _ := runCLI(t, "--help")
	if n := strings.Count(stdout, "\n  maintenance "); n != 1 {
		t.Errorf("root help lists maintenance %d times:\n%s", n, stdout)
	}
}

// TestCheckHelpMatchesItsOutput: the format check --help describes is the
// one it prints.
func TestCheckHelpMatchesItsOutput(t *testing.T) {
	_, help, _ := runCLI(t, "check", "--help")
	for _, want := range []string{"FILE:LINE:COL: PATH: MESSAGE", "error(s)", "ok: node NAME, N instance(s), M VIP(s)"} {
		if !strings.Contains(help, want) {
			t.Errorf("check --help lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "vipd.yaml")
	os.WriteFile(path, []byte("instances:\n  - name: x\n    interface: eth0\n    vrid: 300\n    vips: [192.0.2.1/24]\n"), 0o644)
	_, _, stderr := runCLI(t, "check", "-c", path)
	if want := path + ":4:11: instances[0].vrid: "; !strings.HasPrefix(stderr, want) {
		t.Errorf("check prints %q, want it to start with %q", stderr, want)
	}
	os.WriteFile(path, []byte("instances:\n  - name: x\n    interface: eth0\n    vrid: 3\n    vips: [192.0.2.1/24]\n"), 0o644)
	if _, stdout, _ := runCLI(t, "check", "-c", path); stdout != path+": ok: node "+hostname(t)+", 1 instance(s), 1 VIP(s)\n" {
		t.Errorf("check prints %q", stdout)
	}
}

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fakeDaemon serves status and events on a socket; events sends one event
// and then closes the stream, as a daemon that stops does.
func fakeDaemon(t *testing.T, sock string) {
	t.Helper()
	ln, err := control.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	mux := control.NewMux()
	mux.HandleFunc(control.CommandStatus, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		control.Reply(w, control.Status{Node: "fake", PID: 1, StartedAt: time.Now()})
	})
	mux.HandleFunc(control.CommandEvents, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		control.Reply(w, nil)
		control.Reply(w, control.Event{Time: time.Now(), Type: control.EventState, Instance: "web", Message: "BACKUP -> MASTER"})
	})
	go func() { defer close(done); control.Serve(ctx, ln, mux, nil) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestSocketFromConfig(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "c.sock")
	fakeDaemon(t, sock)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("control_socket: "+sock+"\ninstances:\n  - name: x\n    interface: eth0\n    vrid: 3\n    vips: [192.0.2.1/24]\n"), 0o644)
	// A file that does not parse still names its socket: `vipd reload`
	// must reach the daemon to hear what is wrong.
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("control_socket: \""+sock+"\"\ninstances:\n  - name: x\n    vips: [192.0.2.1/24\n"), 0o644)
	for _, f := range []string{good, broken} {
		code, stdout, stderr := runCLI(t, "status", "--config", f)
		if code != 0 || !strings.Contains(stdout, "fake") {
			t.Errorf("status --config %s: exit %d\n%s%s", f, code, stdout, stderr)
		}
	}
	// --socket wins over --config.
	if code, _, stderr := runCLI(t, "status", "--config", good, "--socket", filepath.Join(dir, "none.sock")); code != 1 || !strings.Contains(stderr, "none.sock") {
		t.Errorf("--socket ignored: exit %d: %s", code, stderr)
	}
	// A --config that cannot be read is an error that names it.
	if code, _, stderr := runCLI(t, "reload", "--config", filepath.Join(dir, "missing.yaml")); code != 1 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing --config: exit %d: %s", code, stderr)
	}
}

func TestEventsExitsWhenTheDaemonGoesAway(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "c.sock")
	fakeDaemon(t, sock)
	code, stdout, stderr := runCLI(t, "events", "--socket", sock)
	if code != 1 || !strings.Contains(stdout, "BACKUP -> MASTER") || !strings.Contains(stderr, "daemon closed the connection") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// TestJSONLogsNameStates: a state (or any value with a name) is logged by
// its name in JSON, as in text.
func TestJSONLogsNameStates(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var b strings.Builder
		cmd := &cobra.Command{}
		cmd.SetErr(&b)
		log, err := newLogger(cmd, "info", format)
		if err != nil {
			t.Fatal(err)
		}
		log.With("instance", "web").Info("state change", "from", fsm.Backup, "to", fsm.Master, "reason", fsm.ReasonMasterDown,
			"vip", netip.MustParseAddr("192.0.2.1"), "err", errors.New("boom"))
		out := b.String()
		want := []string{`"from":"BACKUP"`, `"to":"MASTER"`, `"vip":"192.0.2.1"`, `"err":"boom"`}
		if format == "text" {
			want = []string{"from=BACKUP", "to=MASTER", "vip=192.0.2.1", "err=boom"}
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s log lacks %s: %s", format, w, out)
			}
		}
	}
}

// TestRunRejectsABrokenConfigLikeCheck: vipd run names each problem as
// vipd check does, before touching anything.
func TestRunRejectsABrokenConfigLikeCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vipd.yaml")
	os.WriteFile(path, []byte("node: a\ninstances:\n  - name: web\n    interface: eth0\n    vrid: 42\n    vips: [192.0.2.100/24, 192.0.2.101/24\n    priority: 100\n"), 0o644)
	code, _, stderr := runCLI(t, "run", "--config", path)
	if want := path + ":6:11: YAML syntax: '[' is never closed"; code != 1 || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr %q, want exit 1 and %q", code, stderr, want)
	}
}
