package lab

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// Impl is a VRRP implementation the lab can run on the nodes.
type Impl string

const (
	// Vipd is this binary (Options.Exe).
	Vipd Impl = "vipd"
	// Keepalived is keepalived from PATH, the reference implementation.
	Keepalived Impl = "keepalived"
)

// Defaults of the scenario.
const (
	DefaultVIPs           = 20
	DefaultAdvert         = 100 * time.Millisecond
	DefaultStickyFraction = 0.5
	DefaultWatch          = 10 * time.Second
	DefaultProbeInterval  = 10 * time.Millisecond
	DefaultPolicerRate    = 100 // ARP packets per second
	DefaultLossPercent    = 50
	// MaxVIPs bounds --vips: the daemon's limit per instance.
	MaxVIPs = 4096
	// maxSmallLAN is the most VIPs labnet fits in 192.0.2.0/24 (.100 to
	// .254); more go to labnet.BenchLAN4.
	maxSmallLAN = 155
	// reachBase is how long the client may take to reach every VIP before
	// the fault (more behind the policer: reachTimeout).
	reachBase = 30 * time.Second
	// settle is how long the watch goes on after the last VIP recovered.
	settle = time.Second
	// baseline is how long the client sees every VIP on A before the fault.
	baseline = 500 * time.Millisecond
	// pollEvery is how often the lab looks at the daemons and the prober.
	pollEvery = 50 * time.Millisecond
)

// statusEvery is the status polling interval for n VIPs: 50 ms up to 256,
// slower above, at most 400 ms.
func statusEvery(n int) time.Duration {
	return min(400*time.Millisecond, max(pollEvery, time.Duration(n/256)*25*time.Millisecond))
}

// Options describe a lab run. The zero value, after withDefaults, is the
// seed: 20 IPv4 VIPs behind a plain router, vipd only, one run.
type Options struct {
	// Mode is how the VIPs move: VRRP on one L2 segment (the zero value)
	// or routed, announced by BGP to the router (see mode.go).
	Mode Mode
	// Fault is what happens to node A; the zero value is PowerOff.
	Fault Fault
	// HoldTime is the BGP hold time in routed mode; 0 means DefaultHoldTime.
	HoldTime time.Duration
	// Router is the router's behaviour.
	Router labnet.Behaviour
	// StickyFraction is the share of VIPs whose gratuitous ARP (unsolicited
	// NA) the Sticky router ignores; 0 means DefaultStickyFraction.
	StickyFraction float64
	// PolicerRate is the Policer's ARP (and NS/NA) rate per second; 0 means
	// DefaultPolicerRate.
	PolicerRate int
	// LossPercent is the share of ARP (and NS/NA) the Lossy router drops;
	// 0 means DefaultLossPercent.
	LossPercent int
	// VIPs is the number of virtual addresses; 0 means DefaultVIPs.
	VIPs int
	// Advert is the VRRP advertisement interval; 0 means DefaultAdvert.
	Advert time.Duration
	// IPv6 makes the VIPs IPv6 addresses (Neighbor Discovery instead of
	// ARP).
	IPv6 bool
	// Impls are the implementations to run, each on a lab of its own; empty
	// means vipd only.
	Impls []Impl
	// Runs repeats the scenario; 0 means 1.
	Runs int
	// Watch is the longest time the client watches after the fault; the
	// watch ends earlier, one second after every VIP recovered. 0 means
	// DefaultWatch, longer behind the policer (see defaultWatch).
	Watch time.Duration
	// ProbeInterval is how often the client probes each VIP (the prober
	// caps the total rate, see labnet.MaxPPS); 0 means DefaultProbeInterval.
	ProbeInterval time.Duration
	// VirtualMAC puts the VIPs on the RFC 5798 virtual MAC: vipd's
	// virtual_mac, keepalived's use_vmac.
	VirtualMAC bool
	// AnnounceRate is the lab vipd's announce_rate; 0 means the daemon's
	// default (adaptive: full speed, slower on evidence of loss).
	AnnounceRate float64
	// Idle, if positive, measures before the fault, for that long, the
	// CPU each node's daemons use at rest (A master, B backup, no client
	// traffic).
	Idle time.Duration
	// Exe is the vipd binary run on the nodes; empty means os.Executable.
	Exe string
	// Version is vipd's version, for the report.
	Version string
	// LogDir, when set, receives per run the daemons' configurations and
	// output, and B's final status (vipd).
	LogDir string
	// Progress shows the phases; nil is quiet.
	Progress *Progress
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// withDefaults fills in the zero fields.
func (o Options) withDefaults() Options {
	if o.StickyFraction == 0 {
		o.StickyFraction = DefaultStickyFraction
	}
	if o.PolicerRate == 0 {
		o.PolicerRate = DefaultPolicerRate
	}
	if o.LossPercent == 0 {
		o.LossPercent = DefaultLossPercent
	}
	if o.VIPs == 0 {
		o.VIPs = DefaultVIPs
	}
	if o.Advert == 0 {
		o.Advert = DefaultAdvert
	}
	if len(o.Impls) == 0 {
		o.Impls = []Impl{Vipd}
	}
	if o.Runs == 0 {
		o.Runs = 1
	}
	if o.Watch == 0 {
		o.Watch = o.defaultWatch()
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.Mode == ModeBGP && o.HoldTime == 0 {
		o.HoldTime = DefaultHoldTime
	}
	return o
}

// ErrOptions is wrapped by every validation error.
var ErrOptions = errors.New("lab: invalid options")

// validate checks options after withDefaults.
func (o Options) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOptions}, args...)...)
	}
	switch {
	case o.Router < labnet.Plain || o.Router > labnet.Pinned:
		return bad("router behaviour %v", o.Router)
	case o.StickyFraction <= 0 || o.StickyFraction > 1 || math.IsNaN(o.StickyFraction):
		return bad("sticky fraction %v: want more than 0, at most 1", o.StickyFraction)
	case o.PolicerRate < 1:
		return bad("policer rate %d/s: want at least 1", o.PolicerRate)
	case o.LossPercent < 1 || o.LossPercent > 100:
		return bad("loss %d%%: want 1 to 100", o.LossPercent)
	case o.VIPs < 1 || o.VIPs > MaxVIPs:
		return bad("%d VIPs: want 1 to %d", o.VIPs, MaxVIPs)
	case o.Advert < 10*time.Millisecond || o.Advert > 40950*time.Millisecond || o.Advert%(10*time.Millisecond) != 0:
		return bad("advert interval %v: want 10ms to 40.95s in whole centiseconds", o.Advert)
	case o.Runs < 1 || o.Runs > 1000:
		return bad("%d runs: want 1 to 1000", o.Runs)
	case o.Idle < 0 || o.Idle > time.Hour:
		return bad("idle %v: want 0 (off) up to 1h", o.Idle)
	case o.Watch < time.Second || o.Watch > time.Hour:
		return bad("watch %v: want 1s to 1h", o.Watch)
	case o.ProbeInterval < time.Millisecond || o.ProbeInterval > 10*time.Second:
		return bad("probe interval %v: want 1ms to 10s", o.ProbeInterval)
	case o.AnnounceRate != 0 && (o.AnnounceRate < 1 || o.AnnounceRate > 100000):
		return bad("announce rate %v/s: want 1 to 100000, or 0 for the daemon's adaptive default", o.AnnounceRate)
	case o.Router == labnet.ReplyOnly && o.IPv6:
		return bad("router reply-only is about gratuitous ARP: IPv4 only")
	}
	if err := o.validateMode(); err != nil {
		return bad("%v", err)
	}
	seen := map[Impl]bool{}
	for _, im := range o.Impls {
		if im != Vipd && im != Keepalived {
			return bad("implementation %q: want vipd or keepalived", im)
		}
		if seen[im] {
			return bad("implementation %s listed twice", im)
		}
		seen[im] = true
	}
	return nil
}

// lan4 is the IPv4 LAN for n VIPs: the documentation prefix while they fit,
// RFC 2544's benchmark range beyond.
func lan4(n int) netip.Prefix {
	if n <= maxSmallLAN {
		return labnet.DefaultLAN4
	}
	return labnet.BenchLAN4
}

// affected tells for each of n VIPs whether the router treats its
// announcements specially: a StickyFraction share, spread evenly, for
// Sticky (VIP i is affected when floor((i+1)·f) > floor(i·f): every second
// one for 0.5, starting with the second); all of them for ReplyOnly; none
// otherwise (the policer and the lossy path apply to all ARP alike).
func affected(b labnet.Behaviour, n int, fraction float64) []bool {
	out := make([]bool, n)
	switch b {
	case labnet.Sticky:
		for i := range out {
			// A little slack so that 0.1·10 counts as 1.
			out[i] = math.Floor(float64(i+1)*fraction+1e-9) > math.Floor(float64(i)*fraction+1e-9)
		}
	case labnet.ReplyOnly:
		for i := range out {
			out[i] = true
		}
	}
	return out
}

// routerParam is the number labnet's SetRouterBehaviour takes.
func (o Options) routerParam() int {
	switch o.Router {
	case labnet.Policer:
		return o.PolicerRate
	case labnet.Lossy:
		return o.LossPercent
	}
	return 0
}

// reachTimeout is how long the router and the client may take to reach
// every VIP before the fault. The policer passes PolicerRate answers a
// second to the router's own requests, and the lab has the router resolve
// the VIPs at half that rate (labnet's WarmRouterNeigh): 4 s per rate's
// worth of VIPs is added (1000 VIPs at 100/s: 40 s).
func (o Options) reachTimeout() time.Duration {
	d := reachBase
	if o.Router == labnet.Policer && o.PolicerRate > 0 {
		d += time.Duration(4*o.VIPs/o.PolicerRate) * time.Second
	}
	return d
}

// defaultWatch is the watch when none is given: DefaultWatch, and behind
// the policer at least long enough for three announcements per VIP at its
// rate (1000 VIPs at 100/s: 30 s), since no implementation gets them
// through faster.
func (o Options) defaultWatch() time.Duration {
	d := DefaultWatch
	if o.Router == labnet.Policer && o.PolicerRate > 0 {
		d = max(d, time.Duration(3*o.VIPs)*time.Second/time.Duration(o.PolicerRate))
	}
	return d
}

// RouterDescription says in words what the router does, for reports.
func (o Options) RouterDescription() string {
	o = o.withDefaults()
	if o.Mode == ModeBGP {
		return o.bgpDescription()
	}
	ann := "gratuitous ARP"
	if o.IPv6 {
		ann = "unsolicited NA"
	}
	switch o.Router {
	case labnet.Plain:
		return "plain: a stock Linux router"
	case labnet.Sticky:
		n := 0
		for _, a := range affected(o.Router, o.VIPs, o.StickyFraction) {
			if a {
				n++
			}
		}
		return fmt.Sprintf("sticky: neighbour entries valid for 4 h, %s ignored for %d of %d VIPs", ann, n, o.VIPs)
	case labnet.ReplyOnly:
		return "reply-only: gratuitous ARP requests ignored, replies honoured"
	case labnet.Policer:
		return fmt.Sprintf("policer: ARP/ND limited to %d packets/s, neighbour entries valid for 20 min", o.PolicerRate)
	case labnet.Lossy:
		return fmt.Sprintf("lossy: %d%% of ARP/ND dropped", o.LossPercent)
	case labnet.Pinned:
		d := "pinned: neighbour entries for the VIPs made static once learnt"
		if o.VirtualMAC {
			return d + "; VIPs on the virtual MAC (virtual_mac, use_vmac)"
		}
		return d + "; VIPs on the nodes' own MACs"
	}
	return o.Router.String()
}
