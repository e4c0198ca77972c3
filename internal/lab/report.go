package lab

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// Report is the result of a lab: per implementation, every run. Its JSON
// form is what `vipd lab --json` prints. Times are in milliseconds; instants
// are relative to the fault (node A powered off).
type Report struct {
	Started time.Time `json:"started"`
	Host    HostInfo  `json:"host"`
	// Mode is "vrrp" (one L2 segment) or "bgp" (routed: the router learns
	// the VIPs by BGP); HoldTimeMS is the BGP hold time in mode bgp.
	Mode       Mode    `json:"mode"`
	HoldTimeMS float64 `json:"hold_time_ms,omitempty"`
	// Fault is what happened to node A at t=0: "power-off" or "sigterm".
	Fault Fault `json:"fault"`
	// Router is the router's behaviour ("plain", "sticky", ...), Description
	// the same in words.
	Router         string  `json:"router"`
	Description    string  `json:"description"`
	StickyFraction float64 `json:"sticky_fraction,omitempty"`
	PolicerRate    int     `json:"policer_rate,omitempty"`
	LossPercent    int     `json:"loss_percent,omitempty"`
	VIPs           int     `json:"vips"`
	IPv6           bool    `json:"ipv6"`
	AdvertMS       float64 `json:"advert_ms"`
	WatchMS        float64 `json:"watch_ms"`
	// ProbeIntervalMS is the per-VIP probe interval asked for; each run
	// reports the one in effect.
	ProbeIntervalMS float64 `json:"probe_interval_ms"`
	// AnnounceRate is the lab vipd's announce_rate (packets per second).
	AnnounceRate float64 `json:"announce_rate"`
	// LoadStart and LoadEnd are the machine's 1-minute load averages when
	// the lab started and ended: timings on a busy machine are disturbed.
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
	// StaleRemoved counts the namespaces of crashed earlier runs removed at
	// the start.
	StaleRemoved int          `json:"stale_removed"`
	Impls        []ImplReport `json:"impls"`
}

// HostInfo describes the machine the lab ran on.
type HostInfo struct {
	Kernel     string `json:"kernel"`
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Keepalived string `json:"keepalived,omitempty"` // version, when installed
	Vipd       string `json:"vipd"`
}

// ImplReport is one implementation's runs and their summary.
type ImplReport struct {
	Name string `json:"name"`
	// Skipped says why the implementation did not run (keepalived not
	// installed); Runs is empty then.
	Skipped string      `json:"skipped,omitempty"`
	Runs    []RunResult `json:"runs"`
	// Summary is over the runs: min, median and max of each run's
	// recovered count, p50 and max outage.
	Summary *Summary `json:"summary,omitempty"`
}

// RunResult is one run of the scenario.
type RunResult struct {
	Run int `json:"run"`
	// Prefix names the run's namespaces (Namespaces), all gone at the end.
	Prefix     string   `json:"prefix"`
	Namespaces []string `json:"namespaces"`
	// ElectMS is from starting the daemons until A held every VIP.
	ElectMS float64 `json:"elect_ms"`
	// FaultAfterAdvertMS is how long after A's last advertisement (seen
	// by the router) the fault came: the lab powers A off right after one.
	FaultAfterAdvertMS float64 `json:"fault_after_advert_ms"`
	// FaultAfterKeepaliveMS is, in mode bgp, how long after A's last BGP
	// message (seen by the router) the fault came: the lab powers A off
	// right after one, so that the router waits a whole hold time.
	FaultAfterKeepaliveMS float64 `json:"fault_after_keepalive_ms,omitempty"`
	// TakeoverMS is from the fault until B became master; negative when it
	// did not within the watch. Expect the Master_Down_Interval of RFC 5798
	// (3 × advert + (256 − 100) / 256 × advert) minus FaultAfterAdvertMS.
	// In mode bgp it runs until the router's routes to every VIP pointed
	// at B (its kernel table, as BIRD installs them): for a power-off
	// expect the hold time minus FaultAfterKeepaliveMS.
	TakeoverMS float64 `json:"takeover_ms"`
	// RouteChanges counts, in mode bgp, the changes of the router's routes
	// to the VIPs after the fault (a new gateway, a route gone): one per
	// VIP when each moved once to B, more when they flapped.
	RouteChanges int `json:"route_changes,omitempty"`
	// HoldExpiredMS is, in mode bgp, when BIRD logged that A's hold timer
	// expired (absent when it did not: A withdrew and closed its session):
	// the router's detection; TakeoverMS minus it is its convergence.
	HoldExpiredMS *float64 `json:"hold_expired_ms,omitempty"`
	// IdleCPU is the CPU the daemons used at rest, when measured
	// (Options.Idle).
	IdleCPU *IdleCPU `json:"idle_cpu,omitempty"`
	// WatchedMS is how long the client watched after the fault.
	WatchedMS float64 `json:"watched_ms"`
	// ClientLagMS is how late, at worst, the client sent a probe during the
	// watch (its own stall on a busy machine: outages measured around
	// ClientLagAtMS, after the fault, are too long by up to that much);
	// zero when it kept its schedule within a few milliseconds.
	ClientLagMS   float64  `json:"client_lag_ms,omitempty"`
	ClientLagAtMS *float64 `json:"client_lag_at_ms,omitempty"`
	// ProbeIntervalMS is the per-VIP probe interval in effect: the outages'
	// precision.
	ProbeIntervalMS float64 `json:"probe_interval_ms"`
	// Recovered of Total VIPs answered the client again at the end.
	Recovered int `json:"recovered"`
	Total     int `json:"total"`
	// P50 and Max are over every VIP's outage; a VIP that did not recover
	// counts with the watch time as a lower bound (AtLeast).
	P50 Stat `json:"p50"`
	Max Stat `json:"max"`
	// RouterDrops counts the announcements the router's rules dropped.
	RouterDrops int64        `json:"router_drops"`
	VIPs        []VIPOutcome `json:"vip_results"`
}

// VIPOutcome is what the client saw of one VIP.
type VIPOutcome struct {
	VIP string `json:"vip"`
	// Affected tells that the router singles this VIP out (sticky: its
	// gratuitous ARP is ignored; reply-only: all VIPs).
	Affected  bool `json:"affected"`
	Recovered bool `json:"recovered"`
	// OutageMS runs from the fault to the recovery; for a VIP that did not
	// recover, to the end of the watch (a lower bound).
	OutageMS float64 `json:"outage_ms"`
	// DarkMS is when the first unanswered probe was sent, BackMS when the
	// VIP answered again for good (both after the fault; absent when there
	// was none).
	DarkMS *float64 `json:"dark_ms,omitempty"`
	BackMS *float64 `json:"back_ms,omitempty"`
	// AfterTakeoverMS is BackMS minus the run's takeover.
	AfterTakeoverMS *float64 `json:"after_takeover_ms,omitempty"`
	MaxGapMS        float64  `json:"max_gap_ms"`
	// FixedBy is the remediation step that made the router follow, as B's
	// vipd reports it ("" when none was needed or it does not say).
	FixedBy string `json:"fixed_by,omitempty"`
	// Verification is B's vipd's verification state of the VIP at the end
	// ("verified", "stale", ...; "" when it does not say); in mode bgp its
	// route state ("best here", ...).
	Verification string `json:"verification,omitempty"`
}

// Stat is an outage statistic in milliseconds. AtLeast marks a lower bound:
// it falls on a VIP that had not recovered when the watch ended.
type Stat struct {
	MS      float64 `json:"ms"`
	AtLeast bool    `json:"at_least,omitempty"`
}

// busy reports whether the machine had clearly more runnable work than
// CPUs (the lab itself keeps about one busy).
func (r *Report) busy() bool {
	return r.Host.CPUs > 0 && max(r.LoadStart, r.LoadEnd) > 1.5*float64(r.Host.CPUs)
}

// less orders stats: a lower bound is at least the watch time, so after
// every measured value.
func (s Stat) compare(t Stat) int {
	if s.AtLeast != t.AtLeast {
		if s.AtLeast {
			return 1
		}
		return -1
	}
	return cmp.Compare(s.MS, t.MS)
}

// Summary is the spread over the runs of each per-run figure.
type Summary struct {
	Runs      int        `json:"runs"`
	Recovered [3]int     `json:"recovered"` // min, median, max
	Total     int        `json:"total"`
	P50       [3]Stat    `json:"p50"`
	Max       [3]Stat    `json:"max"`
	Takeover  [3]float64 `json:"takeover_ms"`
}

// ms converts a duration to milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func msPtr(d time.Duration) *float64 { v := ms(d); return &v }

// outageStats returns the nearest-rank median and the maximum of the VIPs'
// outages, unrecovered ones counting as lower bounds.
func outageStats(vs []VIPOutcome) (p50, worst Stat) {
	if len(vs) == 0 {
		return Stat{}, Stat{}
	}
	s := make([]Stat, len(vs))
	for i, v := range vs {
		s[i] = Stat{MS: v.OutageMS, AtLeast: !v.Recovered}
	}
	slices.SortFunc(s, Stat.compare)
	return s[rank(len(s), 0.5)], s[len(s)-1]
}

// rank is the index of the nearest-rank p-quantile of n sorted values.
func rank(n int, p float64) int {
	return max(0, int(math.Ceil(p*float64(n)))-1)
}

// spread returns min, nearest-rank median and max.
func spread[T any](xs []T, compare func(a, b T) int) [3]T {
	s := slices.Clone(xs)
	slices.SortFunc(s, compare)
	return [3]T{s[0], s[rank(len(s), 0.5)], s[len(s)-1]}
}

// summarize fills in r.Summary from r.Runs.
func (r *ImplReport) summarize() {
	if len(r.Runs) == 0 {
		r.Summary = nil
		return
	}
	rec := make([]int, len(r.Runs))
	p50 := make([]Stat, len(r.Runs))
	mx := make([]Stat, len(r.Runs))
	tk := make([]float64, len(r.Runs))
	for i, run := range r.Runs {
		rec[i], p50[i], mx[i], tk[i] = run.Recovered, run.P50, run.Max, run.TakeoverMS
	}
	r.Summary = &Summary{
		Runs:      len(r.Runs),
		Recovered: spread(rec, cmp.Compare[int]),
		Total:     r.Runs[0].Total,
		P50:       spread(p50, Stat.compare),
		Max:       spread(mx, Stat.compare),
		Takeover:  spread(tk, cmp.Compare[float64]),
	}
}

// finish computes a run's counts and statistics from its VIPs.
func (r *RunResult) finish() {
	r.Total, r.Recovered = len(r.VIPs), 0
	for _, v := range r.VIPs {
		if v.Recovered {
			r.Recovered++
		}
	}
	r.P50, r.Max = outageStats(r.VIPs)
}

// Impl returns the report of an implementation, or nil.
func (r *Report) Impl(name Impl) *ImplReport {
	for i := range r.Impls {
		if r.Impls[i].Name == string(name) {
			return &r.Impls[i]
		}
	}
	return nil
}

// newReport starts the report of a lab with options o.
func newReport(o Options) *Report {
	mode, fault := cmp.Or(o.Mode, ModeVRRP), cmp.Or(o.Fault, PowerOff)
	rep := &Report{
		Started:         time.Now(),
		Mode:            mode,
		Fault:           fault,
		HoldTimeMS:      ms(o.HoldTime),
		Router:          o.Router.String(),
		Description:     o.RouterDescription(),
		VIPs:            o.VIPs,
		IPv6:            o.IPv6,
		AdvertMS:        ms(o.Advert),
		WatchMS:         ms(o.Watch),
		ProbeIntervalMS: ms(o.ProbeInterval),
		AnnounceRate:    o.AnnounceRate,
	}
	switch o.Router {
	case labnet.Sticky:
		rep.StickyFraction = o.StickyFraction
	case labnet.Policer:
		rep.PolicerRate = o.PolicerRate
	case labnet.Lossy:
		rep.LossPercent = o.LossPercent
	}
	return rep
}

// IdleCPU is the CPU time every process of a node's namespace (the daemon
// and whatever it runs) used over a period at rest, in percent of one CPU.
type IdleCPU struct {
	Seconds float64 `json:"seconds"`
	Master  float64 `json:"master_percent"`
	Backup  float64 `json:"backup_percent"`
}
