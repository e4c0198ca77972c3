package health

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

func TestProbeExec(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		wantErr string // "" passes
		errIs   error
	}{
		{"true", "true", "", nil},
		{"false", "false", "health: command failed: exit status 1", ErrExit},
		{"output captured", "echo hello; echo oops >&2; exit 3", "health: command failed: exit status 3: hello / oops", ErrExit},
		{"environment", `test "$VIPD_CHECK" = mycheck`, "", nil},
		{"no stdin", "read x", "health: command failed: exit status 1", ErrExit},
		{"killed by a signal", "kill -TERM $$", "health: command failed: signal: terminated", ErrExit},
		{"shell syntax error", "if", "health: command failed: exit status 2: ", ErrExit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ProbeExec(testCtx(t, 10*time.Second), config.Check{Name: "mycheck", Target: tt.cmd})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ProbeExec(%q) = %v, want nil", tt.cmd, err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("ProbeExec(%q) = %v, want %q", tt.cmd, err, tt.wantErr)
			case tt.errIs != nil && !errors.Is(err, tt.errIs):
				t.Errorf("error %v is not %v", err, tt.errIs)
			}
		})
	}
}

func TestProbeExecOutputCapped(t *testing.T) {
	err := ProbeExec(testCtx(t, 10*time.Second), config.Check{Target: "head -c 100000 /dev/zero | tr '\\0' a; exit 1"})
	if err == nil {
		t.Fatal("passed")
	}
	const prefix = "health: command failed: exit status 1: "
	if !strings.HasPrefix(err.Error(), prefix) || len(err.Error()) != len(prefix)+maxOutput {
		t.Errorf("error of %d bytes: %.80q...", len(err.Error()), err)
	}
}

// gone waits until the process pid no longer exists or is a zombie that
// its new parent has yet to reap.
func gone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		// pid (comm) S ...: the state follows the last ')'.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond) // polling the kernel, with a deadline
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid file %q", data)
	}
	return pid
}

func TestProbeExecTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// A child in the background and the shell waiting for it: the
	// timeout must kill both, not only the shell.
	cmd := "sleep 30 & echo $! > " + pidFile + "; echo started; wait"
	begin := time.Now()
	err := ProbeExec(testCtx(t, 300*time.Millisecond), config.Check{Target: cmd})
	took := time.Since(begin)
	if err == nil || err.Error() != "process group killed: started" {
		t.Fatalf("ProbeExec = %v, want the kill with its output", err)
	}
	if took > 5*time.Second {
		t.Errorf("took %v after a 300ms timeout", took)
	}
	gone(t, readPID(t, pidFile))
}

func TestProbeExecSleepTimeout(t *testing.T) {
	begin := time.Now()
	err := ProbeExec(testCtx(t, 100*time.Millisecond), config.Check{Target: "sleep 5"})
	if err == nil || err.Error() != "process group killed" {
		t.Fatalf("ProbeExec = %v", err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("sleep 5 with a 100ms timeout took %v", took)
	}
}

func TestProbeExecLeftovers(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
	}{
		// Detached from the output: the shell exits at once.
		{"detached", "sleep 30 >/dev/null 2>&1 & echo $! > PIDFILE"},
		// Holding the output pipe open: the check ends after waitDelay.
		{"holding the output", "sleep 30 & echo $! > PIDFILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			begin := time.Now()
			err := ProbeExec(testCtx(t, 10*time.Second), config.Check{Target: strings.ReplaceAll(tt.cmd, "PIDFILE", pidFile)})
			if err != nil {
				t.Fatalf("ProbeExec = %v, want a pass (the shell exited 0)", err)
			}
			if took := time.Since(begin); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			gone(t, readPID(t, pidFile))
		})
	}
}

func TestKillGroupGone(t *testing.T) {
	// A group that does not exist: ESRCH becomes os.ErrProcessDone.
	pid := 1 << 22 // above the kernel's pid_max limit, never a process
	if err := killGroup(pid); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("killGroup(nonexistent) = %v", err)
	}
}
