package daemon

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/transport/transporttest"
	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"
)

func mustParse(t *testing.T, s string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const reloadBase = `
node: test
instances:
  - name: web
    interface: eth0
    vrid: 42
    priority: 150
    advert_interval: 100ms
    vips: [192.0.2.100/24, 192.0.2.101/24, 192.0.2.102/24]
`

func TestReloadAddsInstanceAndRemovesVIPWithoutTouchingOthers(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	env := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	next := reloadBase
	d, err := New(Options{Config: mustParse(t, reloadBase), Env: env, NoControl: true, ConfigFile: "/etc/vipd/vipd.yaml",
		Load: func() (*config.Config, error) { return config.Parse([]byte(next)) }, Logger: failureLog(t, "a")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	n := &node{d: d}
	waitFor(t, "master", 2*time.Second, func() bool { return n.state(t) == "MASTER" })
	waitFor(t, "3 VIPs", time.Second, func() bool { return len(env.addrs.Addresses(2)) == 3 })

	before := len(env.addrs.Calls())
	events, unsub := d.bus.subscribe()
	defer unsub()

	// A broken file changes nothing, and says why like `vipd check`.
	next = "instances: [}"
	err = d.Reload(TriggerControl)
	var re *ReloadError
	if !errors.As(err, &re) || re.Result != control.ReloadRejected || len(re.Lines) != 1 ||
		!strings.HasPrefix(re.Lines[0], "/etc/vipd/vipd.yaml:1:") || !strings.Contains(err.Error(), "the running configuration is unchanged") {
		t.Fatalf("broken config: %#v", err)
	}
	if lr := d.Status(context.Background()).LastReload; lr == nil || lr.Result != control.ReloadRejected || lr.Trigger != TriggerControl ||
		!slices.Equal(lr.Errors, re.Lines) || lr.Time.IsZero() {
		t.Fatalf("status after a rejected reload: %+v", lr)
	}
	// Two problems: one line each, in order.
	next = reloadBase + "    vrid: 300\n    colour: blue\n"
	err = d.Reload(TriggerSignal)
	if !errors.As(err, &re) || len(re.Lines) != 2 || !strings.HasPrefix(re.Lines[0], "/etc/vipd/vipd.yaml:10:5: instances[0].vrid: duplicate key") || !strings.HasPrefix(re.Lines[1], "/etc/vipd/vipd.yaml:11:5: instances[0].colour: unknown key") {
		t.Fatalf("two problems: %v", err)
	}
	// One VIP removed, one instance added.
	next = `
node: test
instances:
  - name: web
    interface: eth0
    vrid: 42
    priority: 150
    advert_interval: 100ms
    vips: [192.0.2.100/24, 192.0.2.101/24]
  - name: api
    interface: eth0
    vrid: 43
    priority: 150
    advert_interval: 100ms
    vips: [192.0.2.110/24]
`
	if err := d.Reload(TriggerControl); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "api master", 2*time.Second, func() bool {
		st := d.Status(context.Background())
		return len(st.Instances) == 2 && st.Instances[1].State == "MASTER"
	})
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("192.0.2.101/24"), netip.MustParsePrefix("192.0.2.110/24")}
	waitFor(t, "addresses after reload", 2*time.Second, func() bool {
		got := env.addrs.Addresses(2)
		slices.SortFunc(got, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		return slices.Equal(got, want)
	})
	// The unchanged VIPs were never removed; web never left MASTER.
	for _, c := range env.addrs.Calls()[before:] {
		if c.Op == vipaddrtest.OpRemove {
			for _, p := range c.VIPs {
				if p != netip.MustParsePrefix("192.0.2.102/24") {
					t.Errorf("reload removed %v", p)
				}
			}
		}
	}
	// INIT→BACKUP→MASTER and nothing since.
	if st := d.Status(context.Background()).Instances[0]; st.State != "MASTER" || st.Counters.Transitions != 2 {
		t.Fatalf("web: %s after %d transitions", st.State, st.Counters.Transitions)
	}
	var rejects []string
	var sawApply bool
	for len(events) > 0 {
		e := <-events
		if e.Type == control.EventReload {
			if strings.HasPrefix(e.Message, "rejected: ") {
				rejects = append(rejects, e.Message)
				if strings.Contains(e.Message, "\n") {
					t.Errorf("event on more than one line: %q", e.Message)
				}
			}
			sawApply = sawApply || e.Message == "applied"
		}
	}
	if len(rejects) != 2 || !sawApply || !strings.HasPrefix(rejects[0], "rejected: /etc/vipd/vipd.yaml:1:") {
		t.Fatalf("reload events: rejected %q, applied %v", rejects, sawApply)
	}
	if lr := d.Status(context.Background()).LastReload; lr == nil || lr.Result != control.ReloadApplied || len(lr.Errors) != 0 {
		t.Fatalf("status after an applied reload: %+v", lr)
	}
}

func TestMaintenanceHandsOverAndPersists(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	dir := t.TempDir()
	cfgA := testConfig(t, 200, true)
	cfgA.StateDir = dir
	a := startNode(t, newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11"), cfgA)
	b := startNode(t, newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12"), testConfig(t, 100, true))
	waitFor(t, "a master", 2*time.Second, func() bool { return a.state(t) == "MASTER" })
	waitFor(t, "b backup", 2*time.Second, func() bool { return b.state(t) == "BACKUP" })

	if err := a.d.SetMaintenance(context.Background(), "", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b master", 2*time.Second, func() bool { return b.state(t) == "MASTER" })
	st := b.d.Status(context.Background()).Instances[0]
	if st.Counters.LastTransitionReason != "master_resigned" {
		t.Fatalf("b took over for %s, want master_resigned (priority 0)", st.Counters.LastTransitionReason)
	}
	ast := a.d.Status(context.Background()).Instances[0]
	if ast.State != "FAULT" || !slices.Equal(ast.FaultReasons, []string{"maintenance"}) {
		t.Fatalf("a: %s %v", ast.State, ast.FaultReasons)
	}
	waitFor(t, "a lets its VIPs go in maintenance", 2*time.Second, func() bool { return len(a.env.addrs.Addresses(2)) == 0 })
	if _, err := os.Stat(filepath.Join(dir, "maintenance.json")); err != nil {
		t.Fatalf("maintenance not persisted: %v", err)
	}
	// A restart keeps maintenance.
	a.stop(t)
	env2 := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	env2.addrs = a.env.addrs
	a2 := startNode(t, env2, cfgA)
	waitFor(t, "a2 in maintenance", 2*time.Second, func() bool { return a2.state(t) == "FAULT" })
	time.Sleep(500 * time.Millisecond) // several advert intervals: a2 must stay out
	if a2.state(t) != "FAULT" || b.state(t) != "MASTER" {
		t.Fatalf("after restart: a2 %s b %s", a2.state(t), b.state(t))
	}
	if len(env2.addrs.Addresses(2)) != 0 {
		t.Fatal("a2 added VIPs in maintenance")
	}
	if err := a2.d.SetMaintenance(context.Background(), "web", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a2 master again (preempt)", 2*time.Second, func() bool { return a2.state(t) == "MASTER" })
	waitFor(t, "b backup again", 2*time.Second, func() bool { return b.state(t) == "BACKUP" })
}
