package lab

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Phase is a step of one run of the scenario.
type Phase string

// The phases of a run, in order.
const (
	PhaseBuilding Phase = "building" // namespaces, links, router rules
	PhaseElecting Phase = "electing" // daemons started, until A owns the VIPs and the client reaches them
	PhaseFault    Phase = "fault"    // A's switch port down, A's processes killed
	PhaseWatching Phase = "watching" // the client watches the VIPs come back on B
	PhaseCleanup  Phase = "cleanup"  // processes killed, namespaces deleted
)

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Progress shows a lab's phases on a terminal (one line, rewritten) or on
// any other writer (one line per phase). A nil *Progress shows nothing.
type Progress struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu     sync.Mutex // guards the fields below
	label  string     // "vipd 1/3"
	phase  Phase
	since  time.Time // phase start
	detail string
	spin   int
	drawn  bool // a line is on the terminal and may be rewritten
}

// NewProgress returns a progress display on w; tty selects the rewritten
// single line (w must be a terminal then).
func NewProgress(w io.Writer, tty bool) *Progress {
	return &Progress{w: w, tty: tty, now: time.Now}
}

// Begin starts a run, named label ("vipd 1/3").
func (p *Progress) Begin(label string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label, p.phase, p.detail = label, "", ""
}

// Phase enters a phase.
func (p *Progress) Phase(ph Phase, detail string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.since, p.detail = ph, p.now(), detail
	if p.tty {
		p.draw()
		return
	}
	if detail != "" {
		detail = ": " + detail
	}
	fmt.Fprintf(p.w, "vipd lab: [%s] %s%s\n", p.label, ph, detail)
}

// Update changes the current phase's detail (shown on a terminal only).
func (p *Progress) Update(detail string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.detail = detail
	if p.tty {
		p.spin++
		p.draw()
	}
}

// Done ends a run with its summary.
func (p *Progress) Done(summary string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K  ✓ %-14s %s\n", p.label, summary)
		p.drawn = false
	} else {
		fmt.Fprintf(p.w, "vipd lab: [%s] done: %s\n", p.label, summary)
	}
	p.phase = ""
}

// Note prints a message of its own (above the progress line).
func (p *Progress) Note(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s\n", msg)
		p.drawn = false
		if p.phase != "" {
			p.draw()
		}
		return
	}
	fmt.Fprintf(p.w, "vipd lab: %s\n", msg)
}

// Finish clears the progress line.
func (p *Progress) Finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// draw rewrites the terminal line; p.mu is held.
func (p *Progress) draw() {
	line := fmt.Sprintf("  %s %-14s %-9s %5.1fs", spinner[p.spin%len(spinner)], p.label, p.phase,
		p.now().Sub(p.since).Seconds())
	if p.detail != "" {
		line += "  " + p.detail
	}
	fmt.Fprint(p.w, "\r\033[K"+strings.TrimRight(line, " "))
	p.drawn = true
}
