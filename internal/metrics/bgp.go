package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vipd/vipd/internal/control"
)

// RoutedStates are the values of vipd_instance_state's state label for a
// routed instance (mode: bgp).
var RoutedStates = []string{"INIT", "ANNOUNCING", "FAULT"}

// RouteStates are the values of the state label of vipd_vip_route_state.
var RouteStates = []string{"not announced", "unknown", "announced", "best here", "best elsewhere", "best here at some peers"}

// bgpDescs are the routed mode's series: the sessions (per node) and each
// routed VIP's route.
type bgpDescs struct {
	sessionUp, sessionUptime, prefixesSent, prefixesReceived, routeState *prometheus.Desc
}

func newBGPDescs() bgpDescs {
	peer := []string{"peer", "peer_asn"}
	return bgpDescs{
		sessionUp: prometheus.NewDesc("vipd_bgp_session_established",
			"Whether the BGP session with the peer is established (1) or not (0).", peer, nil),
		sessionUptime: prometheus.NewDesc("vipd_bgp_session_uptime_seconds",
			"How long the BGP session with the peer has been established; 0 while it is not.", peer, nil),
		prefixesSent: prometheus.NewDesc("vipd_bgp_prefixes_sent",
			"Prefixes advertised to the BGP peer now.", peer, nil),
		prefixesReceived: prometheus.NewDesc("vipd_bgp_prefixes_received",
			"Prefixes received from the BGP peer now.", peer, nil),
		routeState: prometheus.NewDesc("vipd_vip_route_state",
			"Route of a routed virtual address as this node verifies it: 1 for the current state, 0 for the others.",
			withInstance("vip", "state"), nil),
	}
}

func (b bgpDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{b.sessionUp, b.sessionUptime, b.prefixesSent, b.prefixesReceived, b.routeState}
}

func (b bgpDescs) collectSessions(ch chan<- prometheus.Metric, st *control.BGPStatus) {
	if st == nil {
		return
	}
	seen := map[string]bool{}
	for _, p := range st.Peers {
		if seen[p.Address] {
			continue
		}
		seen[p.Address] = true
		lv := []string{p.Address, strconv.FormatUint(uint64(p.ASN), 10)}
		ch <- prometheus.MustNewConstMetric(b.sessionUp, prometheus.GaugeValue, boolFloat(p.Established()), lv...)
		ch <- prometheus.MustNewConstMetric(b.sessionUptime, prometheus.GaugeValue, time.Duration(p.Uptime).Seconds(), lv...)
		ch <- prometheus.MustNewConstMetric(b.prefixesSent, prometheus.GaugeValue, float64(p.PrefixesSent), lv...)
		ch <- prometheus.MustNewConstMetric(b.prefixesReceived, prometheus.GaugeValue, float64(p.PrefixesReceived), lv...)
	}
}

// collectRoute reports a routed VIP's route state (gauge adds the
// instance's labels).
func (b bgpDescs) collectRoute(gauge func(*prometheus.Desc, float64, ...string), vip string, v control.VIPStatus) {
	if v.Route == "" {
		return
	}
	for _, s := range RouteStates {
		gauge(b.routeState, boolFloat(v.Route == s), vip, s)
	}
}
