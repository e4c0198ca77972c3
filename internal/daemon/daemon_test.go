package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/announce/announcetest"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/netmon"
	"github.com/vipd/vipd/internal/netmon/netmontest"
	"github.com/vipd/vipd/internal/statedir"
	"github.com/vipd/vipd/internal/testutil"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/transport/transporttest"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vipaddr"
	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"
	"github.com/vipd/vipd/internal/watch"
)

// fakeEnv is one node on an in-memory segment.
type fakeEnv struct {
	ifi    *net.Interface // as created; the link's state is kernel's
	src    netip.Addr
	net    *transporttest.Network
	conn   *transporttest.Conn
	addrs  *vipaddrtest.Fake
	kernel *netmontest.Fake // follows addrs
	sender *recorder
	vmacs  VirtualMACs // nil: no virtual MAC support
}

type recorder struct{ announcetest.Recorder }

func (r *recorder) Close() error { return nil }

func newFakeEnv(n *transporttest.Network, idx int, mac string, src string) *fakeEnv {
	hw, _ := net.ParseMAC(mac)
	e := &fakeEnv{
		ifi:    &net.Interface{Index: idx, Name: "eth0", MTU: 1500, HardwareAddr: hw, Flags: net.FlagUp | net.FlagRunning},
		src:    netip.MustParseAddr(src),
		net:    n,
		addrs:  vipaddrtest.New(),
		sender: &recorder{},
	}
	e.conn = n.NewConn(idx, hw, e.src.Is6(), e.src)
	e.kernel = netmontest.New(e.addrs)
	e.kernel.SetLink(netmon.Link{Index: idx, Name: "eth0", HardwareAddr: hw, MTU: 1500, Up: true, Running: true, LowerUp: true, OperState: netmon.OperUp})
	return e
}

func (e *fakeEnv) Kernel() Kernel { return monitorKernel{e.kernel} }

func (e *fakeEnv) InterfaceByName(name string) (*net.Interface, error) {
	l, ok := e.kernel.Link(name)
	if !ok {
		return nil, errors.New("no such network interface")
	}
	c := *e.ifi
	c.Index = l.Index
	c.Flags = 0
	if l.Up {
		c.Flags |= net.FlagUp
	}
	if l.Running {
		c.Flags |= net.FlagRunning
	}
	return &c, nil
}

func (e *fakeEnv) setCarrier(on bool) { e.kernel.SetCarrier("eth0", on) }
func (e *fakeEnv) SourceAddr(*net.Interface, bool, []netip.Prefix) (netip.Addr, error) {
	return e.src, nil
}
func (e *fakeEnv) PrepareInterface(*net.Interface) error                         { return nil }
func (e *fakeEnv) ListenVRRP(*net.Interface, bool) (transport.PacketConn, error) { return e.conn, nil }
func (e *fakeEnv) OpenSender(*net.Interface) (announce.SenderCloser, error)      { return e.sender, nil }
func (e *fakeEnv) Addresses() vipaddr.Addresses                                  { return e.addrs }

func testConfig(t *testing.T, prio uint8, preempt bool) *config.Config {
	t.Helper()
	return testConfigAdvert(t, prio, preempt, "100ms")
}

// testConfigAdvert is testConfig with another advert interval, for tests
// that assert the absence of a transition: under -race on a busy machine
// a 20 ms interval (Master_Down_Interval ~70 ms) sees spurious takeovers.
func testConfigAdvert(t *testing.T, prio uint8, preempt bool, advert string) *config.Config {
	t.Helper()
	pre := "true"
	if !preempt {
		pre = "false"
	}
	cfg, err := config.Parse([]byte(`
node: test
instances:
  - name: web
    interface: eth0
    vrid: 42
    priority: ` + strconv.Itoa(int(prio)) + `
    advert_interval: ` + advert + `
    preempt: ` + pre + `
    vips: [192.0.2.100/24, 192.0.2.101/24]
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type node struct {
	env    *fakeEnv
	cancel context.CancelFunc
	done   chan error
	d      *Daemon
}

func startNode(t *testing.T, env *fakeEnv, cfg *config.Config) *node {
	t.Helper()
	d, err := New(Options{Config: cfg, Env: env, NoControl: true, Logger: failureLog(t, env.ifi.HardwareAddr.String())})
	if err != nil {
		t.Fatal(err)
	}
	return runNode(t, env, d)
}

// failureLog returns a logger whose lines are printed if the test fails.
func failureLog(t *testing.T, node string) *slog.Logger {
	var mu sync.Mutex
	var b bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("log of %s:\n%s", node, b.String())
		}
	})
	// A line with a key twice fails the test, whichever test logs it.
	return slog.New(testutil.NoDuplicateKeys(t, slog.NewTextHandler(lockedWriter{&mu, &b}, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func runNode(t *testing.T, env *fakeEnv, d *Daemon) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{env: env, cancel: cancel, done: make(chan error, 1), d: d}
	go func() { n.done <- d.Run(ctx) }()
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *node) stop(t *testing.T) {
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("daemon: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("daemon did not stop")
	}
	n.done <- nil // later stops return at once
}

func (n *node) state(t *testing.T) string {
	st := n.d.Status(context.Background())
	if len(st.Instances) == 0 {
		return "STOPPED"
	}
	return st.Instances[0].State
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestElectionFailoverAndGracefulHandover(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	a := startNode(t, newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11"), testConfig(t, 200, true))
	b := startNode(t, newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12"), testConfig(t, 100, true))

	waitFor(t, "a master", 2*time.Second, func() bool { return a.state(t) == "MASTER" })
	waitFor(t, "b backup with a as master", 2*time.Second, func() bool {
		st := b.d.Status(context.Background()).Instances[0]
		return st.State == "BACKUP" && st.Master != nil && st.Master.Address == "192.0.2.11" && st.Master.MAC == "02:00:00:00:00:0a"
	})
	// The Presenter adds the VIPs on its own goroutine.
	waitFor(t, "a holds both VIPs", 2*time.Second, func() bool { return len(a.env.addrs.Addresses(2)) == 2 })
	if got := b.env.addrs.Addresses(3); len(got) != 0 {
		t.Fatalf("b holds %v", got)
	}
	// a announced both VIPs in both forms.
	if err := a.env.sender.Wait(ctxT(t, time.Second), 4); err != nil {
		t.Fatalf("announcements: %v (got %d)", err, a.env.sender.Len())
	}

	// Graceful stop of a: priority 0 → b takes over after Skew_Time
	// (~12 ms), far sooner than Master_Down_Interval (~72 ms).
	stopAt := time.Now()
	a.stop(t)
	if got := a.env.addrs.Addresses(2); len(got) != 0 {
		t.Fatalf("a still holds %v after stop", got)
	}
	waitFor(t, "b master", 2*time.Second, func() bool { return b.state(t) == "MASTER" })
	if took := time.Since(stopAt); took > 60*time.Millisecond {
		t.Logf("takeover took %v (expected ~Skew_Time; slow machine?)", took)
	}
	st := b.d.Status(context.Background()).Instances[0]
	if st.Counters.LastTransitionReason != "master_resigned" {
		t.Fatalf("b became master for %q, want master_resigned", st.Counters.LastTransitionReason)
	}
	waitFor(t, "b holds both VIPs", 2*time.Second, func() bool { return len(b.env.addrs.Addresses(3)) == 2 })
}

func TestSilentMasterDeathAndPreemptBack(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	aEnv := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	a := startNode(t, aEnv, testConfig(t, 200, true))
	b := startNode(t, newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12"), testConfig(t, 100, true))
	waitFor(t, "a master", 2*time.Second, func() bool { return a.state(t) == "MASTER" })
	waitFor(t, "b backup", 2*time.Second, func() bool { return b.state(t) == "BACKUP" })

	// a's cable is cut: nothing it sends arrives.
	aEnv.conn.SetConnected(false)
	waitFor(t, "b master after master down", 2*time.Second, func() bool { return b.state(t) == "MASTER" })
	if r := b.d.Status(context.Background()).Instances[0].Counters.LastTransitionReason; r != "master_down_timer" {
		t.Fatalf("reason %q", r)
	}
	// Cable back: a (higher priority) keeps master, b yields and removes its VIPs.
	aEnv.conn.SetConnected(true)
	waitFor(t, "b backup again", 2*time.Second, func() bool { return b.state(t) == "BACKUP" })
	waitFor(t, "b released VIPs", 2*time.Second, func() bool { return len(b.env.addrs.Addresses(3)) == 0 })
	if a.state(t) != "MASTER" {
		t.Fatalf("a is %s", a.state(t))
	}
}

// TestLeftoversRecordedAreRemovedOthersRefused: at start vipd removes the
// VIPs that an earlier run recorded as added (a crash) and nothing else; a
// configured VIP present that it did not add makes it refuse to start.
func TestLeftoversRecordedAreRemovedOthersRefused(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	env := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	a, b := netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("192.0.2.101/24")
	env.addrs.Set(2, a, b)

	// Not recorded: refused, nothing touched.
	_, err := New(Options{Config: testConfig(t, 100, true), Env: env, NoControl: true})
	if err == nil || !strings.Contains(err.Error(), "192.0.2.100 is already on eth0 and vipd did not add it") {
		t.Fatalf("New: %v", err)
	}
	if got := env.addrs.Addresses(2); len(got) != 2 {
		t.Fatalf("refused start touched the addresses: %v", got)
	}

	// Recorded by a run that crashed: removed.
	led, err := statedir.OpenLedger(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := led.Record("web", "eth0", 2, []netip.Prefix{a, b}); err != nil {
		t.Fatal(err)
	}
	// A master elsewhere with a higher priority keeps us backup.
	other := seg.NewConn(9, net.HardwareAddr{2, 0, 0, 0, 0, 9}, false, netip.MustParseAddr("192.0.2.9"))
	stopOther := advertise(t, other, "192.0.2.9", 250)
	defer stopOther()
	d, err := New(Options{Config: testConfig(t, 100, true), Env: env, NoControl: true, Ledger: led})
	if err != nil {
		t.Fatal(err)
	}
	n := runNode(t, env, d)
	waitFor(t, "backup", 2*time.Second, func() bool { return n.state(t) == "BACKUP" })
	waitFor(t, "leftovers removed and forgotten", 2*time.Second, func() bool {
		return len(env.addrs.Addresses(2)) == 0 && len(led.Entries()) == 0
	})
}

func TestAddFailureResignsWithoutHalfConfiguredAddresses(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	env := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	env.addrs.Fail(vipaddrtest.OpAdd, netip.MustParsePrefix("192.0.2.101/24"), errors.New("injected"))
	n := startNode(t, env, testConfig(t, 100, true))
	waitFor(t, "fault after failed add", 2*time.Second, func() bool { return n.state(t) == "FAULT" })
	if got := env.addrs.Addresses(2); len(got) != 0 {
		t.Fatalf("half-configured: %v", got)
	}
	env.addrs.ClearFailures()
	waitFor(t, "master after retry", 10*time.Second, func() bool { return n.state(t) == "MASTER" })
	waitFor(t, "VIPs after retry", 2*time.Second, func() bool { return len(env.addrs.Addresses(2)) == 2 })
}

func TestReceiveChecksDropAndCount(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	env := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	n := startNode(t, env, testConfig(t, 100, true))
	waitFor(t, "master", 2*time.Second, func() bool { return n.state(t) == "MASTER" })
	inj := func(p transport.Packet) { env.conn.Inject(p) }
	src, dst := netip.MustParseAddr("192.0.2.99"), netip.MustParseAddr("224.0.0.18")
	good := mustAdvert(t, 42, 250, src, dst)
	bad := append([]byte(nil), good...)
	bad[6] ^= 0xff // checksum
	unknown := mustAdvert(t, 7, 250, src, dst)
	inj(transport.Packet{Src: src, Dst: dst, TTL: 64, Payload: good})
	inj(transport.Packet{Src: src, Dst: dst, TTL: 255, Payload: bad})
	inj(transport.Packet{Src: src, Dst: dst, TTL: 255, Payload: unknown})
	inj(transport.Packet{Src: src, Dst: dst, TTL: 255, Payload: good[:5]})
	waitFor(t, "drops counted", 2*time.Second, func() bool {
		d := n.d.Status(context.Background()).Instances[0].Counters.Drops
		return d["ttl"] == 1 && d["checksum"] == 1 && d["link_unknown_vrid"] == 1 && d["too_short"] == 1
	})
	if n.state(t) != "MASTER" {
		t.Fatalf("state changed by bad packets: %s", n.state(t))
	}
}

func (e *fakeEnv) Prober() (verify.Prober, error) { return nil, nil }
func (e *fakeEnv) Neighbors() verify.Neighbors    { return nil }
func (e *fakeEnv) Targets(int, []netip.Prefix, []netip.Addr) ([]netip.Addr, error) {
	return nil, nil
}
func (e *fakeEnv) OpenWatcher(*net.Interface, watch.Deps) (*watch.Watcher, error) { return nil, nil }

func (e *fakeEnv) VirtualMACs() VirtualMACs { return e.vmacs }

func TestLinkDownIsFault(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	aEnv := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	a := startNode(t, aEnv, testConfig(t, 200, true))
	b := startNode(t, newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12"), testConfig(t, 100, true))
	waitFor(t, "a master", 2*time.Second, func() bool { return a.state(t) == "MASTER" })
	aEnv.setCarrier(false)
	waitFor(t, "a FAULT(interface)", 2*time.Second, func() bool {
		st := a.d.Status(context.Background()).Instances[0]
		return st.State == "FAULT" && len(st.FaultReasons) == 1 && st.FaultReasons[0] == "interface"
	})
	waitFor(t, "b master", 2*time.Second, func() bool { return b.state(t) == "MASTER" })
	waitFor(t, "a lets its VIPs go with the link down", 2*time.Second, func() bool { return len(aEnv.addrs.Addresses(2)) == 0 })
	aEnv.setCarrier(true)
	waitFor(t, "a master again", 2*time.Second, func() bool { return a.state(t) == "MASTER" })
}

// TestPartitionHealReasserts: while A is cut off both are master; on heal B
// yields within about one advert interval, and A reasserts (advert at once,
// announcements again) because it heard a lower-priority master.
func TestPartitionHealReasserts(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	aEnv := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	a := startNode(t, aEnv, testConfig(t, 200, true))
	b := startNode(t, newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12"), testConfig(t, 100, true))
	waitFor(t, "a master", 2*time.Second, func() bool { return a.state(t) == "MASTER" })
	waitFor(t, "b backup", 2*time.Second, func() bool { return b.state(t) == "BACKUP" })
	events, unsub := a.d.bus.subscribe()
	defer unsub()
	aEnv.conn.SetConnected(false)
	waitFor(t, "b master during the partition", 2*time.Second, func() bool { return b.state(t) == "MASTER" })
	if a.state(t) != "MASTER" {
		t.Fatalf("a is %s during the partition", a.state(t))
	}
	sentBefore := len(aEnv.sender.Sent())
	aEnv.conn.SetConnected(true)
	heal := time.Now()
	waitFor(t, "b yields", 2*time.Second, func() bool { return b.state(t) == "BACKUP" })
	t.Logf("b yielded %v after the heal (advert interval 100ms)", time.Since(heal))
	waitFor(t, "a reasserted", 2*time.Second, func() bool {
		for {
			select {
			case e := <-events:
				if e.Type == "state" && strings.HasPrefix(e.Message, "reasserting") {
					return true
				}
			default:
				return false
			}
		}
	})
	waitFor(t, "a announced again", 2*time.Second, func() bool { return len(aEnv.sender.Sent()) > sentBefore })
}
