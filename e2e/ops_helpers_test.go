package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/labnet"
)

// opsInstance is one instance of an opsConfig.
type opsInstance struct {
	name   string
	vrid   int
	prio   int
	advert string
	vips   []netip.Addr
	bits   int
	extra  string // raw YAML lines of the instance (checks:, notify:), 4-space indented
}

// opsConfig renders a vipd config with a private state directory (never
// /var/lib/vipd) and optional metrics.
type opsConfig struct {
	node     string
	stateDir string
	metrics  string // metrics_listen, "" for none
	insts    []opsInstance
}

func (c opsConfig) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: %s\ncontrol_socket: @SOCKET@\nstate_dir: %s\n", c.node, c.stateDir)
	if c.metrics != "" {
		fmt.Fprintf(&b, "metrics_listen: %s\n", c.metrics)
	}
	b.WriteString("instances:\n")
	for _, in := range c.insts {
		fmt.Fprintf(&b, "  - name: %s\n    interface: @IFACE@\n    vrid: %d\n    priority: %d\n    advert_interval: %s\n",
			in.name, in.vrid, in.prio, in.advert)
		b.WriteString(in.extra)
		b.WriteString("    vips:\n")
		for _, a := range in.vips {
			fmt.Fprintf(&b, "      - %s/%d\n", a, in.bits)
		}
	}
	return b.String()
}

// writeConfig replaces a node's configuration file (for a reload), with the
// same substitutions as newVipdNode.
func writeConfig(t *testing.T, n *vipdNode, config string) {
	t.Helper()
	config = strings.ReplaceAll(config, "@SOCKET@", n.socket)
	config = strings.ReplaceAll(config, "@IFACE@", n.host.Iface)
	tmp := n.config + ".tmp"
	if err := os.WriteFile(tmp, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, n.config); err != nil {
		t.Fatal(err)
	}
}

// cli runs a vipd client command against n's socket inside n's namespace
// and returns its standard output and standard error.
func (n *vipdNode) cli(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := n.host.Command(ctx, vipdBin, append(args, "--socket", n.socket)...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// mustCLI is cli that fails the test on an error.
func (n *vipdNode) mustCLI(args ...string) string {
	n.t.Helper()
	out, errOut, err := n.cli(args...)
	if err != nil {
		n.t.Fatalf("vipd %s on %s: %v\n%s%s", strings.Join(args, " "), n.host.Name, err, out, errOut)
	}
	return out
}

// ctlStatus asks the daemon over its control socket, from the test
// process: cheaper than a `vipd status` process, which matters when the
// machine is busy and a state is polled every 20 ms.
func (n *vipdNode) ctlStatus() (control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := control.NewRequest(control.CommandStatus, nil)
	if err != nil {
		return control.Status{}, err
	}
	resp, err := control.Call(ctx, n.socket, req)
	if err != nil {
		return control.Status{}, err
	}
	var st control.Status
	return st, resp.Decode(&st)
}

// awaitState waits until instance is in state, asking over the control
// socket.
func (n *vipdNode) awaitState(instance, state string, within time.Duration) {
	n.t.Helper()
	waitFor(n.t, fmt.Sprintf("%s/%s %s", n.host.Name, instance, state), within, func() bool {
		in, ok := n.instanceStatus(instance)
		return ok && in.State == state
	})
}

// instanceStatus returns the status of one instance, or false.
func (n *vipdNode) instanceStatus(name string) (control.InstanceStatus, bool) {
	st, err := n.ctlStatus()
	if err != nil {
		return control.InstanceStatus{}, false
	}
	for _, in := range st.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return control.InstanceStatus{}, false
}

// eventLog collects a daemon's events, either from the control socket
// directly (subscribe) or from `vipd events --json` (eventsCLI).
type eventLog struct {
	mu     sync.Mutex // guards events and err
	events []control.Event
	err    error // why the stream ended, if it did
}

func (l *eventLog) add(e control.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// end records why the stream ended (the first reason given).
func (l *eventLog) end(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
}

func (l *eventLog) snapshot() ([]control.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events), l.err
}

// wait returns the first event that matches, waiting for it at most within.
func (l *eventLog) wait(t *testing.T, what string, within time.Duration, match func(control.Event) bool) control.Event {
	t.Helper()
	var found control.Event
	waitFor(t, what, within, func() bool {
		evs, _ := l.snapshot()
		for _, e := range evs {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// dump formats every event, for failure messages.
func (l *eventLog) dump() string {
	evs, err := l.snapshot()
	var b strings.Builder
	for _, e := range evs {
		control.RenderEvent(&b, e)
	}
	if err != nil {
		fmt.Fprintf(&b, "(stream ended: %v)\n", err)
	}
	return b.String()
}

// subscribe streams n's events through the control socket. It returns once
// the daemon has confirmed the subscription (the stream's empty first
// reply), so no later event is missed.
func (n *vipdNode) subscribe(t *testing.T) *eventLog {
	t.Helper()
	l := &eventLog{}
	ctx, cancel := context.WithCancel(context.Background())
	open := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := control.NewRequest(control.CommandEvents, nil)
		first := true
		err := control.Stream(ctx, n.socket, req, func(r control.Response) error {
			if err := r.Err(); err != nil {
				return err
			}
			if first {
				first = false
				close(open)
				return nil
			}
			var e control.Event
			if err := r.Decode(&e); err != nil {
				return err
			}
			l.add(e)
			return nil
		})
		l.end(err)
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-open:
	case <-done:
		_, err := l.snapshot()
		t.Fatalf("events of %s: %v", n.host.Name, err)
	case <-time.After(5 * time.Second):
		t.Fatalf("events of %s: the stream did not open", n.host.Name)
	}
	return l
}

// eventsCLI runs `vipd events --json` in n's namespace until the test ends
// and collects the lines it prints. The command prints nothing before the
// first event: the caller needs its own barrier to know it is connected.
func (n *vipdNode) eventsCLI(t *testing.T) *eventLog {
	t.Helper()
	l := &eventLog{}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := n.host.Command(ctx, vipdBin, "events", "--json", "--socket", n.socket)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e control.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				l.end(fmt.Errorf("vipd events --json printed a line that is not an event: %q: %w", sc.Text(), err))
				continue
			}
			l.add(e)
		}
		err := cmd.Wait()
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%v: %s", err, msg)
		}
		l.end(err)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// serveTCP runs a TCP service on addr inside h's namespace: it accepts and
// closes every connection. The returned function stops it.
func serveTCP(t *testing.T, h *labnet.Host, addr string) (stop func()) {
	t.Helper()
	var ln net.Listener
	err := h.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("service on %s in %s: %v", addr, h.Name, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { ln.Close(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics is one scrape.
type metrics []sample

// get returns the value of the series name whose labels include want.
func (m metrics) get(name string, want map[string]string) (float64, bool) {
	for _, s := range m {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if s.labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return s.value, true
		}
	}
	return 0, false
}

// scrape fetches http://addr/metrics from inside h's namespace. The
// connection is opened on the namespace's thread (net/http would dial from
// another goroutine, outside the namespace).
func scrape(h *labnet.Host, addr string) (metrics, error) {
	var conn net.Conn
	err := h.Do(func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	req.Close = true
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s: %s", resp.Status, body)
	}
	return parseMetrics(string(body))
}

// parseMetrics reads the Prometheus text exposition format (version 0.0.4).
func parseMetrics(text string) (metrics, error) {
	var out metrics
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w: %q", i+1, err, line)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	rest := line
	if i := strings.IndexAny(rest, "{ "); i < 0 {
		return s, errors.New("no value")
	} else {
		s.name, rest = rest[:i], rest[i:]
	}
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, ", ")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, "=\"")
			if eq < 0 {
				return s, errors.New("bad label")
			}
			key := rest[:eq]
			rest = rest[eq+2:]
			var v strings.Builder
			for {
				if rest == "" {
					return s, errors.New("unterminated label value")
				}
				c := rest[0]
				rest = rest[1:]
				if c == '\\' && rest != "" {
					switch rest[0] {
					case 'n':
						v.WriteByte('\n')
					default:
						v.WriteByte(rest[0])
					}
					rest = rest[1:]
					continue
				}
				if c == '"' {
					break
				}
				v.WriteByte(c)
			}
			s.labels[key] = v.String()
		}
	}
	f := strings.Fields(rest)
	if len(f) < 1 {
		return s, errors.New("no value")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, err
	}
	s.value = v
	return s, nil
}

// clientOutage is how long the client saw a VIP dark after an instant: from
// the first unanswered probe to the first reply after the last one (zero
// when no probe was lost). Its precision is the probe interval.
func clientOutage(r labnet.VIPResult) time.Duration {
	if r.FirstLoss.IsZero() {
		return 0
	}
	if !r.Recovered {
		return r.Outage
	}
	return r.Recovery.Sub(r.FirstLoss)
}

// waitRecovered waits until every VIP's probes after since are answered
// again, then returns the results.
func waitRecovered(t *testing.T, p *labnet.Prober, since time.Time, within time.Duration) []labnet.VIPResult {
	t.Helper()
	var rs []labnet.VIPResult
	waitFor(t, "the client reaches every VIP again", within, func() bool {
		rs = p.Results(since)
		for _, r := range rs {
			if !r.Recovered || r.Sent == 0 {
				return false
			}
		}
		return true
	})
	return rs
}

// masterDown is RFC 5798's Master_Down_Interval of a backup with priority
// prio: 3 × Master_Adver_Interval + Skew_Time.
func masterDown(prio int, advert time.Duration) time.Duration {
	return 3*advert + time.Duration(256-prio)*advert/256
}

// stateEvent matches a transition of instance to state.
func stateEvent(instance, to string) func(control.Event) bool {
	return func(e control.Event) bool {
		return e.Type == control.EventState && e.Instance == instance && e.Fields["to"] == to
	}
}

// quickExit stops the race detector's one-second sleep at the exit of
// every vipd process this test starts (GORACE atexit_sleep_ms, default
// 1000): without it each `vipd status` or `vipd reload` takes a second
// longer, and polling the daemon's state is that coarse. Races are still
// reported.
func quickExit(t *testing.T) {
	v := "atexit_sleep_ms=0"
	if old := os.Getenv("GORACE"); old != "" {
		v = old + " " + v
	}
	t.Setenv("GORACE", v)
}

// window waits until d has passed since an instant: the probes sent in it
// are what a measurement looks at.
func window(t *testing.T, since time.Time, d time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%v of probes", d), d+time.Second, func() bool { return time.Since(since) >= d })
}

// exitCode is a command's exit status: 0 for success, -1 when it did not
// run to an exit.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// softnetDrops is the number of packets the kernel dropped because a CPU's
// input backlog was full (net.core.netdev_max_backlog), summed over the
// CPUs. The backlog is shared by every network namespace: another test's
// burst (thousands of gratuitous ARPs) drops our lab's packets too.
func softnetDrops() uint64 {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	var n uint64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 16, 64); err == nil {
			n += v
		}
	}
	return n
}

// cpuStall is the time tasks spent waiting for a CPU, from the kernel's
// pressure stall information (/proc/pressure/cpu, "some" total); false
// without PSI.
func cpuStall() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "some ") {
			continue
		}
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				us, err := strconv.ParseUint(v, 10, 64)
				return time.Duration(us) * time.Microsecond, err == nil
			}
		}
	}
	return 0, false
}

// maxCPUPressure is the share of a window during which some task waited
// for a CPU above which timings of tens of milliseconds say more about the
// machine than about vipd.
const maxCPUPressure = 0.25

// noise tells whether something outside vipd disturbed a measurement:
// backlog drops anywhere on the machine, lost probes to a control address
// that vipd never touches, or CPUs too busy for timings in milliseconds.
type noise struct {
	start   time.Time
	drops0  uint64
	stall0  time.Duration
	psi     bool
	control netip.Addr // invalid: none
}

func watchNoise(control netip.Addr) noise {
	n := noise{start: time.Now(), drops0: softnetDrops(), control: control}
	n.stall0, n.psi = cpuStall()
	return n
}

// check returns a description of the noise since the watch began (probes:
// since the instant), "" when there was none.
func (n noise) check(p *labnet.Prober, since time.Time) string {
	var why []string
	if d := softnetDrops() - n.drops0; d > 0 {
		why = append(why, fmt.Sprintf("the kernel dropped %d packets on full input backlogs", d))
	}
	if stall, ok := cpuStall(); ok && n.psi {
		if share := float64(stall-n.stall0) / float64(time.Since(n.start)); share > maxCPUPressure {
			why = append(why, fmt.Sprintf("tasks waited for a CPU %.0f%% of the time", 100*share))
		}
	}
	if p != nil && n.control.IsValid() {
		for _, r := range p.Results(since) {
			if r.VIP == n.control && r.Received < r.Sent {
				why = append(why, fmt.Sprintf("the control address %s lost %d/%d probes", n.control, r.Sent-r.Received, r.Sent))
			}
		}
	}
	return strings.Join(why, "; ")
}

// bound checks a measured duration against its limit. Over the limit, it
// is an error unless noise explains it; then it is logged.
func bound(t *testing.T, nz noise, p *labnet.Prober, since time.Time, what string, got, limit time.Duration) {
	t.Helper()
	if got <= limit {
		return
	}
	if why := nz.check(p, since); why != "" {
		t.Logf("%s: %v, over the limit of %v — not counted: %s", what, got.Round(time.Millisecond), limit, why)
		return
	}
	t.Errorf("%s: %v, want at most %v", what, got.Round(time.Millisecond), limit)
}

// noiseGap is the longest gap between replies a VIP may show in a window
// with noise: environmental loss is sporadic, while vipd taking a VIP away
// (a restart of its instance: priority 0, removal, Master_Down_Interval,
// re-adding) darkens it for at least a Master_Down_Interval.
const noiseGap = 250 * time.Millisecond

// clientView sums up what the client saw of every VIP since an instant: the
// longest run of lost probes, the longest gap between replies, and (as
// words, "" when none) how far the client itself fell behind its schedule.
// A gap without loss is the client's stall on a busy machine, not vipd's:
// assertions use the loss, logs show all three.
func clientView(p *labnet.Prober, since time.Time) (loss, gap time.Duration, lag string) {
	var worst labnet.VIPResult
	for _, r := range p.Results(since) {
		if r.LongestLoss > loss {
			loss, worst = r.LongestLoss, r
		}
		gap = max(gap, r.MaxGap)
	}
	if loss > 0 {
		lag = fmt.Sprintf("; the longest loss (%s) began %v after the instant",
			worst.VIP, worst.LongestLossAt.Sub(since).Round(time.Millisecond))
	}
	if d, at := p.Lag(since); d > 0 {
		lag += fmt.Sprintf("; the client fell %v behind its schedule %v after the instant",
			d.Round(time.Millisecond), at.Sub(since).Round(time.Millisecond))
	}
	return loss, gap, lag
}

// assertNoLoss checks that every probe to addrs sent after since was
// answered. When noise explains losses, it only checks that no VIP went
// dark for longer than noiseGap, and logs what happened.
func assertNoLoss(t *testing.T, p *labnet.Prober, nz noise, since time.Time, addrs []netip.Addr, what string) {
	t.Helper()
	var lost []labnet.VIPResult
	sent := 0
	for _, r := range p.Results(since) {
		if !slices.Contains(addrs, r.VIP) {
			continue
		}
		sent += r.Sent
		if r.Sent == 0 {
			t.Errorf("%s: no probe to %s in the window", what, r.VIP)
		}
		if r.Received < r.Sent {
			lost = append(lost, r)
		}
	}
	if len(lost) == 0 {
		t.Logf("%s: %d VIPs answered all %d probes", what, len(addrs), sent)
		return
	}
	why := nz.check(p, since)
	for _, r := range lost {
		msg := fmt.Sprintf("%s: %s: %d/%d probes answered, first loss %v after the instant, longest loss %v (gap %v)",
			what, r.VIP, r.Received, r.Sent, r.FirstLoss.Sub(since).Round(time.Millisecond),
			r.LongestLoss.Round(time.Millisecond), r.MaxGap.Round(time.Millisecond))
		switch {
		case why == "":
			t.Error(msg)
		case r.LongestLoss > noiseGap:
			t.Errorf("%s (noise: %s, but a gap over %v is vipd's)", msg, why, noiseGap)
		default:
			t.Logf("%s — not counted: %s", msg, why)
		}
	}
}

// stateOf is an instance's state, "" when the daemon does not answer.
func stateOf(n *vipdNode, instance string) string {
	in, _ := n.instanceStatus(instance)
	return in.State
}
