// Package metrics exposes vipd's state to Prometheus, in the text
// exposition format that Prometheus scrapes over HTTP (the OpenMetrics
// format when the scraper asks for it). It is vipd's own schema, not an RFC;
// the names follow the Prometheus naming conventions and pass promlint.
//
// vipd's protocol packages do not import Prometheus. State they already keep
// (VRRP state, priorities, counters, held VIPs) is read at scrape time: a
// [Metrics] calls the snapshot function given to [New], the same
// [control.Status] that `vipd status` shows, and turns it into const
// metrics. Things a snapshot cannot show (how long a failover took, how many
// packets a repair sent) are recorded as they happen through verb methods:
// [Metrics.ObserveFailover], [Metrics.RemediationSent],
// [Metrics.Misdirected] and [Metrics.HealthCheck]. The methods are no-ops on
// a nil *Metrics, so the daemon can run without metrics.
//
// Read at scrape time, labelled instance, vrid, iface and family:
//
//	vipd_instance_state{state}                 1 for the current state, 0 for INIT, BACKUP, MASTER, FAULT otherwise
//	vipd_instance_priority                     configured priority
//	vipd_instance_effective_priority           advertised priority after health-check adjustments
//	vipd_instance_master_priority              priority of the current master, when one is known
//	vipd_instance_advert_interval_seconds      configured advertisement interval
//	vipd_instance_master_advert_interval_seconds  Master_Adver_Interval learnt from the master
//	vipd_instance_last_transition_timestamp_seconds  Unix time of the last state change
//	vipd_transitions_total                     state changes
//	vipd_adverts_sent_total                    advertisements sent
//	vipd_adverts_received_total                advertisements received
//	vipd_drops_total{reason}                   advertisements dropped, by drop reason
//	vipd_address_mismatch_total                advertisements with a different address list
//	vipd_vips_configured                       VIPs in the configuration
//	vipd_vips_held                             VIPs present on the interface
//	vipd_vip_held{vip}                         1 if this VIP is on the interface (vip: the bare address)
//	vipd_vip_verification_state{vip,state}     1 for the VIP's verification state (see below)
//	vipd_vip_conflict{vip}                     1 if another host answers for a VIP held here
//
// and vipd_info{node,version} (always 1). The Go runtime and process
// collectors add go_goroutines, process_open_fds and the like.
//
// Recorded as events, labelled instance, every series declared at 0 when
// the instance starts ([Metrics.DeclareInstance]) so that it exists from
// the first scrape:
//
//	vipd_failover_duration_seconds{reason}     histogram: previous master last heard → every VIP
//	                                           verified; takeovers from another master only
//	                                           (master_down, preempted, resigned), not start-up
//	vipd_remediation_packets_total{kind}       packets sent to repair a neighbour entry
//	vipd_misdirected_packets_total{vip}        packets for a VIP seen arriving at a non-owner
//	vipd_health_check_up{check}                1 if the health check passes (0 until it does)
//
// [Serve] runs the HTTP endpoint: /metrics and a small index page at /.
package metrics
