package testutil

import (
	"io"
	"log/slog"
	"testing"
)

// recorder is a testing.TB that keeps its errors.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) { r.errs = append(r.errs, format) }
func (r *recorder) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }

func TestNoDuplicateKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  func(l *slog.Logger)
		dup  bool
	}{
		{"distinct", func(l *slog.Logger) { l.With("instance", "web").Info("m", "vip", "a") }, false},
		{"with and call", func(l *slog.Logger) { l.With("instance", "web").Info("m", "instance", "web") }, true},
		{"two withs", func(l *slog.Logger) { l.With("iface", "eth0").With("iface", "eth0").Info("m") }, true},
		{"twice in the call", func(l *slog.Logger) { l.Info("m", "err", 1, "err", 2) }, true},
		{"same key in a group", func(l *slog.Logger) { l.With("iface", "eth0").WithGroup("g").Info("m", "iface", "x") }, false},
		{"inline group", func(l *slog.Logger) { l.With("a", 1).Info("m", slog.Group("", "a", 2)) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			tc.log(slog.New(NoDuplicateKeys(r, slog.NewTextHandler(io.Discard, nil))))
			for _, f := range r.cleanups {
				f()
			}
			if got := len(r.errs) > 0; got != tc.dup {
				t.Fatalf("duplicate reported: %v, want %v", got, tc.dup)
			}
		})
	}
}
