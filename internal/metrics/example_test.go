package metrics_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/metrics"
)

// The daemon builds Metrics over its status, serves them when the
// configuration has metrics_listen, and records events as they happen.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	status := func(ctx context.Context) control.Status { return control.Status{Node: "a"} } // daemon.Status
	m := metrics.New("a", func() control.Status {
		// Instances that do not answer in time are left out of this scrape.
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return status(sctx)
	})
	go func() {
		if err := metrics.Serve(ctx, "127.0.0.1:0", m.Handler(), log); err != nil {
			log.Error("metrics stopped", "err", err)
		}
	}()

	m.ObserveFailover("web", metrics.FailoverMasterDown, 420*time.Millisecond)
	m.RemediationSent("web", "directed", 2)
	m.HealthCheck("web", "nginx", true)
}
