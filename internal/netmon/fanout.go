package netmon

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Fanout hands Changes to subscribers; the Monitor and netmontest.Fake
// share it. The zero value has no subscribers. Subscribe and cancel are
// safe for concurrent use; Emit must be called by one goroutine at a time
// (the owner's), and calls the subscribers with no lock held.
type Fanout struct {
	mu   sync.Mutex // guards subs
	subs []*subscriber
}

type subscriber struct {
	fn        func(Change)
	cancelled atomic.Bool
}

// Subscribe registers fn; see [Source.Subscribe].
func (f *Fanout) Subscribe(fn func(Change)) (cancel func()) {
	s := &subscriber{fn: fn}
	f.mu.Lock()
	f.subs = append(f.subs, s)
	f.mu.Unlock()
	return func() {
		s.cancelled.Store(true)
		f.mu.Lock()
		f.subs = slices.DeleteFunc(f.subs, func(o *subscriber) bool { return o == s })
		f.mu.Unlock()
	}
}

// Emit calls every subscriber with each change, changes in order, and
// subscribers in the order they subscribed.
func (f *Fanout) Emit(cs []Change) {
	if len(cs) == 0 {
		return
	}
	f.mu.Lock()
	subs := slices.Clone(f.subs)
	f.mu.Unlock()
	for _, c := range cs {
		for _, s := range subs {
			if !s.cancelled.Load() {
				s.fn(c)
			}
		}
	}
}
