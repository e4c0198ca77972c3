package verify

import "time"

// Defaults of Timing.
const (
	DefaultSettle        = 20 * time.Millisecond
	DefaultProbeTimeout  = 100 * time.Millisecond
	DefaultProbeInterval = 150 * time.Millisecond
	DefaultInitialProbes = 3
	DefaultPeriod        = 30 * time.Second
	DefaultLocktime      = time.Second
	DefaultBackoffMax    = 30 * time.Second
	DefaultSendTimeout   = 2 * time.Second
	DefaultPrimaryFresh  = time.Second
	DefaultReplyWindow   = 3 * time.Second
	DefaultHeldBack      = 50 * time.Millisecond
	DefaultSecondLook    = 10 * time.Second
)

// Timing holds the verifier's delays. Zero fields take the defaults.
type Timing struct {
	// Settle is how long after a takeover, or after the pacer sent a
	// remediation step, the next probe waits: long enough for the
	// takeover's own gratuitous ARP, or the step, to reach the target
	// before the echo does (frames on different CPUs can overtake each
	// other).
	Settle time.Duration
	// ProbeTimeout is how long an echo may take before it counts as
	// missed. A reply that comes later still verifies (ReplyWindow).
	ProbeTimeout time.Duration
	// ProbeInterval separates the probes of the initial verification and
	// the re-probes of an unverifiable or (when only checking) stale pair.
	ProbeInterval time.Duration
	// InitialProbes is how many probes a pair gets after a takeover before
	// the verifier settles to one probe per Period (a verified pair) or
	// calls a check finished.
	InitialProbes int
	// SecondLook is how long after its initial probes a pair that became
	// verified is probed once more, before Period takes over. An upstream
	// re-confirms an entry a few seconds after it changed (Linux: DELAY
	// 5 s, then 3 unicast probes 1 s apart), and the node's kernel answers
	// that: behind a policer the answers of every VIP fixed at once come
	// in one burst and most are dropped, the entry fails, and the VIP goes
	// dark again after it was verified. The second look finds it then,
	// not a Period later. Not used when Period is shorter.
	SecondLook time.Duration
	// Period separates the probes of a verified pair. A very long period
	// (the daemon uses a century) means: verify only after a takeover.
	Period time.Duration
	// Locktime is the least time between two remediation steps for one
	// (VIP, target) unless a probe sent after the first one went
	// unanswered, which shows the first one did not change the target's
	// entry (Linux: net.ipv4.neigh.*.locktime, 1 s by default). It is also
	// the first backoff after a full climb of the ladder.
	Locktime time.Duration
	// BackoffMax caps the wait between two climbs of the ladder.
	BackoffMax time.Duration
	// SendTimeout is how long a step may wait in the pacer before the
	// verifier probes anyway. No further step of the pair is queued until
	// the pacer has sent it.
	SendTimeout time.Duration
	// HeldBack is how long a remediation step may wait in the pacer
	// before it counts as held back by the pacer's rate: a climb of the
	// ladder with such a step that went unanswered is not a failed climb
	// (its frames most likely met a policer), so the backoff does not
	// grow (see climbWait).
	HeldBack time.Duration
	// PrimaryFresh is how old an echo to the primary address may be (sent
	// before the VIP's missed probe) and still tell stale from
	// unverifiable.
	PrimaryFresh time.Duration
	// ReplyWindow is how long after sending a probe its reply is still
	// accepted as proof.
	ReplyWindow time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Settle, DefaultSettle)
	def(&t.ProbeTimeout, DefaultProbeTimeout)
	def(&t.ProbeInterval, DefaultProbeInterval)
	def(&t.Period, DefaultPeriod)
	def(&t.Locktime, DefaultLocktime)
	def(&t.BackoffMax, DefaultBackoffMax)
	def(&t.SendTimeout, DefaultSendTimeout)
	def(&t.PrimaryFresh, DefaultPrimaryFresh)
	def(&t.ReplyWindow, DefaultReplyWindow)
	def(&t.HeldBack, DefaultHeldBack)
	def(&t.SecondLook, DefaultSecondLook)
	if t.InitialProbes <= 0 {
		t.InitialProbes = DefaultInitialProbes
	}
	if t.BackoffMax < t.Locktime {
		t.BackoffMax = t.Locktime
	}
	if t.ReplyWindow < t.ProbeTimeout {
		t.ReplyWindow = t.ProbeTimeout
	}
	return t
}
