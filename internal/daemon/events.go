package daemon

import (
	"sync"
	"sync/atomic"

	"github.com/vipd/vipd/internal/control"
)

// bus fans events out to `vipd events` subscribers. Publishing never blocks:
// a subscriber that does not keep up loses events (counted).
type bus struct {
	mu      sync.Mutex // guards subs
	subs    map[chan control.Event]struct{}
	dropped atomic.Uint64
}

func newBus() *bus { return &bus{subs: map[chan control.Event]struct{}{}} }

func (b *bus) publish(e control.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
			b.dropped.Add(1)
		}
	}
}

// subscribe returns a channel of events and a function that ends the
// subscription.
func (b *bus) subscribe() (<-chan control.Event, func()) {
	ch := make(chan control.Event, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}
