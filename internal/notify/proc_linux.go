package notify

import (
	"os/exec"
	"syscall"
)

// ownGroup makes the hook the leader of a process group of its own, and
// its cancellation (the timeout) kill the whole group.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killLeftovers kills what the hook left running in its group.
func killLeftovers(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
