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
package fsm
