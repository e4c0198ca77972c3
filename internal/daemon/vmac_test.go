package daemon

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/netmon/netmontest"
	"github.com/vipd/vipd/internal/statedir"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/transport/transporttest"
	"github.com/vipd/vipd/internal/vmac"
)

// fakeVMACs keeps virtual MAC interfaces as links of the fake kernel.
type fakeVMACs struct {
	k    *netmontest.Fake
	left []vmac.Spec

	mu      sync.Mutex
	deleted []string
	parents []string
}

func (f *fakeVMACs) Ensure(s vmac.Spec) (int, error) {
	if l, ok := f.k.Link(s.Name); ok {
		return l.Index, nil
	}
	l := f.k.AddLink(s.Name)
	f.k.SetUp(s.Name, false)
	return l.Index, nil
}
func (f *fakeVMACs) SetUp(s vmac.Spec, up bool) error {
	if _, ok := f.k.Link(s.Name); !ok {
		return errors.New("no such link")
	}
	f.k.SetUp(s.Name, up)
	return nil
}
func (f *fakeVMACs) Delete(s vmac.Spec) error {
	f.mu.Lock()
	f.deleted = append(f.deleted, s.Name)
	f.mu.Unlock()
	f.k.DeleteLink(s.Name)
	return nil
}
func (f *fakeVMACs) Leftovers() ([]vmac.Spec, error) { return f.left, nil }
func (f *fakeVMACs) PrepareParent(ifname string) (vmac.Restore, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parents = append(f.parents, ifname)
	return vmac.Restore{Parent: ifname}, nil
}
func (f *fakeVMACs) OpenWriter(string, bool) (transport.Writer, error) {
	return nil, errors.New("no raw sockets here")
}

func (f *fakeVMACs) deletes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.deleted)
}

// The daemon records an instance's virtual MAC interface before its
// Presenter may create it, removes at start only the recorded leftovers,
// puts the VIPs on the interface while master and removes it on stop.
func TestVirtualMACDaemon(t *testing.T) {
	dir := t.TempDir()
	rec := statedir.VMACRecord{Links: []statedir.VMACLink{{Name: "vrrp4-42", MAC: vmac.MAC(42, false).String()}}}
	if err := statedir.SaveVMAC(dir, rec); err != nil {
		t.Fatal(err)
	}
	env := newFakeEnv(transporttest.NewNetwork(nil), 2, "02:00:00:00:00:0a", "192.0.2.11")
	fv := &fakeVMACs{k: env.kernel, left: []vmac.Spec{
		{Name: "vrrp4-42", MAC: vmac.MAC(42, false), Parent: 2},
		{Name: "vrrp4-7", MAC: vmac.MAC(7, false), Parent: 2}, // not recorded: someone else's
	}}
	env.vmacs = fv
	cfg := testConfig(t, 200, true)
	cfg.StateDir = dir
	cfg.Instances[0].VirtualMAC = true

	d, err := New(Options{Config: cfg, Env: env, NoControl: true, Logger: failureLog(t, "a")})
	if err != nil {
		t.Fatal(err)
	}
	if got := fv.deletes(); !slices.Equal(got, []string{"vrrp4-42"}) {
		t.Fatalf("deleted at start %v, want the recorded leftover only", got)
	}
	if r, err := statedir.LoadVMAC(dir); err != nil || len(r.Links) != 1 || r.Links[0].Name != "vrrp4-42" {
		t.Fatalf("record after start %+v, %v", r, err)
	}
	n := runNode(t, env, d)
	waitFor(t, "master with the VIPs on vrrp4-42", 2*time.Second, func() bool {
		l, ok := env.kernel.Link("vrrp4-42")
		return n.state(t) == "MASTER" && ok && l.Up && len(env.addrs.Addresses(l.Index)) == 2
	})
	if got := env.addrs.Addresses(2); len(got) != 0 {
		t.Errorf("VIPs on the parent: %v", got)
	}
	n.stop(t)
	if _, ok := env.kernel.Link("vrrp4-42"); ok {
		t.Error("vrrp4-42 left after the stop")
	}
	if r, err := statedir.LoadVMAC(dir); err != nil || !r.Empty() {
		t.Errorf("record after the stop %+v, %v", r, err)
	}
}
