// Package notify runs an instance's notify hooks on its state transitions
// (RFC 5798 §6.4: Initialize, Backup, Master, plus vipd's Fault), the way
// keepalived's notify_master, notify_backup, notify_fault, notify_stop and
// notify scripts do.
//
// [Notifier.Transition] never blocks the protocol loop: it queues the
// transition, and one worker per instance runs the hooks in order. For a
// transition the specific hook (master, backup, fault or stop) runs
// first, then the any hook. A hook is a command line run as
//
//	/bin/sh -c HOOK vipd INSTANCE STATE PRIORITY
//
// so that "$1", "$2" and "$3" in the hook are the instance's name, the
// state (master, backup, fault, stop) and the priority; they are not
// appended to the command line (write "$@" to pass them on). The
// environment is the daemon's plus VIPD_INSTANCE, VIPD_STATE,
// VIPD_PRIORITY, VIPD_REASON (why the transition happened), VIPD_NODE and
// VIPD_HOOK (which hook runs). Stdin is /dev/null; stdout and stderr are
// logged line by line (keys instance, hook). A hook runs in a process group
// of its own; when it exceeds the timeout the whole group is killed, and
// whatever it left running when it ends is killed too.
//
// The queue holds queueLen transitions. When hooks are so slow that it
// fills, the oldest waiting transition is dropped (and logged): the latest
// state is the one that matters. [Notifier.Close] runs what is still
// queued, typically the stop transition, then returns; every run is bounded
// by the timeout.
package notify
