package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// waitDelay bounds how long a hook's end waits for its output pipe to
// close: a background process that keeps it open cannot hold up the queue.
const waitDelay = 250 * time.Millisecond

// runHook runs one hook command for ev and logs its output and result.
func (n *Notifier) runHook(hook, command string, ev event) {
	log := n.log.With("hook", hook)
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
	defer cancel()
	out := &lineLogger{log: log}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command, "vipd", n.instance, ev.state, strconv.Itoa(int(ev.prio)))
	cmd.Env = append(os.Environ(), n.env(hook, ev)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = waitDelay
	ownGroup(cmd)
	start := time.Now()
	err := cmd.Run()
	if cmd.Process != nil {
		killLeftovers(cmd)
	}
	out.flush()
	took := time.Since(start)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		log.Warn("notify: hook timed out; process group killed", "state", ev.state, "timeout", n.cfg.Timeout)
	case err != nil && !(errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success()):
		log.Warn("notify: hook failed", "state", ev.state, "err", err, durationAttr(took))
	default:
		log.Info("notify: hook ran", "state", ev.state, durationAttr(took))
	}
}

// Limits on the output logged per run: a hook that prints a lot cannot
// flood the log.
const (
	maxLine  = 1024
	maxLines = 100
)

// lineLogger logs what a hook writes, one record per line. exec calls
// Write from one goroutine at a time, as Stdout and Stderr are the same
// writer.
type lineLogger struct {
	log       *slog.Logger
	partial   []byte
	lines     int
	truncated bool
}

func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p[:min(len(p), maxLine-len(l.partial))]...)
			break
		}
		l.partial = append(l.partial, p[:min(i, maxLine-len(l.partial))]...)
		l.emit()
		p = p[i+1:]
	}
	return n, nil
}

// flush logs an unterminated last line.
func (l *lineLogger) flush() {
	if len(l.partial) > 0 {
		l.emit()
	}
}

func (l *lineLogger) emit() {
	line := strings.TrimRight(strings.ToValidUTF8(string(l.partial), string(utf8.RuneError)), "\r")
	l.partial = l.partial[:0]
	switch {
	case l.lines < maxLines:
		l.lines++
		l.log.Info("notify: hook output", "output", line)
	case !l.truncated:
		l.truncated = true
		l.log.Warn("notify: hook output truncated", "lines", maxLines)
	}
}
