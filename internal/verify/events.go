package verify

import (
	"net/netip"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/announce"
)

// Event is what a Verifier reports as it happens, through Deps.OnEvent:
// StateChanged, RemediationSent, RungOutcome or AllVerified.
type Event interface{ isEvent() }

// StateChanged: a (VIP, target) pair entered a new state.
type StateChanged struct {
	Status VIPStatus
	From   State
}

// RemediationSent: frames of one kind of a remediation step were written
// for VIP towards Target.
type RemediationSent struct {
	VIP, Target netip.Addr
	Kind        announce.Kind
	Frames      int
}

// RungOutcome: the remediation step for VIP towards Target that the
// pacer wrote at Sent got through (a probe after it was answered) or was
// lost (a probe after it missed while the target answered the node's
// primary address). Reported once per step, and only for steps judged by
// a probe sent after they left: the evidence an adaptive pacer slows down
// on (announce.Pacer.Outcome).
type RungOutcome struct {
	VIP, Target netip.Addr
	Sent        time.Time
	Lost        bool
}

// AllVerified: every pair is verified, for the first time since Start.
type AllVerified struct{}

func (StateChanged) isEvent()    {}
func (RemediationSent) isEvent() {}
func (RungOutcome) isEvent()     {}
func (AllVerified) isEvent()     {}

// emit hands e to Deps.OnEvent.
func (v *Verifier) emit(e Event) {
	if v.deps.OnEvent != nil {
		v.deps.OnEvent(e)
	}
}

// reportStep reports the frames of a rung that the pacer wrote.
func (v *Verifier) reportStep(ev event) {
	if ev.step == nil || ev.pair < 0 || ev.pair >= len(v.core.pairs) {
		return
	}
	pr := &v.core.pairs[ev.pair]
	var target netip.Addr
	if pr.tgt >= 0 {
		target = v.core.targets[pr.tgt].addr
	}
	for _, k := range announce.Kinds() {
		if n := ev.step.sent[k&15].Load(); n > 0 {
			v.emit(RemediationSent{VIP: pr.vip, Target: target, Kind: k, Frames: int(n)})
		}
	}
}

// event is what reaches the Verifier's goroutine from elsewhere.
type event struct {
	kind evKind
	id   uint64
	pair int
	ok   bool
	at   time.Time
	step *stepSender // evStepSent: the rung's frames
}

type evKind uint8

const (
	evReply    evKind = iota + 1 // probe id answered
	evStepSent                   // the pacer wrote step id of pair
	evStart                      // a new takeover
)

// inbox queues events without ever blocking the sender.
type inbox struct {
	mu   sync.Mutex // guards q
	q    []event
	wake chan struct{} // capacity 1
}

func (b *inbox) post(e event) {
	b.mu.Lock()
	b.q = append(b.q, e)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *inbox) empty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.q) == 0
}

func (b *inbox) take() []event {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q
	b.q = nil
	return q
}
