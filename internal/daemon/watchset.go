package daemon

import (
	"net"
	"net/netip"
	"sync"

	"github.com/vipd/vipd/internal/watch"
)

// watchSet feeds one interface's watcher with what the instances on that
// interface hold and what they do not (and who owns it then). Instances
// call it from their own goroutines.
type watchSet struct {
	w *watch.Watcher

	mu      sync.Mutex // guards the maps; calls into w are made holding it, so they happen in order
	held    map[*instance][]netip.Addr
	watched map[*instance]map[netip.Addr]watch.Owner
}

func newWatchSet(w *watch.Watcher) *watchSet {
	return &watchSet{w: w, held: map[*instance][]netip.Addr{}, watched: map[*instance]map[netip.Addr]watch.Owner{}}
}

// set records that in holds its VIPs (held) or not, with the owner it
// knows of otherwise. in == nil-safe: a nil set does nothing.
func (s *watchSet) set(in *instance, held bool, owner watch.Owner) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, in)
	delete(s.watched, in)
	if held {
		s.held[in] = in.vipAddrs
	} else {
		m := make(map[netip.Addr]watch.Owner, len(in.vipAddrs))
		for _, a := range in.vipAddrs {
			m[a] = owner
		}
		s.watched[in] = m
	}
	s.push()
}

// forget removes an instance that stops.
func (s *watchSet) forget(in *instance) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, in)
	delete(s.watched, in)
	s.push()
}

func (s *watchSet) push() {
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
func (s *watchSet) probe(vips []netip.Addr) {
	if s != nil {
		s.w.Probe(vips)
	}
}

// findings returns, per VIP, the misdirected packets counted and the MAC of
// a conflicting owner.
func (s *watchSet) findings() (misdirected map[netip.Addr]uint64, conflicts map[netip.Addr]net.HardwareAddr) {
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
