package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/labnet"
)

// pair is one implementation running on nodes A and B.
type pair interface {
	// start starts the daemon on node i (0: A, 1: B).
	start(i int) error
	// state returns node i's VRRP state, "MASTER" or "BACKUP" ("" while
	// unknown).
	state(ctx context.Context, i int) string
	// takeover returns when B became master after the fault, if it has.
	takeover(ctx context.Context, fault time.Time) (time.Time, bool)
	// reports returns, per VIP, what B says about it (vipd only).
	reports(ctx context.Context) map[netip.Addr]vipReport
	// check returns an error if B's daemon (or A's before the fault) has
	// exited.
	check(faulted bool) error
	// stop kills the daemons.
	stop()
	// logs returns the daemons' output, for errors.
	logs() string
	// save writes the daemons' configurations and output, and what else
	// the implementation can tell, to dir, each file name starting with
	// prefix.
	save(ctx context.Context, dir, prefix string) error
}

// statusTimeout bounds one control-socket call.
const statusTimeout = time.Second

// vipdPair runs this binary on both nodes. Its methods are called from
// one goroutine.
type vipdPair struct {
	exe     string
	nodes   [2]*labnet.Host
	configs [2]string
	sockets [2]string
	procs   [2]*proc
	// every is the least time between two status calls to a node: the
	// status of 4096 VIPs is over a megabyte of JSON, and polling it fast
	// would load the daemon being measured. The takeover time comes from
	// the daemon's own time stamp, so polling slowly costs no precision.
	every time.Duration
	cache [2]cachedStatus
}

type cachedStatus struct {
	at time.Time
	in control.InstanceStatus
	ok bool
}

func newVipdPair(exe, dir string, nodes [2]*labnet.Host, cs [2]nodeConfig) (*vipdPair, error) {
	return newVipdPairWith(exe, dir, nodes, cs, vipdConfig)
}

// newVipdPairWith is newVipdPair with the configurations rendered by
// render.
func newVipdPairWith(exe, dir string, nodes [2]*labnet.Host, cs [2]nodeConfig, render func(nodeConfig) string) (*vipdPair, error) {
	v := &vipdPair{exe: exe, nodes: nodes, every: statusEvery(len(cs[0].VIPs))}
	for i, c := range cs {
		v.sockets[i] = c.Socket
		v.configs[i] = filepath.Join(dir, "vipd-"+c.Node+".yaml")
		if err := os.WriteFile(v.configs[i], []byte(render(c)), 0o644); err != nil {
			return nil, fmt.Errorf("lab: write config: %w", err)
		}
	}
	return v, nil
}

func (v *vipdPair) start(i int) error {
	h := v.nodes[i]
	p, err := startProc(h.NS, "vipd on "+h.Name, nil, v.exe, "run", "--config", v.configs[i])
	if err != nil {
		return err
	}
	v.procs[i] = p
	return nil
}

// status asks node i's daemon for its status, raw and decoded.
func (v *vipdPair) status(ctx context.Context, i int) (control.Status, json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	req, err := control.NewRequest(control.CommandStatus, nil)
	if err != nil {
		return control.Status{}, nil, err
	}
	resp, err := control.Call(ctx, v.sockets[i], req)
	if err != nil {
		return control.Status{}, nil, err
	}
	var st control.Status
	if err := resp.Decode(&st); err != nil {
		return control.Status{}, nil, err
	}
	return st, resp.Data, nil
}

func (v *vipdPair) instance(ctx context.Context, i int) (control.InstanceStatus, bool) {
	if c := v.cache[i]; !c.at.IsZero() && time.Since(c.at) < v.every {
		return c.in, c.ok
	}
	c := cachedStatus{at: time.Now()}
	if st, _, err := v.status(ctx, i); err == nil {
		for _, in := range st.Instances {
			if in.Name == instanceName {
				c.in, c.ok = in, true
			}
		}
	}
	v.cache[i] = c
	return c.in, c.ok
}

func (v *vipdPair) state(ctx context.Context, i int) string {
	in, _ := v.instance(ctx, i)
	return in.State
}

func (v *vipdPair) takeover(ctx context.Context, fault time.Time) (time.Time, bool) {
	in, ok := v.instance(ctx, 1)
	if !ok || in.State != "MASTER" {
		return time.Time{}, false
	}
	if t := in.Counters.LastTransition; in.Counters.LastTransitionTo == "MASTER" && t.After(fault) {
		return t, true // the daemon's own time stamp: same clock, no polling delay
	}
	return time.Now(), true
}

func (v *vipdPair) reports(ctx context.Context) map[netip.Addr]vipReport {
	_, raw, err := v.status(ctx, 1)
	if err != nil {
		return nil
	}
	return fromStatus(raw)
}

func (v *vipdPair) check(faulted bool) error {
	for i, p := range v.procs {
		if p != nil && p.exited() && (i == 1 || !faulted) {
			return p.failure()
		}
	}
	return nil
}

func (v *vipdPair) stop() {
	for _, p := range v.procs {
		if p != nil {
			p.kill()
		}
	}
}

func (v *vipdPair) logs() string { return pairLogs(v.procs) }

func pairLogs(ps [2]*proc) string {
	var s string
	for _, p := range ps {
		if p != nil {
			s += "--- " + p.name + " ---\n" + p.output()
		}
	}
	return s
}

// keepalived logs these on every transition of an instance.
const (
	kaMaster = "Entering MASTER STATE"
	kaBackup = "Entering BACKUP STATE"
)

// keepalivedPair runs keepalived on both nodes.
type keepalivedPair struct {
	dir     string
	nodes   [2]*labnet.Host
	configs [2]labnet.KeepalivedConfig
	files   [2]string
	procs   [2]*proc
}

func newKeepalivedPair(dir string, nodes [2]*labnet.Host, cs [2]nodeConfig) (*keepalivedPair, error) {
	k := &keepalivedPair{dir: dir, nodes: nodes}
	for i, c := range cs {
		k.configs[i] = keepalivedConfig(c)
		text, err := k.configs[i].Render()
		if err != nil {
			return nil, fmt.Errorf("lab: keepalived config: %w", err)
		}
		k.files[i] = filepath.Join(dir, "keepalived-"+c.Node+".conf")
		if err := os.WriteFile(k.files[i], []byte(text), 0o644); err != nil {
			return nil, fmt.Errorf("lab: write config: %w", err)
		}
	}
	return k, nil
}

func (k *keepalivedPair) start(i int) error {
	h := k.nodes[i]
	base := filepath.Join(k.dir, "keepalived-"+h.Name)
	// VRRP only, in the foreground, logging to the console (as
	// labnet.StartKeepalived does), with our own pid files.
	p, err := startProc(h.NS, "keepalived on "+h.Name, []string{kaMaster, kaBackup}, "keepalived",
		"-n", "-l", "-D", "-G", "-P", "-f", k.files[i], "-p", base+".pid", "-r", base+"-vrrp.pid")
	if err != nil {
		return err
	}
	k.procs[i] = p
	return nil
}

// last returns the latest of the marked lines among states on node i, ""
// if none.
func (k *keepalivedPair) last(i int) string {
	p := k.procs[i]
	if p == nil {
		return ""
	}
	tm, okM := p.latest(kaMaster)
	tb, okB := p.latest(kaBackup)
	switch {
	case okM && (!okB || tm.After(tb)):
		return kaMaster
	case okB:
		return kaBackup
	}
	return ""
}

func (k *keepalivedPair) state(_ context.Context, i int) string {
	switch k.last(i) {
	case kaMaster:
		return "MASTER"
	case kaBackup:
		return "BACKUP"
	}
	return ""
}

func (k *keepalivedPair) takeover(_ context.Context, fault time.Time) (time.Time, bool) {
	if k.procs[1] == nil {
		return time.Time{}, false
	}
	return k.procs[1].firstAfter(kaMaster, fault)
}

func (k *keepalivedPair) reports(context.Context) map[netip.Addr]vipReport { return nil }

func (k *keepalivedPair) check(faulted bool) error {
	for i, p := range k.procs {
		if p != nil && p.exited() && (i == 1 || !faulted) {
			return p.failure()
		}
	}
	return nil
}

func (k *keepalivedPair) stop() {
	for _, p := range k.procs {
		if p != nil {
			p.kill()
		}
	}
}

func (k *keepalivedPair) logs() string { return pairLogs(k.procs) }

func (v *vipdPair) save(ctx context.Context, dir, prefix string) error {
	var files []savedFile
	for i, h := range v.nodes {
		files = append(files, savedFile{name: h.Name + ".yaml", from: v.configs[i]})
		if v.procs[i] != nil {
			files = append(files, savedFile{name: h.Name + ".log", data: v.procs[i].output()})
		}
	}
	if _, raw, err := v.status(ctx, 1); err == nil {
		files = append(files, savedFile{name: "b-status.json", data: string(raw)})
	}
	return saveFiles(dir, prefix, files)
}

func (k *keepalivedPair) save(_ context.Context, dir, prefix string) error {
	var files []savedFile
	for i, h := range k.nodes {
		files = append(files, savedFile{name: h.Name + ".conf", from: k.files[i]})
		if k.procs[i] != nil {
			files = append(files, savedFile{name: h.Name + ".log", data: k.procs[i].output()})
		}
	}
	return saveFiles(dir, prefix, files)
}

// savedFile is a file for saveFiles: a copy of from, or data.
type savedFile struct {
	name, from, data string
}

func saveFiles(dir, prefix string, files []savedFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	for _, f := range files {
		data := []byte(f.data)
		if f.from != "" {
			b, err := os.ReadFile(f.from)
			if err != nil {
				return fmt.Errorf("lab: %w", err)
			}
			data = b
		}
		if err := os.WriteFile(filepath.Join(dir, prefix+f.name), data, 0o644); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
	}
	return nil
}
