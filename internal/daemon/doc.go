// Package daemon runs vipd's VRRP instances: it wires the state machine
// (package fsm) to the wire (package transport), the addresses (package
// vipaddr) and the announcements (package announce), and answers the control
// socket.
//
// Each instance is one goroutine that owns its fsm.Machine, its timer and its
// counters; packets, control requests and the stop signal reach it as
// messages. One goroutine per (interface, address family) reads VRRP packets
// and hands each to the instance with its VRID (RFC 5798 §7.1 receive checks
// are done by the instance, which knows its own configuration).
//
// The privileged edge is behind the Env interface, so the whole daemon runs
// in tests over in-memory links without root.
package daemon
