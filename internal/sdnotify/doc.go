// Package sdnotify implements the service side of systemd's notification
// protocol, as described in sd_notify(3) and systemd.service(5), without
// cgo or libsystemd.
//
// A service started with Type=notify (or notify-reload) finds the address
// of the service manager's datagram socket in $NOTIFY_SOCKET: a file system
// path ("/run/systemd/notify") or, starting with '@', a Linux abstract
// socket name. Each message is one datagram of newline-separated
// VARIABLE=value assignments:
//
//	READY=1                          start-up finished ([Ready])
//	RELOADING=1                      reloading the configuration ([Reloading]); READY=1 again when done
//	MONOTONIC_USEC=…                 CLOCK_MONOTONIC time of the RELOADING=1 (systemd ≥ 253 wants it)
//	STOPPING=1                       shutting down ([Stopping])
//	STATUS=…                         one line for `systemctl status` ([Status])
//	WATCHDOG=1                       keep-alive, at least every WatchdogSec ([Watchdog])
//
// When $NOTIFY_SOCKET is unset (not run by systemd, or Type=simple) every
// call does nothing and reports false with a nil error, so the daemon calls
// them unconditionally. The variables are left in the environment: the
// watchdog reads them again, and with the default NotifyAccess=main systemd
// ignores messages from child processes that inherit them.
//
// The systemd watchdog (WatchdogSec= in the unit) sets $WATCHDOG_USEC and
// $WATCHDOG_PID; [WatchdogInterval] reads them and [Watchdog] pings at half
// the interval. [WatchdogFunc] pings only while a liveness check passes, so
// that a wedged main loop (not just a dead process) gets the service
// restarted.
package sdnotify
