package sdnotify

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// WatchdogInterval returns the watchdog timeout the service manager set
// for this process (WatchdogSec= in the unit, passed as $WATCHDOG_USEC),
// and false when there is none: $WATCHDOG_USEC unset, zero or malformed, or
// $WATCHDOG_PID set to another process (the variables were inherited).
func WatchdogInterval() (time.Duration, bool) {
	return watchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
}

func watchdogInterval(usec, pid string, self int) (time.Duration, bool) {
	if usec == "" {
		return 0, false
	}
	us, err := strconv.ParseUint(usec, 10, 64)
	if err != nil || us == 0 || us > uint64(time.Duration(1<<63-1)/time.Microsecond) {
		return 0, false
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p != self {
			return 0, false
		}
	}
	return time.Duration(us) * time.Microsecond, true
}

// Watchdog sends WATCHDOG=1 at once and then every half watchdog interval
// until ctx is done. It returns nil at once when the watchdog is not
// enabled for this process (see [WatchdogInterval]) or $NOTIFY_SOCKET is
// unset, nil when ctx is done, and the error of a failed send, after which
// it sends no more: the caller logs it, and systemd restarts the service
// when the interval runs out.
func Watchdog(ctx context.Context) error { return WatchdogFunc(ctx, nil) }

// WatchdogFunc is [Watchdog] with a liveness check: before each ping it
// calls alive with a context that expires when the ping is due again, and
// skips the ping when alive returns an error. A daemon passes a check that
// round-trips through its main loops, so that systemd restarts it when they
// are stuck, not only when the process is gone. A nil alive always pings.
func WatchdogFunc(ctx context.Context, alive func(context.Context) error) error {
	interval, ok := WatchdogInterval()
	socket := os.Getenv("NOTIFY_SOCKET")
	if !ok || socket == "" {
		return nil
	}
	period := interval / 2
	t := time.NewTicker(period)
	defer t.Stop()
	return watchdogLoop(ctx, t.C, period, alive, func() error {
		return write(socket, "WATCHDOG=1")
	})
}

// watchdogLoop pings now and on every tick until ctx is done, skipping the
// pings that alive (when not nil) refuses. period bounds each alive call.
func watchdogLoop(ctx context.Context, tick <-chan time.Time, period time.Duration, alive func(context.Context) error, ping func() error) error {
	for {
		ok := true
		if alive != nil {
			actx, cancel := context.WithTimeout(ctx, period)
			ok = alive(actx) == nil
			cancel()
		}
		if ok && ctx.Err() == nil {
			if err := ping(); err != nil {
				return fmt.Errorf("sdnotify: watchdog: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
	}
}
