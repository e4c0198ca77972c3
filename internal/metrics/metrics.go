package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vipd/vipd/internal/control"
)

// FailoverBuckets are the upper bounds, in seconds, of
// vipd_failover_duration_seconds. A VRRP takeover with the default 1 s
// advertisement interval takes Master_Down_Interval ≈ 3.6 s; with 100 ms
// about 0.4 s; verifying every VIP through a sticky upstream and repairing
// it can take tens of seconds.
var FailoverBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60}

// Metrics is vipd's Prometheus registry: the scrape-time status collector,
// the event instruments, and the Go and process collectors. Its methods are
// safe for concurrent use; the event methods (ObserveFailover,
// RemediationSent, Misdirected, HealthCheck, DeclareInstance,
// ForgetInstance) are no-ops on a nil *Metrics.
type Metrics struct {
	reg *prometheus.Registry

	failover    *prometheus.HistogramVec
	remediation *prometheus.CounterVec
	misdirected *prometheus.CounterVec
	health      *prometheus.GaugeVec
}

// New returns the metrics of the vipd on node. src is called on every
// scrape, possibly concurrently, and must return promptly: the daemon
// typically asks its instance loops with a timeout and leaves out the
// instances that did not answer.
func New(node string, src func() control.Status) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		failover: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vipd_failover_duration_seconds",
			Help:    "Time from the previous master last heard to every VIP of the instance verified at this node, for takeovers from another master (not start-up elections), by reason: master_down, preempted, resigned.",
			Buckets: FailoverBuckets,
		}, []string{"instance", "reason"}),
		remediation: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_remediation_packets_total",
			Help: "Packets sent to repair a neighbour's entry for a VIP, by kind.",
		}, []string{"instance", "kind"}),
		misdirected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_misdirected_packets_total",
			Help: "Packets for a VIP seen arriving at this node while another node owns it.",
		}, []string{"instance", "vip"}),
		health: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vipd_health_check_up",
			Help: "Whether a health check passes (1) or fails or has not passed yet (0).",
		}, []string{"instance", "check"}),
	}
	m.reg.MustRegister(
		newStatusCollector(node, src),
		m.failover, m.remediation, m.misdirected, m.health,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, to register more collectors or to gather
// in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats. A
// metric that fails to collect is left out rather than failing the scrape,
// and counted in promhttp_metric_handler_errors_total.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg,
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
}

// Why a failover happened: the reason label of
// vipd_failover_duration_seconds.
const (
	FailoverMasterDown = "master_down" // the master went silent (Master_Down_Interval)
	FailoverPreempted  = "preempted"   // this node preempted a lower-priority master
	FailoverResigned   = "resigned"    // the master resigned (priority 0)
)

// FailoverReasons lists the reasons, in the order they are declared.
var FailoverReasons = []string{FailoverMasterDown, FailoverPreempted, FailoverResigned}

// ObserveFailover records that instance took over from another master for
// reason (a FailoverReasons value) in d: from the previous master last
// heard to every VIP being verified at this node.
func (m *Metrics) ObserveFailover(instance, reason string, d time.Duration) {
	if m == nil {
		return
	}
	m.failover.WithLabelValues(instance, reason).Observe(d.Seconds())
}

// DeclareInstance creates the event series of instance at zero, so that
// they exist from the first scrape (rate() and absent() need them): a
// failover histogram per reason, remediation packets per kind, misdirected
// packets per VIP, and each health check (0, "not up", until it passes).
// Declaring again after a reload adds the new series and leaves the
// existing ones as they are.
func (m *Metrics) DeclareInstance(instance string, kinds, vips, checks []string) {
	if m == nil {
		return
	}
	for _, r := range FailoverReasons {
		m.failover.WithLabelValues(instance, r)
	}
	for _, k := range kinds {
		m.remediation.WithLabelValues(instance, k)
	}
	for _, v := range vips {
		m.misdirected.WithLabelValues(instance, VIPLabel(v))
	}
	for _, c := range checks {
		// A gauge created here is 0; one already set keeps its value.
		m.health.WithLabelValues(instance, c)
	}
}

// RemediationSent counts n packets of kind (for example "gratuitous",
// "directed", "unicast") sent by instance to repair a neighbour entry.
// n ≤ 0 records nothing.
func (m *Metrics) RemediationSent(instance, kind string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.remediation.WithLabelValues(instance, kind).Add(float64(n))
}

// Misdirected counts n packets for vip seen arriving at this node while
// another node of instance owns it. vip is an address or a prefix; the
// label holds the address alone (see [VIPLabel]). n ≤ 0 records nothing.
func (m *Metrics) Misdirected(instance, vip string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.misdirected.WithLabelValues(instance, VIPLabel(vip)).Add(float64(n))
}

// HealthCheck records the latest result of check on instance.
func (m *Metrics) HealthCheck(instance, check string, healthy bool) {
	if m == nil {
		return
	}
	v := 0.0
	if healthy {
		v = 1
	}
	m.health.WithLabelValues(instance, check).Set(v)
}

// ForgetInstance drops the event series of instance, for an instance that
// a reload removed. Its scrape-time series go away by themselves.
func (m *Metrics) ForgetInstance(instance string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"instance": instance}
	m.failover.DeletePartialMatch(l)
	m.remediation.DeletePartialMatch(l)
	m.misdirected.DeletePartialMatch(l)
	m.health.DeletePartialMatch(l)
}
