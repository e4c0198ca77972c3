package present

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/clock"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/watch"
)

// Presenter presents one instance's VIPs on the wire. The methods only
// record what should be true and return at once (they never block on the
// network or on netlink); the Presenter's own goroutine makes it so and
// keeps it so. Safe for concurrent use.
type Presenter interface {
	// TakeOver makes the VIPs present, announced, verified and watched as
	// held, from scratch. since is when the previous master was last heard:
	// the failover is complete once every VIP is verified.
	TakeOver(since time.Time)
	// Release makes the VIPs absent; owner is the master as far as known,
	// for traffic that still arrives here.
	Release(owner watch.Owner)
	// SetOwner updates the known master while the VIPs are not held.
	SetOwner(owner watch.Owner)
	// Reassert announces and verifies the held VIPs again (another master
	// was heard: the upstream may have learnt its MAC).
	Reassert()
	// ExpectHandover tells the watchers that mac, a master that resigned,
	// may answer for the VIPs for a moment while it removes them.
	ExpectHandover(mac net.HardwareAddr)
	// SetVIPs replaces the VIP list and the settings (a reload): added
	// VIPs are presented, dropped ones removed if held.
	SetVIPs(s Settings)
	// Reconcile compares the desired state with the kernel's now (the
	// daemon calls it on every kernel event for the interface). added are
	// addresses the event reported as added: they confirm an add even if
	// they are gone again by the time the Presenter looks (then they were
	// removed behind its back).
	Reconcile(added ...netip.Prefix)
	// Status reports each configured VIP, without asking the kernel.
	Status() Status
	// Start runs the Presenter; nothing is touched before.
	Start()
	// Close stops the Presenter after a last reconciliation (a Release
	// before Close removes the VIPs), or when ctx ends.
	Close(ctx context.Context)
}

// Report is what a Presenter tells its instance: AddFailed, Restored,
// Unexpected, Verify, FailoverVerified. Reports are delivered from the
// Presenter's goroutine, in order; the receiver must not block.
type Report interface{ isReport() }

// AddFailed: the VIPs could not be added (none of those this attempt added
// remain). The instance must not claim them: it resigns and retries.
type AddFailed struct{ Err error }

// RemoveFailed: some VIPs could not be removed; the Presenter retries.
type RemoveFailed struct{ Err error }

// Restored: VIPs removed behind vipd's back while held were added again.
type Restored struct{ VIPs []netip.Prefix }

// Unexpected: VIPs present on the interface while not held, which vipd did
// not add. They are left alone.
type Unexpected struct{ VIPs []netip.Prefix }

// Verify forwards an event of the verifier.
type Verify struct{ Event verify.Event }

// FailoverVerified: every VIP verified, Duration after the previous master
// was last heard (TakeOver's since).
type FailoverVerified struct{ Duration time.Duration }

func (AddFailed) isReport()        {}
func (RemoveFailed) isReport()     {}
func (Restored) isReport()         {}
func (Unexpected) isReport()       {}
func (Verify) isReport()           {}
func (FailoverVerified) isReport() {}

// Settings are what a reload may change.
type Settings struct {
	VIPs []netip.Prefix
	// Schedule is the announcement schedule after a takeover.
	Schedule announce.Schedule
	Verify   VerifyConfig
}

// VerifyConfig is an instance's verification settings.
type VerifyConfig struct {
	Enabled bool
	// Targets are configured upstream targets, besides the gateways of
	// the VIPs' subnets.
	Targets []netip.Addr
	// Period between verifications after a takeover; 0: only after it.
	Period time.Duration
}

// Status is a Presenter's view of its VIPs.
type Status struct {
	VIPs []VIPStatus
	// Restored and Unexpected count Restored and Unexpected VIPs.
	Restored, Unexpected uint64
}

// VIPStatus is one VIP.
type VIPStatus struct {
	Prefix netip.Prefix
	// Held: on the interface now, by the kernel's last report.
	Held bool
	// Verification: one per target, while verified.
	Verification []verify.VIPStatus
	// Route is the VIP's route in routed mode (nil in L2 mode).
	Route *RouteStatus
	// Misdirected packets counted, and the MAC of a conflicting owner.
	Misdirected uint64
	ConflictMAC net.HardwareAddr
}

// fillDeps fills in what a Presenter's dependencies may leave nil: the
// system clock, a logger that discards, a report receiver that drops.
func fillDeps(clk *clock.Clock, log **slog.Logger, report *func(Report)) {
	if *clk == nil {
		*clk = clock.System()
	}
	if *log == nil {
		*log = slog.New(slog.DiscardHandler)
	}
	if *report == nil {
		*report = func(Report) {}
	}
}
