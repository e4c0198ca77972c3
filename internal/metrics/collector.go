package metrics

import (
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vipd/vipd/internal/control"
)

// InstanceStates are the values of the state label of vipd_instance_state,
// in the order they are exposed.
var InstanceStates = []string{"INIT", "BACKUP", "MASTER", "FAULT"}

// VerificationStates are the values of the state label of
// vipd_vip_verification_state: the names of verify.State (internal/verify),
// which this package does not import.
var VerificationStates = []string{"unknown", "verified", "stale", "unverifiable"}

// vipVerification returns the verification state of v, and false when v
// carries none.
//
// vipVerification is the VIP's verification state, when the daemon
// verifies it (only while it holds the VIP).
func vipVerification(v control.VIPStatus) (string, bool) {
	return v.Verification, v.Verification != ""
}

// instanceLabels label every per-instance metric read from a status.
var instanceLabels = []string{"instance", "vrid", "iface", "family"}

func withInstance(extra ...string) []string {
	return append(append([]string(nil), instanceLabels...), extra...)
}

// statusCollector turns a control.Status, taken at scrape time, into const
// metrics.
type statusCollector struct {
	node string
	src  func() control.Status
	// verification reads a VIP's verification state; vipVerification
	// outside tests.
	verification func(control.VIPStatus) (string, bool)

	info                 *prometheus.Desc
	state                *prometheus.Desc
	priority             *prometheus.Desc
	effectivePriority    *prometheus.Desc
	masterPriority       *prometheus.Desc
	advertInterval       *prometheus.Desc
	masterAdvertInterval *prometheus.Desc
	lastTransition       *prometheus.Desc
	transitions          *prometheus.Desc
	advertsSent          *prometheus.Desc
	advertsReceived      *prometheus.Desc
	drops                *prometheus.Desc
	addressMismatch      *prometheus.Desc
	vipsConfigured       *prometheus.Desc
	vipsHeld             *prometheus.Desc
	vipHeld              *prometheus.Desc
	vipVerificationState *prometheus.Desc
	vipConflict          *prometheus.Desc
	bgp                  bgpDescs
}

func newStatusCollector(node string, src func() control.Status) *statusCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, withInstance(labels...), nil)
	}
	return &statusCollector{
		node:         node,
		src:          src,
		verification: vipVerification,
		bgp:          newBGPDescs(),

		info: prometheus.NewDesc("vipd_info",
			"Information about the vipd process; always 1.", []string{"node", "version"}, nil),
		state: d("vipd_instance_state",
			"VRRP state of the instance: 1 for the current state, 0 for the others.", "state"),
		priority: d("vipd_instance_priority",
			"Configured VRRP priority of the instance."),
		effectivePriority: d("vipd_instance_effective_priority",
			"VRRP priority the instance advertises now, after health-check adjustments."),
		masterPriority: d("vipd_instance_master_priority",
			"Priority advertised by the current master, this node included; absent when no master is known."),
		advertInterval: d("vipd_instance_advert_interval_seconds",
			"Configured advertisement interval of the instance."),
		masterAdvertInterval: d("vipd_instance_master_advert_interval_seconds",
			"Advertisement interval learnt from the current master (RFC 5798 Master_Adver_Interval)."),
		lastTransition: d("vipd_instance_last_transition_timestamp_seconds",
			"Unix time of the instance's last state change; absent before the first one."),
		transitions: d("vipd_transitions_total",
			"State changes of the instance."),
		advertsSent: d("vipd_adverts_sent_total",
			"VRRP advertisements sent by the instance."),
		advertsReceived: d("vipd_adverts_received_total",
			"VRRP advertisements received by the instance."),
		drops: d("vipd_drops_total",
			"VRRP advertisements discarded, by drop reason; reasons starting with link_ are counted per interface and shown on each of its instances.", "reason"),
		addressMismatch: d("vipd_address_mismatch_total",
			"Advertisements whose address list differs from the configured one (RFC 5798 section 7.1: logged, not dropped)."),
		vipsConfigured: d("vipd_vips_configured",
			"Virtual addresses configured on the instance."),
		vipsHeld: d("vipd_vips_held",
			"Virtual addresses of the instance present on its interface."),
		vipHeld: d("vipd_vip_held",
			"Whether the virtual address is present on the interface (1) or not (0).", "vip"),
		vipVerificationState: d("vipd_vip_verification_state",
			"Verification state of the virtual address: 1 for the current state, 0 for the others.", "vip", "state"),
		vipConflict: d("vipd_vip_conflict",
			"Whether another host answers for the virtual address while this node holds it (1) or not (0).", "vip"),
	}
}

// Describe implements prometheus.Collector.
func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.info, c.state, c.priority, c.effectivePriority, c.masterPriority,
		c.advertInterval, c.masterAdvertInterval, c.lastTransition,
		c.transitions, c.advertsSent, c.advertsReceived, c.drops,
		c.addressMismatch, c.vipsConfigured, c.vipsHeld, c.vipHeld,
		c.vipVerificationState, c.vipConflict,
	} {
		ch <- d
	}
	for _, d := range c.bgp.all() {
		ch <- d
	}
}

// Collect implements prometheus.Collector. An instance whose name repeats
// one seen earlier in the same status is left out (names are unique in a
// valid configuration; a repeat would fail the whole scrape), as is a VIP
// listed twice in one instance.
func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src()
	version := st.Version
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, c.node, version)
	c.bgp.collectSessions(ch, st.BGP)

	seen := make(map[string]bool, len(st.Instances))
	for i := range st.Instances {
		in := &st.Instances[i]
		if seen[in.Name] {
			continue
		}
		seen[in.Name] = true
		c.collectInstance(ch, in)
	}
}

func (c *statusCollector) collectInstance(ch chan<- prometheus.Metric, in *control.InstanceStatus) {
	lv := []string{in.Name, strconv.Itoa(int(in.VRID)), in.Interface, in.Family}
	gauge := func(d *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(lv[:4:4], extra...)...)
	}
	counter := func(d *prometheus.Desc, v uint64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append(lv[:4:4], extra...)...)
	}

	states := InstanceStates
	if in.Mode == "bgp" {
		states = RoutedStates
	}
	for _, s := range states {
		gauge(c.state, boolFloat(in.State == s), s)
	}
	gauge(c.priority, float64(in.Priority))
	gauge(c.effectivePriority, float64(in.EffectivePriority))
	if in.Master != nil {
		gauge(c.masterPriority, float64(in.Master.Priority))
	}
	gauge(c.advertInterval, time.Duration(in.AdvertInterval).Seconds())
	gauge(c.masterAdvertInterval, time.Duration(in.MasterAdvertInterval).Seconds())
	if t := in.Counters.LastTransition; !t.IsZero() {
		gauge(c.lastTransition, float64(t.UnixNano())/1e9)
	}

	counter(c.transitions, in.Counters.Transitions)
	counter(c.advertsSent, in.Counters.AdvertsSent)
	counter(c.advertsReceived, in.Counters.AdvertsReceived)
	counter(c.addressMismatch, in.Counters.AddressMismatch)
	reasons := make([]string, 0, len(in.Counters.Drops))
	for r := range in.Counters.Drops {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		counter(c.drops, in.Counters.Drops[r], r)
	}

	held := 0
	seen := make(map[string]bool, len(in.VIPs))
	for _, v := range in.VIPs {
		vip := VIPLabel(v.Address)
		if seen[vip] {
			continue
		}
		seen[vip] = true
		if v.Held {
			held++
		}
		gauge(c.vipHeld, boolFloat(v.Held), vip)
		gauge(c.vipConflict, boolFloat(v.ConflictMAC != ""), vip)
		c.bgp.collectRoute(gauge, vip, v)
		if vs, ok := c.verification(v); ok {
			for _, s := range VerificationStates {
				gauge(c.vipVerificationState, boolFloat(vs == s), vip, s)
			}
		}
	}
	gauge(c.vipsConfigured, float64(len(seen)))
	gauge(c.vipsHeld, float64(held))
}

// VIPLabel is the value of the vip label for a virtual address given as a
// prefix ("192.0.2.100/24") or an address: the address alone, in
// netip.Addr.String form ("192.0.2.100", "2001:db8::64"). Anything else is
// returned unchanged. Callers of [Metrics.Misdirected] pass the same form,
// so that the series join on vip.
func VIPLabel(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr().String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return s
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
