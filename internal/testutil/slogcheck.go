package testutil

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// NoDuplicateKeys wraps h so that a log line carrying the same key twice
// (`instance=web ... instance=web`, from a logger's With and the call's own
// attributes, or two Withs) fails t. Keys inside a group are compared
// with their group's name. The failure is reported when t ends, so that a
// goroutine that logs late cannot make the test panic.
func NoDuplicateKeys(t testing.TB, h slog.Handler) slog.Handler {
	c := &dupChecker{}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, d := range c.found {
			t.Errorf("log line with a duplicate key: %s", d)
		}
	})
	return &dupHandler{inner: h, check: c}
}

type dupChecker struct {
	mu    sync.Mutex // guards found
	found []string
}

type dupHandler struct {
	inner  slog.Handler
	check  *dupChecker
	prefix string   // the open groups, "a.b."
	preset []string // keys added with WithAttrs, with their prefix
}

func (h *dupHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *dupHandler) Handle(ctx context.Context, r slog.Record) error {
	seen := make(map[string]bool, len(h.preset)+r.NumAttrs())
	var dups []string
	add := func(k string) {
		if seen[k] {
			dups = append(dups, k)
		}
		seen[k] = true
	}
	for _, k := range h.preset {
		add(k)
	}
	r.Attrs(func(a slog.Attr) bool {
		for _, k := range keys(h.prefix, a) {
			add(k)
		}
		return true
	})
	if len(dups) > 0 {
		h.check.mu.Lock()
		h.check.found = append(h.check.found, "msg="+r.Message+": "+strings.Join(dups, ", "))
		h.check.mu.Unlock()
	}
	return h.inner.Handle(ctx, r)
}

func (h *dupHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.preset = append([]string(nil), h.preset...)
	for _, a := range as {
		c.preset = append(c.preset, keys(h.prefix, a)...)
	}
	c.inner = h.inner.WithAttrs(as)
	return &c
}

func (h *dupHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	c.inner = h.inner.WithGroup(name)
	return &c
}

// keys lists the keys a contributes to a line: its own, or those of its
// group's members (an inline group's, with no name, at this level).
func keys(prefix string, a slog.Attr) []string {
	v := a.Value.Resolve()
	if v.Kind() != slog.KindGroup {
		if a.Key == "" {
			return nil
		}
		return []string{prefix + a.Key}
	}
	if a.Key != "" {
		prefix += a.Key + "."
	}
	var ks []string
	for _, m := range v.Group() {
		ks = append(ks, keys(prefix, m)...)
	}
	return ks
}
