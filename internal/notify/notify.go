package notify

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// queueLen bounds the transitions waiting for their hooks.
const queueLen = 32

// Notifier runs one instance's hooks.
type Notifier struct {
	cfg      config.Notify
	instance string
	node     string
	log      *slog.Logger

	mu     sync.Mutex // guards queue and closed
	queue  []event
	closed bool

	wake chan struct{} // capacity 1: the queue changed
	done chan struct{} // closed when the worker has exited
	once sync.Once     // for Close
}

// event is a transition waiting for its hooks.
type event struct {
	state  string // master, backup, fault, stop, or the lower-cased state given
	hook   string // the specific hook's command, "" if none
	prio   uint8
	reason string
}

// New returns a Notifier for the hooks cfg of the instance named instance
// on node node, and starts its worker. log gets the hooks' output and
// results; New adds the instance key to it (nil discards).
func New(cfg config.Notify, instance, node string, log *slog.Logger) *Notifier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = config.DefaultNotifyTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{
		cfg:      cfg,
		instance: instance,
		node:     node,
		log:      log.With("instance", instance),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	go n.work()
	return n
}

// Transition queues the hooks for a transition to state (the state
// machine's name, in any case: MASTER, BACKUP, FAULT; INIT, INITIALIZE or
// STOP run the stop hook) with the priority now advertised and the
// transition's reason. It never blocks. After Close it does nothing.
func (n *Notifier) Transition(state string, prio uint8, reason string) {
	ev := event{state: canonical(state), prio: prio, reason: reason}
	ev.hook = n.specific(ev.state)
	if ev.hook == "" && n.cfg.Any == "" {
		return
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.log.Debug("notify: transition after close ignored", "state", ev.state)
		return
	}
	var dropped *event
	if len(n.queue) >= queueLen {
		old := n.queue[0]
		dropped = &old
		n.queue = n.queue[1:]
	}
	n.queue = append(n.queue, ev)
	n.mu.Unlock()
	if dropped != nil {
		n.log.Warn("notify: hooks too slow, queue full; dropped the oldest waiting transition",
			"state", dropped.state, "priority", dropped.prio, "reason", dropped.reason)
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Close stops taking transitions, runs the hooks still queued and waits
// for them. Calling it again does nothing more.
func (n *Notifier) Close() {
	n.once.Do(func() {
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		select {
		case n.wake <- struct{}{}:
		default:
		}
	})
	<-n.done
}

// work runs queued transitions in order until Close empties the queue.
func (n *Notifier) work() {
	defer close(n.done)
	for {
		n.mu.Lock()
		if len(n.queue) == 0 {
			closed := n.closed
			n.mu.Unlock()
			if closed {
				return
			}
			<-n.wake
			continue
		}
		ev := n.queue[0]
		n.queue = n.queue[1:]
		n.mu.Unlock()
		n.run(ev)
	}
}

// run runs a transition's hooks: the specific one, then any.
func (n *Notifier) run(ev event) {
	if ev.hook != "" {
		n.runHook(ev.state, ev.hook, ev)
	}
	if n.cfg.Any != "" {
		n.runHook("any", n.cfg.Any, ev)
	}
}

// specific returns the command of the hook for state, "" if none.
func (n *Notifier) specific(state string) string {
	switch state {
	case "master":
		return n.cfg.Master
	case "backup":
		return n.cfg.Backup
	case "fault":
		return n.cfg.Fault
	case "stop":
		return n.cfg.Stop
	}
	return ""
}

// canonical maps a state name to the hooks' name for it.
func canonical(state string) string {
	s := strings.ToLower(strings.TrimSpace(state))
	switch s {
	case "init", "initialize":
		return "stop"
	}
	return s
}

// env returns the variables a hook gets on top of the daemon's.
func (n *Notifier) env(hook string, ev event) []string {
	return []string{
		"VIPD_INSTANCE=" + n.instance,
		"VIPD_STATE=" + ev.state,
		"VIPD_PRIORITY=" + strconv.Itoa(int(ev.prio)),
		"VIPD_REASON=" + ev.reason,
		"VIPD_NODE=" + n.node,
		"VIPD_HOOK=" + hook,
	}
}

// durationAttr rounds a duration for the log.
func durationAttr(d time.Duration) slog.Attr {
	return slog.Duration("took", d.Round(time.Millisecond))
}
