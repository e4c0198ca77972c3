// Package lab is `vipd lab`: the seed's network in one command, and vipd's
// failover benchmark.
//
// Run builds a lab with labnet (a client, a Linux router standing in for the
// upstream device, a bridge as the switch, nodes A and B, all in network
// namespaces with unique names), runs a VRRP version 3 (RFC 5798)
// implementation on both nodes — vipd itself, as child processes of the same
// binary, or keepalived for comparison — waits until A owns the virtual IPs,
// probes every VIP from the client (ICMP echo, RFC 792 / RFC 4443), "powers
// off" node A (its switch port goes down and its processes are killed) and
// measures, per VIP, the outage the client saw and whether the VIP came back
// on B. The router can behave like the devices that break failover (see
// labnet.Behaviour): the seed's sticky ARP table, a router that honours only
// gratuitous ARP replies, an ARP policer, a lossy ARP path, and static
// entries (pinned) that only the RFC 5798 virtual MAC survives
// (Options.VirtualMAC).
//
// The pure parts are the scenario's options and generated configurations
// (options.go, config.go, mode.go), the report with its statistics (report.go) and
// its renderings: text (text.go), an SVG timeline and an HTML page (svg.go,
// html.go) and the progress display (progress.go). The Linux edge runs the
// scenario (run_linux.go, proc_linux.go).
//
// # Method
//
// A is started first and B only once A owns the VIPs, so that B never wins
// a start-up race and tells the router its MAC. Both nodes then ping the
// router once, as nodes that talk to the world do, so that B's replies do
// not wait for its own ARP request to a router that drops ARP. The fault
// comes right after one of A's advertisements, as the router sees them:
// B then waits a whole Master_Down_Interval (3 × advert + skew, 361 ms for
// 100 ms and priority 100), so that every implementation starts from the
// same point. An outage runs from the fault to the first reply after which
// every probe was answered; a VIP still dark when the watch ends counts with
// the watch time as a lower bound. Each implementation gets a fresh lab.
//
// # Lab settings
//
// The lab's vipd configuration sets announce_rate from the VIP count so that
// one announcement round for every VIP (two frames per IPv4 VIP, one per IPv6
// VIP) leaves within about 2 s: max(500, frames/2) packets per second, 4096/s
// for 4096 IPv4 VIPs. This is a setting of the lab's generated configuration;
// the daemon's default stays 500/s. With more than 155 VIPs the LAN is
// 198.18.0.0/16 (RFC 2544's benchmark range) instead of 192.0.2.0/24, and the
// host's neighbour table limits are raised (labnet.RaiseNeighLimits: the only
// host-wide change). The prober sends at most labnet.MaxPPS probes a second,
// so with many VIPs each one is probed less often than every 10 ms (4096 VIPs:
// every 204.8 ms), which bounds the precision of the outages.
//
// # Routed mode
//
// With Options.Mode ModeBGP (`vipd lab --mode bgp`, mode.go, bgp_linux.go)
// the VIPs are host routes outside the LAN (198.19.0.0/16 or
// 2001:db8:ff::/48) that the router only knows from BGP: the router runs
// BIRD 2 (AS 65000) with one eBGP session per node, of the VIPs' family;
// A and B run vipd with mode: bgp (AS 65001, priorities 200 and 100, so
// A's paths win by AS-path length). A starts first; the lab waits until
// the router's kernel routes to every VIP point at A and A verifies them
// best here, then until B reports every VIP best elsewhere. The fault
// comes right after one of A's BGP messages as the router sees them (a raw
// TCP socket in the router's namespace), so that a powered-off A leaves
// the router a whole hold time; BIRD starts its hold timer at 75 to 100 %
// of the hold time (RFC 4271 §10's jitter), and the lab records when BIRD
// logged the expiry. The takeover is when the router's routes to every VIP
// point at B (netlink notifications from the router's namespace, not
// polled). --fault sigterm stops A's vipd instead, which withdraws first.
// The watch also waits for B to report every VIP best here. keepalived
// has no routed mode: mode bgp runs vipd only.
//
// Stale labs of a run that was killed are removed at the start of the next
// one (labnet.CleanupStale); the daemons are started with a parent-death
// signal, so they do not outlive a killed `vipd lab`.
package lab
