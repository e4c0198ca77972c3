// Package health runs an instance's health checks and turns their results
// into the instance's effective priority and fault state, the way
// keepalived's track_script adjusts a VRRP router's priority (RFC 5798
// §6.1: Priority) and puts it in FAULT.
//
// # Checks
//
// A [Monitor] runs each check of an instance in a goroutine of its own,
// every Interval (from the start of one run to the start of the next),
// each run bounded by the check's Timeout with a context deadline. Runs
// never block the caller: the protocol loop gets [Deps].OnChange calls or
// reads [Monitor.Status]. The built-in probers ([DefaultProbers]) are:
//
//   - exec: /bin/sh -c TARGET in a process group of its own; exit status 0
//     passes. On timeout the whole group is killed; the first 512 bytes of
//     output go into the error (CheckStatus.LastErr).
//   - tcp: a TCP connect to host:port.
//   - http: a GET of the URL answered with expect_status; no proxy, no
//     redirects followed, no keep-alive, certificates not verified.
//   - interface: the link is administratively up and operationally up (or,
//     for drivers that do not report it, running), asked over netlink.
//
// Probers are injectable ([Deps].Probers), so tests of the scheduling and
// of the rise/fall logic need neither processes nor sockets nor time
// ([healthtest]).
//
// # States
//
//	          first run passes
//	pending ------------------------> healthy
//	   |                               |   ^
//	   |                  fall fails   |   |  rise passes
//	   |  first run fails  in a row    |   |  in a row
//	   |                               v   |
//	   +---------------------------> failing
//
// A check starts pending, and a pending check counts as failing: its
// negative weight applies and a fault check holds the instance in FAULT.
// Its first result decides its state at once, without rise or fall; after
// that rise and fall apply. This is what an operator expects on a node
// that starts (or restarts) while its service is still coming up: the node
// never takes the VIPs over, or preempts the current master, on the
// strength of checks that have not run, and it reaches its full priority
// after one passing run, not after rise of them. [Monitor.Ready] tells
// when every check has its first result, so that a caller may hold the
// instance's start until then.
//
// # Effect
//
// Weights follow keepalived: a negative weight is added to the priority
// while its check is failing, a positive one while it is healthy.
// [Effective] adds the sum ([Status].PriorityDelta) to the configured
// priority and clamps the result to 1..254, so checks neither make a
// router the address owner nor make it resign (priority 0); the address
// owner's 255 never changes. Any failing fault check puts the instance in
// FAULT ([Status].Fault): no VIPs, no advertisements.
package health
