package netmon

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/testutil"
)

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// openIn starts a monitor of namespace ns, closed when the test ends.
func openIn(t *testing.T, ns string, opts Options) *Monitor {
	t.Helper()
	opts.Namespace = "/run/netns/" + ns
	opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// waitUntil re-evaluates cond after every change until it holds.
func waitUntil(t *testing.T, m *Monitor, what string, cond func() bool) {
	t.Helper()
	changed := make(chan struct{}, 1)
	cancel := m.Subscribe(func(Change) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer cancel()
	timeout := time.After(waitTimeout)
	for !cond() {
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out waiting for %s; snapshot: links %+v, addrs %v, stats %+v", what, m.Links(), m.AllAddrs(), m.Stats())
		}
	}
}

// kernelAddrs asks iproute2, independently of this package, for every
// address in namespace ns.
func kernelAddrs(t *testing.T, ns string) []IfAddr {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-j", "addr", "show").Output()
	if err != nil {
		t.Fatalf("ip addr show: %v", err)
	}
	var links []struct {
		IfIndex  int `json:"ifindex"`
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		t.Fatalf("ip -j addr show: %v\n%s", err, out)
	}
	var all []IfAddr
	for _, l := range links {
		for _, a := range l.AddrInfo {
			all = append(all, IfAddr{l.IfIndex, netip.PrefixFrom(netip.MustParseAddr(a.Local), a.PrefixLen)})
		}
	}
	slices.SortFunc(all, func(a, b IfAddr) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return ComparePrefix(a.Prefix, b.Prefix)
	})
	return all
}

// converged waits until the snapshot's addresses are the kernel's.
func converged(t *testing.T, m *Monitor, ns string) {
	t.Helper()
	var want []IfAddr
	waitUntil(t, m, "the snapshot to equal ip addr", func() bool {
		want = kernelAddrs(t, ns)
		return slices.Equal(m.AllAddrs(), want)
	})
}

// ipBatch runs ip -n ns -batch with the commands on stdin.
func ipBatch(t *testing.T, ns string, cmds []string) { ipBatchTB(t, ns, cmds) }

func ipBatchTB(t testing.TB, ns string, cmds []string) {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v\n%s", err, out)
	}
}

// manyAddrs returns n addresses on dev: IPv4 from 198.18.0.1/15, every
// fourth an IPv6 address from 2001:db8:1::/64 without DAD.
func manyAddrs(dev string, n int) []string {
	cmds := make([]string, 0, n)
	v4 := netip.MustParseAddr("198.18.0.1")
	v6 := netip.MustParseAddr("2001:db8:1::1")
	for i := range n {
		if i%4 == 3 {
			cmds = append(cmds, fmt.Sprintf("addr add %v/64 dev %s nodad", v6, dev))
			v6 = v6.Next()
			continue
		}
		cmds = append(cmds, fmt.Sprintf("addr add %v/15 dev %s", v4, dev))
		v4 = v4.Next()
	}
	return cmds
}

// checkThreadsHome fails t if a thread of this process is in another
// network namespace than the process's first thread.
func checkThreadsHome(t *testing.T) {
	t.Helper()
	home, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	for _, p := range tasks {
		if ns, err := os.Readlink(p); err == nil && ns != home {
			t.Errorf("thread %s is in %s, not %s", p, ns, home)
		}
	}
}

// addDummy creates interface name, up, in ns. This kernel has no dummy
// driver: it is a veth whose peer (name+"p", up too) is in the same
// namespace, so that deleting name deletes both.
func addDummy(t *testing.T, ns, name string) {
	t.Helper()
	testutil.AddVeth(t, testutil.Veth{NS: ns, Name: name}, testutil.Veth{NS: ns, Name: name + "p"})
	testutil.Run(t, "ip", "-n", ns, "link", "set", name+"p", "up")
	testutil.Run(t, "ip", "-n", ns, "link", "set", name, "up")
}

func TestIntegrationLinkState(t *testing.T) {
	testutil.RequireRoot(t)
	checkGoroutines(t)
	a, b := testutil.NewNS(t, "netmon"), testutil.NewNS(t, "netmon")
	testutil.AddVeth(t, testutil.Veth{NS: a, Name: "va"}, testutil.Veth{NS: b, Name: "vb"})
	m := openIn(t, a, Options{})
	r := record(t, m)
	va := func() Link { l, _ := m.Link("va"); return l }
	ip := func(ns string, args ...string) { testutil.Run(t, "ip", append([]string{"-n", ns}, args...)...) }

	ip(a, "link", "set", "va", "up")
	ip(b, "link", "set", "vb", "up")
	waitUntil(t, m, "va up with carrier", func() bool { return va().Usable() && va().LowerUp })
	if l := va(); l.OperState != OperUp || l.MTU != 1500 || len(l.HardwareAddr) != 6 {
		t.Errorf("va = %+v", l)
	}
	ip(a, "addr", "add", "192.0.2.1/24", "dev", "va")
	ip(a, "addr", "add", "2001:db8::1/64", "dev", "va", "nodad")
	converged(t, m, a)
	idx := va().Index
	r.next(t, len(r.ch)) // forget what came so far

	// Admin down.
	ip(a, "link", "set", "va", "down")
	waitUntil(t, m, "va admin down", func() bool { return !va().Up })
	converged(t, m, a)
	l := va()
	t.Logf("admin down: %+v; addresses %v", l, m.Addrs(idx))
	if l.Up || l.Running || l.Usable() || l.OperState != OperDown {
		t.Errorf("after admin down: %+v", l)
	}
	if !m.HasAddr(idx, netip.MustParsePrefix("192.0.2.1/24")) {
		t.Error("IPv4 address gone on admin down")
	}
	sawLinkChanged(t, r, idx)

	ip(a, "link", "set", "va", "up")
	waitUntil(t, m, "va up again", func() bool { return va().Usable() })
	ip(a, "addr", "replace", "2001:db8::1/64", "dev", "va", "nodad") // in case admin down flushed it
	converged(t, m, a)
	r.next(t, len(r.ch))

	// Carrier loss: the peer goes down.
	ip(b, "link", "set", "vb", "down")
	waitUntil(t, m, "va without carrier", func() bool { return !va().LowerUp })
	converged(t, m, a)
	l = va()
	t.Logf("carrier loss: %+v; addresses %v", l, m.Addrs(idx))
	if !l.Up || l.Running || l.Usable() || l.OperState == OperUp {
		t.Errorf("after carrier loss: %+v", l)
	}
	if !m.HasAddr(idx, netip.MustParsePrefix("2001:db8::1/64")) {
		t.Error("IPv6 address gone on carrier loss")
	}
	sawLinkChanged(t, r, idx)

	ip(b, "link", "set", "vb", "up")
	waitUntil(t, m, "carrier back", func() bool { return va().Usable() && va().LowerUp })
	if st := m.Stats(); st.Failures != 0 || st.Errors != 0 {
		t.Errorf("Stats = %+v", st)
	}
	m.Close()
	checkThreadsHome(t)
}

// sawLinkChanged checks that the changes received so far include a
// LinkChanged for index.
func sawLinkChanged(t *testing.T, r *recorder, index int) {
	t.Helper()
	cs := r.next(t, len(r.ch))
	t.Logf("changes: %v", cs)
	if !slices.ContainsFunc(cs, func(c Change) bool { return c.Kind == LinkChanged && c.Index == index }) {
		t.Errorf("no LinkChanged for index %d in %v", index, cs)
	}
}

func TestIntegrationAddresses(t *testing.T) {
	testutil.RequireRoot(t)
	checkGoroutines(t)
	ns := testutil.NewNS(t, "netmon")
	addDummy(t, ns, "d0")
	m := openIn(t, ns, Options{})
	r := record(t, m)
	d0, _ := m.Link("d0")
	lo, _ := m.Link("lo")
	if d0.Index == 0 || lo.Index == 0 || !lo.Usable() {
		t.Fatalf("d0 = %+v, lo = %+v", d0, lo)
	}

	vip := netip.MustParsePrefix("192.0.2.100/24")
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), vip,
		netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("2001:db8::5/64")}
	for _, p := range want {
		args := []string{"-n", ns, "addr", "add", p.String(), "dev", "d0"}
		if p.Addr().Is6() {
			args = append(args, "nodad")
		}
		testutil.Run(t, "ip", args...)
	}
	// The same VIP on lo, with another prefix length.
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "192.0.2.100/32", "dev", "lo")
	waitUntil(t, m, "the addresses", func() bool { return len(m.Present(d0.Index, want)) == len(want) })
	converged(t, m, ns)
	if got := m.Holders(vip.Addr()); !slices.Equal(got, []int{lo.Index, d0.Index}) {
		t.Errorf("Holders(%v) = %v, want lo and d0", vip.Addr(), got)
	}
	if m.HasAddr(d0.Index, netip.MustParsePrefix("192.0.2.100/32")) {
		t.Error("HasAddr ignores the prefix length")
	}
	cs := r.next(t, len(r.ch))
	for _, p := range want {
		if !slices.Contains(cs, Change{Kind: AddrAdded, Index: d0.Index, Name: "d0", Prefix: p}) {
			t.Errorf("no AddrAdded for %v in %v", p, cs)
		}
	}

	for _, p := range []string{"192.0.2.100/24", "2001:db8::5/64"} {
		testutil.Run(t, "ip", "-n", ns, "addr", "del", p, "dev", "d0")
	}
	gone := []Change{
		{Kind: AddrRemoved, Index: d0.Index, Name: "d0", Prefix: vip},
		{Kind: AddrRemoved, Index: d0.Index, Name: "d0", Prefix: netip.MustParsePrefix("2001:db8::5/64")},
	}
	checkChanges(t, "ip addr del", r.next(t, 2), gone...)
	if got := m.Holders(vip.Addr()); !slices.Equal(got, []int{lo.Index}) {
		t.Errorf("Holders(%v) = %v, want lo", vip.Addr(), got)
	}
	converged(t, m, ns)
}

func TestIntegrationFlushOverflow(t *testing.T) {
	testutil.RequireRoot(t)
	checkGoroutines(t)
	ns := testutil.NewNS(t, "netmon")
	addDummy(t, ns, "d0")
	const n = 2000
	ipBatch(t, ns, manyAddrs("d0", n))
	// The smallest buffer the kernel allows, and a subscriber that stalls
	// the monitor during the flush: the kernel must drop events.
	m := openIn(t, ns, Options{ReceiveBuffer: 1})
	converged(t, m, ns)
	d0, _ := m.Link("d0")
	if got := len(m.Addrs(d0.Index)); got < n {
		t.Fatalf("d0 has %d addresses, want at least %d", got, n)
	}
	release := make(chan struct{})
	stalled := make(chan struct{})
	cancel := m.Subscribe(func(Change) {
		select {
		case <-release:
		default:
			close(stalled)
			<-release
		}
	})
	start := time.Now()
	testutil.Run(t, "ip", "-n", ns, "addr", "flush", "dev", "d0")
	select {
	case <-stalled:
	case <-time.After(waitTimeout):
		t.Fatal("the flush caused no change")
	}
	close(release)
	cancel()
	converged(t, m, ns)
	t.Logf("converged %v after the flush of %d addresses; stats %+v", time.Since(start), n, m.Stats())
	if got := m.Addrs(d0.Index); len(got) != 0 {
		t.Errorf("d0 keeps %d addresses", len(got))
	}
	if st := m.Stats(); st.Overflows == 0 {
		t.Errorf("no overflow was provoked: %+v", st)
	}
	// The snapshot may match the kernel before the resubscription (in
	// backoff) is done: wait for it, then check it still follows below.
	deadline := time.Now().Add(waitTimeout)
	for m.Stats().Resubscriptions == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no resubscription after the overflow: %+v", m.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// And it still follows the kernel.
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "d0")
	waitUntil(t, m, "an address after the flush", func() bool {
		return m.HasAddr(d0.Index, netip.MustParsePrefix("192.0.2.1/24"))
	})
	converged(t, m, ns)
}

func TestIntegrationRecreate(t *testing.T) {
	testutil.RequireRoot(t)
	checkGoroutines(t)
	ns := testutil.NewNS(t, "netmon")
	addDummy(t, ns, "d0")
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "d0")
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "2001:db8::1/64", "dev", "d0", "nodad")
	m := openIn(t, ns, Options{})
	r := record(t, m)
	old, _ := m.Link("d0")
	if len(m.Addrs(old.Index)) < 2 {
		t.Fatalf("d0 has %v", m.Addrs(old.Index))
	}

	testutil.Run(t, "ip", "-n", ns, "link", "del", "d0")
	addDummy(t, ns, "d0")
	testutil.Run(t, "ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", "d0")
	waitUntil(t, m, "the new d0 with its address", func() bool {
		l, ok := m.Link("d0")
		return ok && l.Index != old.Index && m.HasAddr(l.Index, netip.MustParsePrefix("198.51.100.1/24"))
	})
	converged(t, m, ns)
	if _, ok := m.LinkByIndex(old.Index); ok || m.Addrs(old.Index) != nil {
		t.Errorf("old index %d still there: addrs %v", old.Index, m.Addrs(old.Index))
	}
	cs := r.next(t, len(r.ch))
	t.Logf("changes: %v", cs)
	if !slices.Contains(cs, Change{Kind: LinkDeleted, Index: old.Index, Name: "d0"}) {
		t.Errorf("no LinkDeleted for the old index in %v", cs)
	}
	// Deleting the link took its addresses away.
	if holders := m.Holders(netip.MustParseAddr("192.0.2.1")); holders != nil {
		t.Errorf("192.0.2.1 still held by %v", holders)
	}
	if st := m.Stats(); st.Failures != 0 {
		t.Errorf("Stats = %+v", st)
	}
}
