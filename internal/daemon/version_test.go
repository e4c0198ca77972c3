package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/transport/transporttest"
	"github.com/vipd/vipd/internal/vrrp"
)

func v2Config(t *testing.T, prio string, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`
node: test
instances:
  - name: web
    interface: eth0
    vrid: 42
    priority: ` + prio + `
    version: 2
    advert_interval: 1s
` + extra + `    vips: [192.0.2.100/24, 192.0.2.101/24]
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestV2ElectionWithPassword: two VRRPv2 nodes with the same auth_pass
// elect the higher priority, send VRRPv2 with the password, and hand over
// on a graceful stop.
func TestV2ElectionWithPassword(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	aEnv := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	a := startNode(t, aEnv, v2Config(t, "200", "    auth_pass: s3cret\n"))
	b := startNode(t, newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12"), v2Config(t, "100", "    auth_pass: s3cret\n"))

	// Master_Down_Interval of a VRRPv2 priority-200 router: 3 s + 56/256 s.
	waitFor(t, "a master", 10*time.Second, func() bool { return a.state(t) == "MASTER" })
	waitFor(t, "b follows a", 5*time.Second, func() bool {
		st := b.d.Status(context.Background()).Instances[0]
		return st.State == "BACKUP" && st.Master != nil && st.Master.Address == "192.0.2.11"
	})
	for _, n := range []*node{a, b} {
		if d := nonZeroDrops(n.d.Status(context.Background()).Instances[0].Counters.Drops); len(d) > 0 {
			t.Errorf("drops between two VRRPv2 nodes: %v", d)
		}
	}
	// What a sends is VRRPv2 with the password.
	probe := seg.NewConn(9, nil, false, netip.MustParseAddr("192.0.2.9"))
	defer probe.Close()
	p, err := probe.ReadPacket(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	adv, err := vrrp.Parse(p.Payload, p.Src, p.Dst)
	if err != nil {
		t.Fatal(err)
	}
	if adv.Version != 2 || adv.AuthType != vrrp.AuthSimple || adv.AuthData != vrrp.AuthPassword("s3cret") || adv.Interval() != time.Second {
		t.Fatalf("a sends %v (auth data %q)", adv, adv.AuthData)
	}

	a.stop(t)
	waitFor(t, "b master", 5*time.Second, func() bool { return b.state(t) == "MASTER" })
	if r := b.d.Status(context.Background()).Instances[0].Counters.LastTransitionReason; r != "master_resigned" {
		t.Fatalf("b became master for %q, want master_resigned", r)
	}
}

// TestV2ReceiveDrops: a VRRPv2 instance drops VRRPv3 adverts, adverts with
// another password, none, or another interval, each under its reason, logs
// each reason once however many arrive, and follows none of them.
func TestV2ReceiveDrops(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	env := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	var mu sync.Mutex
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logBuf}, nil))
	d, err := New(Options{Config: v2Config(t, "100", "    auth_pass: s3cret\n"), Env: env, NoControl: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	n := runNode(t, env, d)
	waitFor(t, "backup", 2*time.Second, func() bool { return n.state(t) == "BACKUP" })

	src, dst := netip.MustParseAddr("192.0.2.99"), netip.MustParseAddr("224.0.0.18")
	vips := []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}
	enc := func(a vrrp.Advertisement) []byte {
		a.VRID, a.Priority, a.Addresses = 42, 250, vips
		b, err := a.Marshal(src, dst)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	v3 := enc(vrrp.Advertisement{Version: 3, MaxAdvertInterval: 100})
	noAuth := enc(vrrp.Advertisement{Version: 2, MaxAdvertInterval: 100})
	wrongPass := enc(vrrp.Advertisement{Version: 2, MaxAdvertInterval: 100, AuthType: vrrp.AuthSimple, AuthData: vrrp.AuthPassword("guess")})
	slow := enc(vrrp.Advertisement{Version: 2, MaxAdvertInterval: 200, AuthType: vrrp.AuthSimple, AuthData: vrrp.AuthPassword("s3cret")})
	for range 3 {
		for _, b := range [][]byte{v3, noAuth, wrongPass, slow} {
			env.conn.Inject(transport.Packet{Src: src, Dst: dst, TTL: 255, Payload: b})
		}
	}
	waitFor(t, "drops counted", 2*time.Second, func() bool {
		d := n.d.Status(context.Background()).Instances[0].Counters.Drops
		return d["version_mismatch"] == 3 && d["auth"] == 6 && d["interval_mismatch"] == 3
	})
	st := n.d.Status(context.Background()).Instances[0]
	if st.Master != nil || st.Counters.AdvertsReceived != 0 {
		t.Fatalf("a dropped advert was followed: master %+v, received %d", st.Master, st.Counters.AdvertsReceived)
	}
	mu.Lock()
	out := logBuf.String()
	mu.Unlock()
	for msg, want := range map[string]int{
		"advertisement of another VRRP version dropped: set version: 3": 1,
		"VRRPv2 advertisement with another authentication type dropped": 1,
		"VRRPv2 advertisement with another interval dropped":            1,
	} {
		if got := strings.Count(out, msg); got != want {
			t.Errorf("log has %q %d times, want %d:\n%s", msg, got, want, out)
		}
	}
	if strings.Contains(out, "guess") || strings.Contains(out, "s3cret") {
		t.Errorf("a password is in the log:\n%s", out)
	}
}

// TestReloadVersionChangeRestarts: a reload that changes the VRRP version
// restarts the instance (another protocol on the wire), one that changes
// the password reconfigures it in place.
func TestReloadVersionChangeRestarts(t *testing.T) {
	v2 := v2Config(t, "100", "    auth_pass: one\n").Instances[0]
	v2b := v2Config(t, "100", "    auth_pass: two\n").Instances[0]
	v3 := testConfigAdvert(t, 100, true, "1s").Instances[0]
	if !sameIdentity(v2, v2b) {
		t.Error("a new password restarts the instance")
	}
	if sameIdentity(v2, v3) {
		t.Error("a version change keeps the instance")
	}
}
