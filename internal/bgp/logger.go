package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

// logger passes GoBGP's log lines to slog, its fields grouped under
// "gobgp" (GoBGP's own keys, "Topic" and "Key", never clash with vipd's).
// GoBGP's info lines are mostly its session state machine, which the
// Speaker logs itself: they go to debug.
type logger struct {
	log *slog.Logger
}

func newLogger(l *slog.Logger) *logger { return &logger{log: l} }

func (l *logger) emit(level slog.Level, msg string, fields gobgplog.Fields) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]any, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.String(k, fmt.Sprint(fields[k])))
	}
	l.log.Log(context.Background(), level, "gobgp: "+msg, slog.Group("gobgp", attrs...))
}

func (l *logger) Panic(msg string, f gobgplog.Fields) {
	l.emit(slog.LevelError, msg, f)
	panic(msg)
}

func (l *logger) Fatal(msg string, f gobgplog.Fields) { l.emit(slog.LevelError, msg, f) }
func (l *logger) Error(msg string, f gobgplog.Fields) { l.emit(slog.LevelError, msg, f) }
func (l *logger) Warn(msg string, f gobgplog.Fields)  { l.emit(slog.LevelWarn, msg, f) }
func (l *logger) Info(msg string, f gobgplog.Fields)  { l.emit(slog.LevelDebug, msg, f) }
func (l *logger) Debug(msg string, f gobgplog.Fields) { l.emit(slog.LevelDebug-4, msg, f) }

// SetLevel is ignored: slog's handler decides.
func (l *logger) SetLevel(gobgplog.LogLevel) {}

// GetLevel reports debug when slog would print debug lines (GoBGP skips
// building some of them otherwise).
func (l *logger) GetLevel() gobgplog.LogLevel {
	if l.log.Enabled(context.Background(), slog.LevelDebug-4) {
		return gobgplog.DebugLevel
	}
	return gobgplog.InfoLevel
}
