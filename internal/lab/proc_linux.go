package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxOutput bounds the output a proc keeps (its tail); maxMarks the time
// stamps kept per watched string.
const (
	maxOutput = 8 << 20
	maxMarks  = 1000
)

// proc is a daemon running in a lab namespace.
type proc struct {
	name string // "vipd on a"
	cmd  *exec.Cmd
	done chan struct{} // closed when waited for
	err  error         // Wait's result, set before done closes

	mu    sync.Mutex             // guards the fields below
	out   []byte                 // the output's tail
	part  []byte                 // an unfinished line
	marks map[string][]time.Time // per watched substring, when lines with it were written
	watch []string
}

// startProc starts name with args inside namespace ns (ip netns exec, which
// execs it: the pid is the daemon's). The process gets SIGKILL when its
// parent thread ends, so a killed `vipd lab` leaves no daemons behind; the
// thread is locked to a goroutine that lives as long as the process, so no
// other goroutine's thread exit (labnet.Host.Do throws threads away) can
// fire that signal early. Lines of its output containing one of watch are
// time-stamped (see mark).
func startProc(ns, label string, watch []string, name string, args ...string) (*proc, error) {
	p := &proc{name: label, done: make(chan struct{}), marks: map[string][]time.Time{}, watch: watch}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = (*procWriter)(p), (*procWriter)(p)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- fmt.Errorf("lab: start %s: %w", label, err)
			close(p.done)
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

type procWriter proc

func (w *procWriter) Write(b []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out = append(w.out, b...)
	if len(w.out) > maxOutput {
		w.out = append([]byte(nil), w.out[len(w.out)-maxOutput/2:]...)
	}
	if len(w.watch) == 0 {
		return len(b), nil
	}
	w.part = append(w.part, b...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		line := string(w.part[:i])
		w.part = w.part[i+1:]
		for _, s := range w.watch {
			if ts := w.marks[s]; len(ts) < maxMarks && strings.Contains(line, s) {
				w.marks[s] = append(ts, now)
			}
		}
	}
	if len(w.part) > 64<<10 {
		w.part = nil // a line that long is not one we look for
	}
	return len(b), nil
}

// latest returns when a line containing s (one of startProc's watch) was
// last written.
func (p *proc) latest(s string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := p.marks[s]
	if len(ts) == 0 {
		return time.Time{}, false
	}
	return ts[len(ts)-1], true
}

// firstAfter returns when a line containing s was first written after t.
func (p *proc) firstAfter(s string, t time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.marks[s] {
		if m.After(t) {
			return m, true
		}
	}
	return time.Time{}, false
}

// output returns the tail of what the process wrote.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.out)
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// failure describes an unexpected exit, with the tail of the output.
func (p *proc) failure() error {
	out := p.output()
	if len(out) > 4000 {
		out = "..." + out[len(out)-4000:]
	}
	return fmt.Errorf("lab: %s exited: %v\n%s", p.name, p.err, strings.TrimRight(out, "\n"))
}

// kill sends SIGKILL and waits for the process.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// killNamespace SIGKILLs every process whose network namespace is the named
// one (the daemons of a node and their children) and waits until none is
// left. The calling process is never killed.
func killNamespace(ns string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left, err := nsPids(ns)
		if err != nil {
			return err
		}
		for _, pid := range left {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("lab: kill %d in %s: %w", pid, ns, err)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab: processes %v still alive in %s", left, ns)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
