package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/labnet"
	"github.com/vipd/vipd/internal/testutil"
)

// vipdBin is the binary under test, built once by TestMain (with -race).
var vipdBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vipd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	vipdBin = filepath.Join(dir, "vipd")
	build := exec.Command("go", "build", "-race", "-o", vipdBin, "../cmd/vipd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build vipd:", err)
		return 1
	}
	_ = labnet.CleanupStale()
	// The race-built vipd (and every `vipd status` call) would sleep 1 s
	// at exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	return m.Run()
}

// newLab builds a lab and removes it when the test ends.
func newLab(t *testing.T, o labnet.Options) *labnet.Lab {
	t.Helper()
	testutil.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lab, err := labnet.New(ctx, o)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("lab close: %v", err)
		}
	})
	return lab
}

// newLab4 builds a lab (newLab) and returns it with n IPv4 VIPs of its
// LAN.
func newLab4(t *testing.T, n int) (*labnet.Lab, []netip.Addr) {
	t.Helper()
	lab := newLab(t, labnet.Options{})
	v4, err := lab.VIPs4(n)
	if err != nil {
		t.Fatal(err)
	}
	return lab, v4
}

// startProber probes vips from the client every 10 ms until the test ends.
func startProber(t *testing.T, lab *labnet.Lab, vips []netip.Addr) *labnet.Prober {
	t.Helper()
	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	t.Cleanup(func() { p.Stop(); cancel() })
	return p
}

// startPair starts vipd on A and B with cfg's configurations (A with
// priority 200, B 100) and waits for instance v4 to be master on A and
// backup on B.
func startPair(t *testing.T, lab *labnet.Lab, cfg func(node string, prio int) string) (na, nb *vipdNode) {
	t.Helper()
	na = newVipdNode(t, lab.Nodes[0], cfg("a", 200))
	nb = newVipdNode(t, lab.Nodes[1], cfg("b", 100))
	na.start()
	nb.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.waitState("v4", "BACKUP", 10*time.Second)
	return na, nb
}

// vipdNode is one vipd process in a lab host.
type vipdNode struct {
	t      *testing.T
	host   *labnet.Host
	config string
	socket string
	log    string
	cmd    *exec.Cmd
	waited chan struct{}
}

func newVipdNode(t *testing.T, h *labnet.Host, config string) *vipdNode {
	t.Helper()
	dir := t.TempDir()
	n := &vipdNode{t: t, host: h, config: filepath.Join(dir, "vipd.yaml"),
		socket: filepath.Join(dir, "vipd.sock"), log: filepath.Join(dir, "vipd.log")}
	config = strings.ReplaceAll(config, "@SOCKET@", n.socket)
	config = strings.ReplaceAll(config, "@STATEDIR@", filepath.Join(dir, "state"))
	config = strings.ReplaceAll(config, "@IFACE@", h.Iface)
	if err := os.WriteFile(n.config, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.kill()
		b, _ := os.ReadFile(n.log)
		// Every e2e run checks that no log line carries a key twice.
		for i, l := range duplicateKeyLines(b) {
			if i == 5 {
				t.Errorf("... and more lines with a key twice")
				break
			}
			t.Errorf("vipd on %s logged a key twice: %s", h.Name, l)
		}
		if t.Failed() {
			t.Logf("vipd log of %s:\n%s", h.Name, b)
		}
	})
	return n
}

// duplicateKeyLines returns the lines of a text (logfmt) log that carry a
// key twice, e.g. "instance=web ... instance=web". Quoted values may hold
// anything.
func duplicateKeyLines(b []byte) []string {
	var bad []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "time=") {
			continue // not a log line (a race report, a panic)
		}
		seen := map[string]bool{}
		for rest := l; rest != ""; {
			rest = strings.TrimLeft(rest, " ")
			eq := strings.IndexByte(rest, '=')
			sp := strings.IndexByte(rest, ' ')
			if eq < 0 || (sp >= 0 && sp < eq) {
				break // not key=value: give up on this line
			}
			k := rest[:eq]
			if seen[k] {
				bad = append(bad, l)
				break
			}
			seen[k] = true
			rest = rest[eq+1:]
			if strings.HasPrefix(rest, `"`) {
				// A quoted value: up to the unescaped closing quote.
				i := 1
				for i < len(rest) && rest[i] != '"' {
					if rest[i] == '\\' {
						i++
					}
					i++
				}
				rest = rest[min(i+1, len(rest)):]
			} else if sp := strings.IndexByte(rest, ' '); sp >= 0 {
				rest = rest[sp:]
			} else {
				rest = ""
			}
		}
	}
	return bad
}

func (n *vipdNode) start() {
	n.t.Helper()
	f, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	defer f.Close()
	n.cmd = n.host.Command(context.Background(), vipdBin, "run", "--config", n.config, "--log-level", "debug")
	n.cmd.Stdout, n.cmd.Stderr = f, f
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("start vipd on %s: %v", n.host.Name, err)
	}
	n.waited = make(chan struct{})
	go func() { n.cmd.Wait(); close(n.waited) }()
}

// stop sends SIGTERM and waits for a graceful exit.
func (n *vipdNode) stop() {
	n.t.Helper()
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.waited:
	case <-time.After(10 * time.Second):
		n.t.Errorf("vipd on %s did not stop on SIGTERM", n.host.Name)
		n.kill()
	}
	n.cmd = nil
}

// kill is kill -9: the process dies, its addresses stay.
func (n *vipdNode) kill() {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Kill()
	<-n.waited
	n.cmd = nil
}

func (n *vipdNode) status() (control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, vipdBin, "status", "--json", "--socket", n.socket).Output()
	if err != nil {
		return control.Status{}, err
	}
	var st control.Status
	return st, json.Unmarshal(out, &st)
}

// states returns instance name → state ("" when the daemon does not answer).
func (n *vipdNode) states() map[string]string {
	st, err := n.status()
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, in := range st.Instances {
		m[in.Name] = in.State
	}
	return m
}

func (n *vipdNode) waitState(instance, state string, within time.Duration) {
	n.t.Helper()
	waitFor(n.t, fmt.Sprintf("%s/%s %s", n.host.Name, instance, state), within, func() bool {
		return n.states()[instance] == state
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vipConfig renders a vipd config with one IPv4 and (when v6 > 0) one IPv6
// instance.
func vipConfig(node string, prio int, advert string, v4, v6 []netip.Addr, lan4, lan6 netip.Prefix) string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: %s\ncontrol_socket: @SOCKET@\nstate_dir: @STATEDIR@\ninstances:\n", node)
	fmt.Fprintf(&b, "  - name: v4\n    interface: @IFACE@\n    vrid: 42\n    priority: %d\n    advert_interval: %s\n    vips:\n", prio, advert)
	for _, a := range v4 {
		fmt.Fprintf(&b, "      - %s/%d\n", a, lan4.Bits())
	}
	if len(v6) > 0 {
		fmt.Fprintf(&b, "  - name: v6\n    interface: @IFACE@\n    vrid: 43\n    priority: %d\n    advert_interval: %s\n    vips:\n", prio, advert)
		for _, a := range v6 {
			fmt.Fprintf(&b, "      - %s/%d\n", a, lan6.Bits())
		}
	}
	return b.String()
}

// hasAll reports whether h holds every address.
func hasAll(t *testing.T, h *labnet.Host, addrs []netip.Addr) bool {
	ok, err := h.HasAddrs(addrs...)
	if err != nil {
		t.Logf("addrs of %s: %v", h.Name, err)
	}
	return ok
}

// holdsNone reports whether h holds none of addrs.
func holdsNone(t *testing.T, h *labnet.Host, addrs []netip.Addr) bool {
	ps, err := h.Addrs()
	if err != nil {
		return false
	}
	set := map[netip.Addr]bool{}
	for _, a := range addrs {
		set[a] = true
	}
	for _, p := range ps {
		if set[p.Addr()] {
			return false
		}
	}
	return true
}

// TestDuplicateKeyLines checks the log scanner itself (no root needed).
func TestDuplicateKeyLines(t *testing.T) {
	log := `time=2026-12-06T22:46:53.715Z level=INFO msg="a b=c instance=x" instance=web vrid=42
time=2026-12-06T22:46:53.715Z level=INFO msg=x instance=web iface=eth0 err="quoted \"instance=web\" x" iface=eth0
not a log line instance=a instance=a
time=2026-12-06T22:46:53.715Z level=WARN msg="ok" err=""`
	got := duplicateKeyLines([]byte(log))
	if len(got) != 1 || !strings.Contains(got[0], "msg=x") {
		t.Fatalf("%q", got)
	}
}
