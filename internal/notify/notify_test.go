package notify

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// records is a slog.Handler that keeps every record with its attributes
// flattened to key=value strings.
type records struct {
	mu    *sync.Mutex // shared by the handlers WithAttrs derives; guards *list
	list  *[]map[string]string
	attrs []slog.Attr
}

func newRecords() *records { return &records{mu: new(sync.Mutex), list: new([]map[string]string)} }

func (r *records) Enabled(context.Context, slog.Level) bool { return true }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message, "level": rec.Level.String()}
	for _, a := range r.attrs {
		m[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	*r.list = append(*r.list, m)
	r.mu.Unlock()
	return nil
}

func (r *records) WithAttrs(as []slog.Attr) slog.Handler {
	return &records{mu: r.mu, list: r.list, attrs: append(append([]slog.Attr(nil), r.attrs...), as...)}
}

func (r *records) WithGroup(string) slog.Handler { return r }

// all returns the records whose msg is msg.
func (r *records) all(msg string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, m := range *r.list {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// within runs fn and fails the test if it does not return in time.
func within(t *testing.T, what string, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		fn()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

func TestHooksInOrder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "log")
	rec := newRecords()
	n := New(config.Notify{
		Master:  "echo master-hook >> " + file,
		Fault:   "echo fault-hook $2 >> " + file,
		Stop:    "echo stop-hook >> " + file,
		Any:     `echo "any $1 $2 $3 env $VIPD_INSTANCE $VIPD_STATE $VIPD_PRIORITY $VIPD_REASON $VIPD_NODE $VIPD_HOOK" >> ` + file,
		Timeout: 10 * time.Second,
	}, "web", "a", slog.New(rec))
	n.Transition("BACKUP", 100, "startup")
	n.Transition("MASTER", 150, "master_down_timer")
	n.Transition("FAULT", 150, "fault")
	n.Transition("Bogus", 7, "")
	n.Transition("INIT", 150, "shutdown")
	within(t, "Close", 30*time.Second, n.Close)

	want := []string{
		"any web backup 100 env web backup 100 startup a any",
		"master-hook",
		"any web master 150 env web master 150 master_down_timer a any",
		"fault-hook fault",
		"any web fault 150 env web fault 150 fault a any",
		"any web bogus 7 env web bogus 7  a any",
		"stop-hook",
		"any web stop 150 env web stop 150 shutdown a any",
	}
	if got := readLines(t, file); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hooks ran:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ran := rec.all("notify: hook ran")
	if len(ran) != len(want) {
		t.Errorf("%d 'hook ran' records, want %d: %v", len(ran), len(want), ran)
	}
	for _, r := range ran {
		if r["instance"] != "web" || r["hook"] == "" || r["state"] == "" {
			t.Errorf("record without keys: %v", r)
		}
	}
	// After Close: ignored, and Close again returns.
	n.Transition("MASTER", 1, "")
	within(t, "second Close", 10*time.Second, n.Close)
	if got := readLines(t, file); len(got) != len(want) {
		t.Errorf("a transition after Close ran: %v", got)
	}
}

func TestNoHooks(t *testing.T) {
	n := New(config.Notify{}, "web", "a", nil)
	n.Transition("MASTER", 100, "x")
	within(t, "Close", 10*time.Second, n.Close)
	// Only a specific hook, and a transition without one.
	file := filepath.Join(t.TempDir(), "log")
	n = New(config.Notify{Backup: "echo b >> " + file}, "web", "a", nil)
	n.Transition("MASTER", 100, "x")
	n.Transition("BACKUP", 100, "x")
	within(t, "Close", 10*time.Second, n.Close)
	if got := readLines(t, file); len(got) != 1 || got[0] != "b" {
		t.Errorf("ran %v", got)
	}
}

// blockers makes FIFOs a hook reads from ("read x < DIR/$3"), named by
// key (here the priority): the hook blocks until the test releases its
// FIFO. One FIFO per run, so that a release cannot be taken by another.
type blockers struct {
	t   *testing.T
	dir string
}

func newBlockers(t *testing.T, keys ...string) *blockers {
	b := &blockers{t: t, dir: t.TempDir()}
	for _, k := range keys {
		if err := syscall.Mkfifo(filepath.Join(b.dir, k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// release lets the hook blocked on FIFO key go on.
func (b *blockers) release(key string) { b.started(key)() }

// started returns once the hook reading FIFO key has opened it, that is,
// once it runs; calling the function returned lets it go on.
func (b *blockers) started(key string) (release func()) {
	t := b.t
	t.Helper()
	var f *os.File
	within(t, "waiting for hook "+key, 10*time.Second, func() {
		var err error
		f, err = os.OpenFile(filepath.Join(b.dir, key), os.O_WRONLY, 0) // blocks until the hook opens it
		if err != nil {
			t.Error(err)
		}
	})
	return func() {
		if f != nil {
			f.WriteString("go\n")
			f.Close()
		}
	}
}

func TestSlowHookDoesNotBlock(t *testing.T) {
	b := newBlockers(t, "150", "151")
	file := filepath.Join(t.TempDir(), "log")
	n := New(config.Notify{
		Master:  `read x < ` + b.dir + `/$3; echo master-done-$3 >> ` + file,
		Backup:  "echo backup >> " + file,
		Timeout: time.Minute,
	}, "web", "a", nil)
	// The master hook blocks on the FIFO; Transition returns anyway, and
	// so do the ones queued behind it.
	within(t, "Transition", 5*time.Second, func() {
		n.Transition("MASTER", 150, "x")
		n.Transition("BACKUP", 100, "y")
		n.Transition("MASTER", 151, "z")
	})
	if _, err := os.Stat(file); err == nil {
		t.Fatalf("a hook ran before the blocked one finished: %v", readLines(t, file))
	}
	b.release("150")
	b.release("151") // the second master run blocks too
	within(t, "Close", 30*time.Second, n.Close)
	if got := strings.Join(readLines(t, file), ","); got != "master-done-150,backup,master-done-151" {
		t.Errorf("order %s", got)
	}
}

func TestTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	rec := newRecords()
	n := New(config.Notify{
		Any:     "echo $$ > " + pidFile + "; sleep 30 & echo $! >> " + pidFile + "; echo waiting; wait",
		Timeout: 300 * time.Millisecond,
	}, "web", "a", slog.New(rec))
	n.Transition("MASTER", 150, "x")
	begin := time.Now()
	within(t, "Close", 10*time.Second, n.Close)
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("Close took %v with a 300ms timeout", took)
	}
	if r := rec.all("notify: hook timed out; process group killed"); len(r) != 1 || r[0]["hook"] != "any" || r[0]["instance"] != "web" {
		t.Errorf("timeout records %v", r)
	}
	if r := rec.all("notify: hook output"); len(r) != 1 || r[0]["output"] != "waiting" {
		t.Errorf("output records %v", r)
	}
	for _, line := range readLines(t, pidFile) {
		pid, err := strconv.Atoi(line)
		if err != nil {
			t.Fatal(err)
		}
		gone(t, pid)
	}
}

// gone waits until process pid no longer exists or is a zombie waiting to
// be reaped by its new parent.
func gone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			return
		}
		zombie := false
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "State:") && strings.Contains(sc.Text(), "Z") {
				zombie = true
			}
		}
		f.Close()
		if zombie {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
		time.Sleep(10 * time.Millisecond) // polling the kernel, with a deadline
	}
}

func TestOutputLogged(t *testing.T) {
	rec := newRecords()
	n := New(config.Notify{
		Master: `echo one; echo two >&2; printf 'three\r\nfour'; head -c 5000 /dev/zero | tr '\0' x; echo; exit 3`,
	}, "web", "a", slog.New(rec))
	n.Transition("master", 150, "x")
	within(t, "Close", 10*time.Second, n.Close)
	out := rec.all("notify: hook output")
	var lines []string
	for _, r := range out {
		if r["instance"] != "web" || r["hook"] != "master" {
			t.Errorf("output record without keys: %v", r)
		}
		lines = append(lines, r["output"])
	}
	want := []string{"one", "two", "three", "four" + strings.Repeat("x", maxLine-4)}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("output lines %q", lines)
	}
	if f := rec.all("notify: hook failed"); len(f) != 1 || f[0]["err"] != "exit status 3" || f[0]["state"] != "master" {
		t.Errorf("failure records %v", f)
	}
}

func TestOutputTruncated(t *testing.T) {
	rec := newRecords()
	n := New(config.Notify{Any: "seq 1 1000"}, "web", "a", slog.New(rec))
	n.Transition("backup", 100, "x")
	within(t, "Close", 10*time.Second, n.Close)
	out := rec.all("notify: hook output")
	if len(out) != maxLines || out[0]["output"] != "1" || out[maxLines-1]["output"] != strconv.Itoa(maxLines) {
		t.Errorf("%d output records", len(out))
	}
	if len(rec.all("notify: hook output truncated")) != 1 {
		t.Error("no truncation record")
	}
}

func TestQueueFullDropsOldest(t *testing.T) {
	b := newBlockers(t, "1")
	file := filepath.Join(t.TempDir(), "log")
	rec := newRecords()
	n := New(config.Notify{
		Master:  `read x < ` + b.dir + `/$3`,
		Any:     `echo "$3" >> ` + file,
		Timeout: time.Minute,
	}, "web", "a", slog.New(rec))
	n.Transition("MASTER", 1, "x")
	release := b.started("1") // off the queue, running, and blocked on the FIFO
	const extra = 5
	for i := range queueLen + extra {
		n.Transition("BACKUP", uint8(10+i), "y")
	}
	if d := rec.all("notify: hooks too slow, queue full; dropped the oldest waiting transition"); len(d) != extra || d[0]["priority"] != "10" {
		t.Errorf("drop records %v", d)
	}
	release()
	within(t, "Close", 30*time.Second, n.Close)
	got := readLines(t, file)
	want := []string{"1"}
	for i := extra; i < queueLen+extra; i++ {
		want = append(want, strconv.Itoa(10+i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ran %v\nwant %v", got, want)
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"MASTER": "master", "Backup": "backup", "FAULT": "fault", "INIT": "stop", "initialize": "stop", "stop": "stop", " x ": "x",
	} {
		if got := canonical(in); got != want {
			t.Errorf("canonical(%q) = %q, want %q", in, got, want)
		}
	}
}
