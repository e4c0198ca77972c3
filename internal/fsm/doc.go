// Package fsm implements the VRRP version 3 state machine of RFC 5798
// section 6.4 as a pure function of events and time.
//
// A Machine never reads a clock and never sleeps: every call to Step gets the
// current time, and NextDeadline tells the caller when to call Step(Tick)
// again. The caller (the daemon's per-instance loop) performs the returned
// actions: sending advertisements, adding or removing the virtual addresses.
// Tests drive whole failover timelines in microseconds with made-up times.
//
//	          Startup (priority 255)
//	┌──────────────┐ ─────────────────────────────┐
//	│  Initialize  │                              ▼
//	└──────────────┘ Startup      ┌────────┐  Master_Down_Timer   ┌────────┐
//	   ▲     ▲  ────────────────▶ │ Backup │ ───────────────────▶ │ Master │
//	   │     │                    └────────┘ ◀─────────────────── └────────┘
//	   │     └──── Shutdown ─────────┘        higher priority advert   │
//	   └────────────────── Shutdown (sends priority 0) ─────────────────┘
//
// Fault (an operator or health check says this node must not serve) is
// entered from any state; a master sends priority 0 on the way out, so the
// backup takes over after Skew_Time instead of Master_Down_Interval.
//
// Preemption follows RFC 5798: a backup with Preempt_Mode ignores adverts of
// a lower priority, so its Master_Down_Timer fires and it takes over. With a
// preempt delay, a backup accepts lower-priority adverts until it has seen
// them for that long without interruption (since startup, recovery from
// fault or the last advert of a higher or equal priority), so a link that
// flaps does not pull the addresses back and forth.
//
// Besides the RFC's actions (SendAdvert, and TakeOver/Release for the
// addresses) the machine decides what the daemon must do about the others:
//
//   - A preempted master goes to Backup without priority 0 (§6.4.3; priority
//     0 would start every other backup's Skew_Time) but with one last advert
//     at its own priority, so that the new master knows the old one held the
//     VIPs until now.
//   - A master that hears a lower-priority master (a healed partition, or
//     that last advert) returns Reassert: advertise at once, announce and
//     verify again, because the upstream may have learnt the other's MAC. At
//     most once per ReassertGap, and not for the goodbye of the master it
//     has just preempted (its own takeover announced after that one's).
//   - A master that became master by Master_Down_Timer while it still
//     followed a lower-priority master within its preempt delay is
//     provisional: the other went silent, which a path failing without
//     carrier loss looks like. When it hears that master again within the
//     delay it hands back (ReasonPreemptDelay, priority 0 so that the other
//     takes over after Skew_Time if it had yielded at the same moment) and
//     waits out the delay as a backup.
//   - MasterResigned reports a priority 0 (an orderly handover, not a
//     failure); MasterChanged the master a non-master router follows.
package fsm
