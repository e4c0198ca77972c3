package health

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// waitDelay bounds how long an exec check waits for its output pipes to
// close after the shell has exited or the timeout has hit: a background
// process that keeps them open cannot hold up the check.
const waitDelay = 250 * time.Millisecond

// ProbeExec passes if "/bin/sh -c c.Target" exits with status 0. The
// command runs in a process group of its own, with stdin from /dev/null,
// VIPD_CHECK set to the check's name and the daemon's environment; on
// timeout the whole group is killed, and whatever the command left
// running is killed when it ends. The first 512 bytes of its output
// (stdout and stderr) go into the error.
func ProbeExec(ctx context.Context, c config.Check) error {
	var out capture
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Target)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "VIPD_CHECK="+c.Name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if cmd.Process != nil {
		_ = killGroup(cmd.Process.Pid) // leftovers: background processes of the command
	}
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		return nil // passed, but left a process holding its output open
	}
	if ctx.Err() != nil {
		return withOutput(errors.New("process group killed"), &out)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return withOutput(fmt.Errorf("%w: %s", ErrExit, exit.ProcessState), &out)
	}
	return withOutput(err, &out)
}

func withOutput(err error, out *capture) error {
	if s := out.text(); s != "" {
		return fmt.Errorf("%w: %s", err, s)
	}
	return err
}

// killGroup kills the process group led by pid.
func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
