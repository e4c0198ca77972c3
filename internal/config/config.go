package config

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/vipd/vipd/internal/announce"
)

// Defaults and limits of the file format. The limits are those of the
// protocol (RFC 5798) where it has one, and sanity bounds otherwise.
const (
	DefaultControlSocket  = "/run/vipd/vipd.sock"
	DefaultAnnounceRate   = 0 // adaptive (package announce): full speed, slower on evidence of loss
	DefaultPriority       = 100
	DefaultAdvertInterval = time.Second
	DefaultVersion        = 3
	// The announcement schedule's defaults are package announce's, which
	// says why (rounds 1.1 s apart: Linux ignores a second neighbour
	// update within its 1 s locktime); defined there only.
	DefaultAnnounceCount    = announce.DefaultCount
	DefaultAnnounceInterval = announce.DefaultInterval

	DefaultStateDir      = "/var/lib/vipd"
	DefaultVerifyPeriod  = 30 * time.Second
	DefaultCheckInterval = 2 * time.Second
	// DefaultCheckTimeout is 1s, or the check's interval if that is
	// shorter.
	DefaultCheckTimeout  = time.Second
	DefaultCheckRise     = 2
	DefaultCheckFall     = 2
	DefaultExpectStatus  = 200
	DefaultNotifyTimeout = 10 * time.Second

	// MaxVIPs is the largest number of VIPs one instance may hold.
	MaxVIPs = 65536
	// MaxFileSize bounds the size of a config file, so that a wrong path
	// (a device, a huge log) fails fast instead of exhausting memory.
	MaxFileSize = 64 << 20
)

// Config is a parsed and validated vipd configuration. Every field is set:
// defaults have been applied.
type Config struct {
	// Node names this host in logs, metrics and the control socket. It
	// defaults to the host name.
	Node string
	// ControlSocket is the absolute path of the control socket.
	ControlSocket string
	// AnnounceRate paces gratuitous ARP and unsolicited NA packets across
	// the whole daemon, in packets per second; 0 (the default) adapts:
	// full speed, halved when announced VIPs are found stale.
	AnnounceRate float64
	// MetricsListen is the host:port the metrics endpoint listens on;
	// empty means no endpoint. The host may be empty (all addresses).
	MetricsListen string
	// StateDir is the absolute path of the directory where state that
	// outlives the process (maintenance mode) is kept.
	StateDir string
	// BGP is the routed mode's speaker; nil when the file has no bgp key.
	BGP *BGP
	// Instances are the virtual routers, in file order; at least one.
	Instances []Instance
}

// Instance is one virtual router: one VRID on one interface for one
// address family.
type Instance struct {
	Name string
	// Mode is ModeVRRP (the default) or ModeBGP.
	Mode string
	// Interface carries the VIPs (mode vrrp), or reaches the BGP peers
	// (mode bgp).
	Interface string
	// VRID is 1..255 in mode vrrp, 0 in mode bgp.
	VRID uint8
	// Priority is 1..254 for a backup, 255 for the address owner.
	Priority uint8
	// AdvertInterval is a multiple of 10 ms, 10 ms..40.95 s (the protocol
	// carries it in centiseconds in 12 bits); with Version 2, whole
	// seconds 1 s..255 s.
	AdvertInterval time.Duration
	// Version is the VRRP version, 3 (RFC 5798, the default) or 2
	// (RFC 3768: IPv4 only, AdvertInterval in whole seconds 1s..255s).
	// AuthPass is VRRPv2's simple password (auth type 1, at most 8
	// bytes; empty: auth type 0): sent in clear text, no security.
	Version      uint8
	AuthPass     string
	Preempt      bool
	PreemptDelay time.Duration
	// UnicastPeers, when not empty, replaces multicast advertisements; the
	// peers are of the same family as the VIPs.
	UnicastPeers []netip.Addr
	// VIPs are the virtual addresses with the prefix length to install
	// them with. They are not masked: 192.0.2.100/24 stays as written. All
	// have the same family in mode vrrp; in mode bgp they are host routes
	// (/32, /128) of either family.
	VIPs     []netip.Prefix
	Announce Announce
	// WaitForInterface: when the interface is missing at start, wait for
	// it to appear rather than fail with an error.
	WaitForInterface bool
	// Verify is the per-VIP proof that the upstream delivers to this node.
	Verify Verify
	// Checks are the health checks, in file order; names are unique
	// within the instance.
	Checks []Check
	// Notify are the hooks run on state transitions.
	Notify Notify
	// VirtualMAC carries the VIPs on a macvlan with the RFC 5798 virtual
	// MAC (package vmac); VMACXmitBase sends the adverts from the
	// interface's own MAC instead of it (keepalived's vmac_xmit_base);
	// NARouter sets the Router flag of the VIPs' neighbour advertisements.
	VirtualMAC, VMACXmitBase, NARouter bool
	// Line is the line of the instance in the file, for messages.
	Line int
}

// IPv6 reports whether the instance's VIPs are IPv6 addresses.
func (i *Instance) IPv6() bool {
	return len(i.VIPs) > 0 && i.VIPs[0].Addr().Is6()
}

// Announce is the schedule of gratuitous ARP (IPv4) or unsolicited
// neighbour advertisements (IPv6) sent on becoming master.
type Announce struct {
	// Count is the number of rounds; every round announces every VIP.
	Count int
	// Interval separates the rounds.
	Interval time.Duration
	// Refresh, when not zero, re-announces every VIP this often while
	// master.
	Refresh time.Duration
}

// Verify configures the per-VIP reachability proof.
type Verify struct {
	// Enabled is true unless the file turns verification off.
	Enabled bool
	// Targets are extra addresses to verify against, of the VIPs' family;
	// empty means the default: the gateways of the VIPs' subnets, found
	// at run time.
	Targets []netip.Addr
	// Period is the re-verification period while master, 1s..1h; 0 means
	// verify only after a takeover.
	Period time.Duration
}

// Check types.
const (
	CheckExec      = "exec"      // Target is a command line, run by /bin/sh -c; exit status 0 passes
	CheckTCP       = "tcp"       // Target is host:port; a completed connect passes
	CheckHTTP      = "http"      // Target is an http:// or https:// URL; a GET answered with ExpectStatus passes
	CheckInterface = "interface" // Target is an interface name; the link being up passes
)

// Check is one health check of an instance.
type Check struct {
	// Name is unique within the instance.
	Name string
	// Type is one of CheckExec, CheckTCP, CheckHTTP, CheckInterface.
	Type string
	// Target is what is checked; its form depends on Type.
	Target string
	// ExpectStatus is the HTTP status that passes (http only; 0 for the
	// other types).
	ExpectStatus int
	// Interval separates the starts of two runs; Timeout bounds one run
	// and is at most Interval.
	Interval, Timeout time.Duration
	// Rise consecutive passes make a failing check healthy; Fall
	// consecutive failures make a healthy check failing.
	Rise, Fall int
	// Weight adjusts the priority, -254..254, as keepalived's
	// track_script weight does: a negative weight applies while the
	// check is failing, a positive one while it is healthy. 0 with Fault
	// false: the check only reports.
	Weight int
	// Fault: while the check is failing the instance is in FAULT (no
	// VIPs, no advertisements). Fault and a weight exclude each other.
	Fault bool
}

// Notify holds the hooks run on transitions, each a command line run by
// /bin/sh -c; an empty one is not run.
type Notify struct {
	// Master, Backup, Fault and Stop run on entering that state; Any runs
	// on every transition, after the specific hook.
	Master, Backup, Fault, Stop, Any string
	// Timeout bounds one hook run.
	Timeout time.Duration
}

// Options adjust Parse and Load. The zero value is what the package-level
// Parse and Load use.
type Options struct {
	// Hostname gives the default node name when the file has no node key.
	// Nil means os.Hostname.
	Hostname func() (string, error)
}

// Parse parses and validates a config file's contents with the zero
// Options. On failure the error is an [Errors] listing every problem found,
// in line order.
func Parse(data []byte) (*Config, error) {
	return Options{}.Parse(data)
}

// Load reads and parses the file at path with the zero Options.
func Load(path string) (*Config, error) {
	return Options{}.Load(path)
}

// Load reads and parses the file at path. Errors are prefixed with
// "config: <path>: " and wrap either the read error or the [Errors].
func (o Options) Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	cfg, err := o.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return cfg, nil
}

// ErrTooLarge is returned (wrapped) for input over MaxFileSize.
var ErrTooLarge = errors.New("config: file too large")

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, fi.Size(), MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxFileSize)
	}
	return data, nil
}

// Parse parses and validates a config file's contents. On failure the error
// is an [Errors] listing every problem found, in line order; it never
// panics, whatever the input.
func (o Options) Parse(data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, Errors{{Line: 1, Column: 1, Msg: fmt.Sprintf("file too large: %d bytes, at most %d", len(data), MaxFileSize)}}
	}
	root, yerr := parseYAML(data)
	if yerr != nil {
		return nil, clampLines(Errors{yerr}, data)
	}
	hostname := o.Hostname
	if hostname == nil {
		hostname = os.Hostname
	}
	d := &decoder{hostname: hostname}
	cfg := d.config(root)
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, clampLines(d.errs, data)
	}
	return cfg, nil
}

// clampLines keeps every error inside the file: the YAML library places
// some problems at end of input one line past the last one.
func clampLines(errs Errors, data []byte) Errors {
	last := lineCount(data)
	for _, e := range errs {
		if e.Line > last {
			e.Line, e.Column = last, 1
		}
	}
	return errs
}
