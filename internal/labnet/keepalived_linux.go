package labnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Keepalived is a keepalived process running in a lab host.
type Keepalived struct {
	Host   *Host
	Config KeepalivedConfig // with defaults filled in
	// ConfigFile, PIDFile and VRRPPIDFile are the files it was started with.
	ConfigFile, PIDFile, VRRPPIDFile string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been waited for
	err  error         // Wait's result, set before done closes

	mu  sync.Mutex // guards out
	out bytes.Buffer
}

// StartKeepalived writes c to dir (a test's t.TempDir()) and starts
// keepalived in the host's namespace, VRRP only, in the foreground, logging
// to its console:
//
//	keepalived -n -l -D -G -P -f CONF -p PID -r VRRPPID
//
// The process ends with ctx, Stop or the lab's Close.
func (h *Host) StartKeepalived(ctx context.Context, dir string, c KeepalivedConfig) (*Keepalived, error) {
	c = c.withDefaults(h.Name, h.Iface)
	text, err := c.Render()
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dir, "keepalived-"+h.Name+"-"+c.Instance)
	k := &Keepalived{
		Host: h, Config: c,
		ConfigFile: base + ".conf", PIDFile: base + ".pid", VRRPPIDFile: base + "-vrrp.pid",
		done: make(chan struct{}),
	}
	if err := os.WriteFile(k.ConfigFile, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("labnet: keepalived config: %w", err)
	}
	k.cmd = h.Command(ctx, "keepalived", "-n", "-l", "-D", "-G", "-P",
		"-f", k.ConfigFile, "-p", k.PIDFile, "-r", k.VRRPPIDFile)
	k.cmd.Stdout, k.cmd.Stderr = (*lockedWriter)(k), (*lockedWriter)(k)
	k.cmd.Cancel = func() error { return k.cmd.Process.Signal(syscall.SIGTERM) }
	k.cmd.WaitDelay = 5 * time.Second
	if err := k.cmd.Start(); err != nil {
		return nil, fmt.Errorf("labnet: start keepalived in %s: %w", h.Name, err)
	}
	go func() {
		k.err = k.cmd.Wait()
		close(k.done)
	}()
	return k, nil
}

// lockedWriter collects the process's output.
type lockedWriter Keepalived

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

// Output returns what keepalived logged so far.
func (k *Keepalived) Output() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.out.String()
}

// Done is closed when keepalived has exited.
func (k *Keepalived) Done() <-chan struct{} { return k.done }

// Stop ends keepalived with SIGTERM (it removes its VIPs and sends a
// priority 0 advertisement), and SIGKILL after 5 s. It returns nil for a
// clean exit or an exit through Stop's signal.
func (k *Keepalived) Stop() error {
	select {
	case <-k.done:
	default:
		_ = k.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-k.done:
		case <-time.After(5 * time.Second):
			_ = k.cmd.Process.Kill()
			<-k.done
		}
	}
	var ee *exec.ExitError
	if k.err == nil || (errors.As(k.err, &ee) && !ee.Exited()) {
		return nil
	}
	return fmt.Errorf("labnet: keepalived in %s: %w\n%s", k.Host.Name, k.err, k.Output())
}
