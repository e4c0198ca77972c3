package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vipd/vipd/internal/control"
)

func TestEvents(t *testing.T) {
	m := New("a", func() control.Status { return control.Status{} })

	m.ObserveFailover("web", FailoverMasterDown, 30*time.Millisecond)
	m.ObserveFailover("web", FailoverMasterDown, 1500*time.Millisecond)
	m.ObserveFailover("web", FailoverMasterDown, 2*time.Minute)
	m.RemediationSent("web", "directed", 3)
	m.RemediationSent("web", "directed", 2)
	m.RemediationSent("web", "unicast", 0)  // nothing
	m.RemediationSent("web", "unicast", -1) // nothing, and no panic
	m.Misdirected("web", "192.0.2.100/24", 7)
	m.Misdirected("web", "192.0.2.100", 1)
	m.HealthCheck("web", "nginx", false)
	m.HealthCheck("web", "nginx", true)
	m.HealthCheck("web", "disk", false)

	const want = `
# HELP vipd_failover_duration_seconds Time from the previous master last heard to every VIP of the instance verified at this node, for takeovers from another master (not start-up elections), by reason: master_down, preempted, resigned.
# TYPE vipd_failover_duration_seconds histogram
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="0.05"} 1
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="0.1"} 1
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="0.25"} 1
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="0.5"} 1
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="1"} 1
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="2"} 2
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="3"} 2
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="5"} 2
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="10"} 2
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="20"} 2
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="30"} 2
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="60"} 2
vipd_failover_duration_seconds_bucket{instance="web",reason="master_down",le="+Inf"} 3
vipd_failover_duration_seconds_sum{instance="web",reason="master_down"} 121.53
vipd_failover_duration_seconds_count{instance="web",reason="master_down"} 3
# HELP vipd_remediation_packets_total Packets sent to repair a neighbour's entry for a VIP, by kind.
# TYPE vipd_remediation_packets_total counter
vipd_remediation_packets_total{instance="web",kind="directed"} 5
# HELP vipd_misdirected_packets_total Packets for a VIP seen arriving at this node while another node owns it.
# TYPE vipd_misdirected_packets_total counter
vipd_misdirected_packets_total{instance="web",vip="192.0.2.100"} 8
# HELP vipd_health_check_up Whether a health check passes (1) or fails or has not passed yet (0).
# TYPE vipd_health_check_up gauge
vipd_health_check_up{check="disk",instance="web"} 0
vipd_health_check_up{check="nginx",instance="web"} 1
`
	names := []string{"vipd_failover_duration_seconds", "vipd_remediation_packets_total",
		"vipd_misdirected_packets_total", "vipd_health_check_up"}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	m.HealthCheck("db", "pg", true)
	m.ForgetInstance("web")
	if n, err := testutil.GatherAndCount(m.Registry(), names...); err != nil || n != 1 {
		t.Errorf("after ForgetInstance(web): %d series (err %v), want 1 (db's health check)", n, err)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.DeclareInstance("web", []string{"directed"}, []string{"192.0.2.1/24"}, []string{"c"})
	m.ObserveFailover("web", FailoverResigned, time.Second)
	m.RemediationSent("web", "directed", 1)
	m.Misdirected("web", "192.0.2.1", 1)
	m.HealthCheck("web", "c", true)
	m.ForgetInstance("web")
}

// TestDeclaredSeriesAtZero: every event series of a declared instance is
// there at the first scrape, at 0, before anything happened; later events
// count on from there, and declaring again (a reload) resets nothing.
func TestDeclaredSeriesAtZero(t *testing.T) {
	m := New("a", func() control.Status { return control.Status{} })
	m.DeclareInstance("web", []string{"gratuitous_request", "directed_request"}, []string{"192.0.2.100/24", "192.0.2.101/24"}, []string{"nginx"})
	names := []string{"vipd_failover_duration_seconds", "vipd_remediation_packets_total",
		"vipd_misdirected_packets_total", "vipd_health_check_up"}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, mt := range mf.GetMetric() {
			v := mt.GetCounter().GetValue() + mt.GetGauge().GetValue() + float64(mt.GetHistogram().GetSampleCount())
			if v != 0 {
				t.Errorf("%s %v = %v at the first scrape, want 0", mf.GetName(), mt.GetLabel(), v)
			}
			got[mf.GetName()]++
		}
	}
	for name, want := range map[string]int{names[0]: 3, names[1]: 2, names[2]: 2, names[3]: 1} {
		if got[name] != want {
			t.Errorf("%s: %d series at the first scrape, want %d", name, got[name], want)
		}
	}
	m.RemediationSent("web", "directed_request", 2)
	m.HealthCheck("web", "nginx", true)
	m.DeclareInstance("web", []string{"gratuitous_request", "directed_request"}, []string{"192.0.2.100/24"}, []string{"nginx"})
	if v := testutil.ToFloat64(m.remediation.WithLabelValues("web", "directed_request")); v != 2 {
		t.Errorf("remediation after a second declaration: %v, want 2", v)
	}
	if v := testutil.ToFloat64(m.health.WithLabelValues("web", "nginx")); v != 1 {
		t.Errorf("health after a second declaration: %v, want 1", v)
	}
}

func TestRegistryLint(t *testing.T) {
	m := New("a", sampleStatus)
	m.ObserveFailover("web", FailoverResigned, time.Second)
	m.RemediationSent("web", "directed", 1)
	m.Misdirected("web", "192.0.2.100", 1)
	m.HealthCheck("web", "c", true)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(New("a", sampleStatus).Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name   string
		accept string
		ctype  string
		want   []string
	}{
		{
			name:  "text format",
			ctype: "text/plain",
			want: []string{
				`vipd_info{node="a",version="v0.1.0"} 1`,
				`vipd_instance_state{family="ipv4",iface="eth0",instance="web",state="MASTER",vrid="42"} 1`,
				`vipd_adverts_sent_total{family="ipv4",iface="eth0",instance="web",vrid="42"} 1000`,
				"\ngo_goroutines ",
				"\nprocess_open_fds ",
				"\npromhttp_metric_handler_requests_total{code=\"200\"} ",
			},
		},
		{
			name:   "OpenMetrics when asked",
			accept: "application/openmetrics-text;version=1.0.0",
			ctype:  "application/openmetrics-text",
			want: []string{
				`vipd_adverts_sent_total{family="ipv4",iface="eth0",instance="web",vrid="42"} 1000`,
				"# EOF\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body:\n%s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want %s…", ct, tt.ctype)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("exposition lacks %q", w)
				}
			}
		})
	}
}

// TestConcurrentScrapes runs scrapes and events together under -race.
func TestConcurrentScrapes(t *testing.T) {
	m := New("a", sampleStatus)
	h := m.Handler()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 5 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				if rec.Code != http.StatusOK {
					t.Errorf("scrape: status %d", rec.Code)
				}
				m.RemediationSent("web", "gratuitous", i+1)
				m.HealthCheck("web", "c", i%2 == 0)
			}
		})
	}
	wg.Wait()
	if got := testutil.ToFloat64(m.remediation.WithLabelValues("web", "gratuitous")); got != 5*(1+2+3+4+5+6+7+8) {
		t.Errorf("remediation counter %v, want %v", got, 5*(1+2+3+4+5+6+7+8))
	}
}
