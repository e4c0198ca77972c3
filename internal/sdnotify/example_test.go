package sdnotify_test

import (
	"context"
	"log/slog"

	"github.com/vipd/vipd/internal/sdnotify"
)

// A daemon reports its life cycle to systemd. Every call is a no-op outside
// a Type=notify unit.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	// Once every instance runs:
	if _, err := sdnotify.Ready(); err != nil {
		log.Warn("systemd notify", "err", err)
	}
	go func() {
		// alive round-trips through the instance loops.
		alive := func(ctx context.Context) error { return nil }
		if err := sdnotify.WatchdogFunc(ctx, alive); err != nil {
			log.Error("systemd watchdog stopped", "err", err)
		}
	}()

	// On SIGHUP:
	sdnotify.Reloading()
	// ... reload ...
	sdnotify.Ready()
	sdnotify.Status("2 instances: web MASTER, web6 BACKUP")

	// On SIGTERM:
	sdnotify.Stopping()
}
