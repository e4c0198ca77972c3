// Package present owns an instance's VIPs on the wire: the one object that
// makes them present (addresses on the interface, announced, verified at the
// upstream, watched as held) or absent (removed, watched for traffic that
// still arrives), and keeps them so.
//
// The state machine (package fsm) decides; the daemon tells a Presenter what
// should be true through a small seam — TakeOver, Release, Reassert,
// SetVIPs, Reconcile — and never touches addresses, announcements,
// verification or watching itself. A second way of presenting VIPs (BGP)
// would be another implementation of Presenter.
//
// With the RFC 5798 virtual MAC (Deps.VMAC, package vmac) L2 presents the
// VIPs on a macvlan of vipd's own instead of the interface: it keeps that
// link as it keeps the VIPs — present and down while not held, up before
// the VIPs are added, down before they are removed, created again if it
// vanishes, deleted on Close — and announces and verifies from its MAC.
//
// L2, the implementation for a shared Ethernet segment, is level-triggered:
// it holds the desired state and reconciles it with the kernel's actual
// state, which it reads from Kernel (kept current by netlink events, see
// package netmon), whenever either changes:
//
//	desired  actual (per VIP)         action
//	held     absent, never ours       add, announce, probe for conflicts, verify
//	held     ours, then gone          add again, report Restored, announce, verify
//	absent   ours                     remove (after watching them as not held)
//	absent   present, not ours        report Unexpected once; never removed
//
// Each VIP goes through a small state machine (see vipState) so that an
// address it has just added and the kernel has not reported yet is not taken
// for one removed behind its back, nor one it has just removed for one that
// appeared. All netlink work happens on the Presenter's own goroutine, never
// on the VRRP protocol loop: adverts keep their cadence while thousands of
// addresses are added.
//
// A takeover is the critical path. Its announcement schedule starts before
// the adds and each chunk of VIPs is released to the pacer as soon as it is
// added; the first round sends each VIP an ordinary request to each upstream
// target (looked up ahead while backup) and its gratuitous form(s). Conflict
// probes (to a sample of the VIPs) wait until the pacer reports that round
// written, verification a moment longer, so that nothing queues ahead of the
// announcements and a busy upstream is not taken for a stale one. A VIP
// found stale tells the adaptive pacer to slow down.
package present
