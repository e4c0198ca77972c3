package present

import (
	"net"
	"net/netip"
	"sync"

	"github.com/vipd/vipd/internal/watch"
)

// WatchSet feeds one interface's watcher with what the Presenters on that
// interface hold and what they do not (and who owns it then). Presenters
// call it from their own goroutines; a nil *WatchSet does nothing.
type WatchSet struct {
	w *watch.Watcher

	mu      sync.Mutex // guards the maps; calls into w are made holding it, so they happen in order
	held    map[any][]netip.Addr
	watched map[any]map[netip.Addr]watch.Owner
}

// NewWatchSet returns the watch set of w's interface.
func NewWatchSet(w *watch.Watcher) *WatchSet {
	return &WatchSet{w: w, held: map[any][]netip.Addr{}, watched: map[any]map[netip.Addr]watch.Owner{}}
}

// Watcher returns the watcher.
func (s *WatchSet) Watcher() *watch.Watcher { return s.w }

// set records that key holds vips (held) or not, with the owner it knows
// of otherwise.
func (s *WatchSet) set(key any, held bool, vips []netip.Prefix, owner watch.Owner) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, key)
	delete(s.watched, key)
	if held {
		s.held[key] = addrsOf(vips)
	} else {
		m := make(map[netip.Addr]watch.Owner, len(vips))
		for _, p := range vips {
			m[p.Addr()] = owner
		}
		s.watched[key] = m
	}
	s.push()
}

// forget removes a Presenter that stops.
func (s *WatchSet) forget(key any) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, key)
	delete(s.watched, key)
	s.push()
}

func (s *WatchSet) push() {
	var held []netip.Addr
	for _, h := range s.held {
		held = append(held, h...)
	}
	watched := map[netip.Addr]watch.Owner{}
	for _, m := range s.watched {
		for a, o := range m {
			watched[a] = o
		}
	}
	s.w.SetHeld(held)
	s.w.SetWatched(watched)
}

// probe sends conflict probes for vips.
func (s *WatchSet) probe(vips []netip.Addr) {
	if s != nil {
		s.w.Probe(vips)
	}
}

// expectHandover tells the watcher that mac, a master that resigned, may
// answer for the VIPs for a moment.
func (s *WatchSet) expectHandover(mac net.HardwareAddr) {
	if s == nil || mac == nil {
		return
	}
	s.w.ExpectHandover(mac)
}

// findings returns, per VIP, the misdirected packets counted and the MAC of
// a conflicting owner.
func (s *WatchSet) findings() (misdirected map[netip.Addr]uint64, conflicts map[netip.Addr]net.HardwareAddr) {
	misdirected, conflicts = map[netip.Addr]uint64{}, map[netip.Addr]net.HardwareAddr{}
	if s == nil {
		return
	}
	for _, m := range s.w.Misdirected() {
		misdirected[m.VIP] += m.Packets
	}
	for _, c := range s.w.Conflicts() {
		conflicts[c.VIP] = c.MAC
	}
	return
}
