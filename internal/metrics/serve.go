package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout bounds how long Serve waits for scrapes in flight once
// its context is done, before closing their connections.
const ShutdownTimeout = 5 * time.Second

const indexPage = `<!DOCTYPE html>
<html><head><title>vipd</title></head>
<body><h1>vipd</h1><p><a href="/metrics">metrics</a></p></body></html>
`

// NewServeMux routes /metrics to h and / (that path alone) to a small
// index page; other paths are not found.
func NewServeMux(h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(indexPage))
	})
	return mux
}

// Serve listens on the TCP address addr ("127.0.0.1:9842", ":9842") and
// serves [NewServeMux](h) until ctx is done; see [ServeListener]. A listen
// error is returned at once.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen: %w", err)
	}
	return ServeListener(ctx, ln, h, log)
}

// ServeListener serves [NewServeMux](h) on ln until ctx is done, then stops
// gracefully: it stops accepting, lets scrapes in flight finish for up to
// [ShutdownTimeout], and returns nil. It closes ln. An error is returned
// only when serving fails before ctx is done. log may be nil.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           NewServeMux(h),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("metrics: serving", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		// Serve returned without Shutdown: the listener failed.
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}

	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("metrics: shutdown: closing scrapes in flight", "err", err)
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve: %w", err)
	}
	log.Info("metrics: stopped")
	return nil
}
