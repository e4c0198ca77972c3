package labnet

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteWatch follows, in one host's namespace, the main table's routes
// for a set of host prefixes (a BGP router's routes to the VIPs): per
// prefix its gateway now and when it last changed, time-stamped as the
// kernel reports the change (netlink route notifications), not polled.
type RouteWatch struct {
	done   chan struct{}
	closed chan struct{}

	mu      sync.Mutex // guards the fields below
	via     map[netip.Prefix]routeState
	changes []time.Time // when a watched route changed, at most maxRouteChanges
	err     error
}

// maxRouteChanges bounds the changes a RouteWatch remembers.
const maxRouteChanges = 1 << 16

type routeState struct {
	gw    netip.Addr // invalid: no route
	since time.Time
}

// WatchRoutes starts following the routes to prefixes in h's namespace;
// the existing routes are read first.
func (h *Host) WatchRoutes(prefixes []netip.Prefix) (*RouteWatch, error) {
	if h.ns < 0 {
		return nil, fmt.Errorf("labnet: %s: lab closed", h.Name)
	}
	w := &RouteWatch{done: make(chan struct{}), closed: make(chan struct{}), via: map[netip.Prefix]routeState{}}
	now := time.Now()
	for _, p := range prefixes {
		w.via[p.Masked()] = routeState{since: now}
	}
	ch := make(chan netlink.RouteUpdate, 4096)
	ns := h.ns
	err := netlink.RouteSubscribeWithOptions(ch, w.done, netlink.RouteSubscribeOptions{
		Namespace:         &ns,
		ListExisting:      true,
		ReceiveBufferSize: 4 << 20,
		ErrorCallback: func(err error) {
			w.mu.Lock()
			w.err = errors.Join(w.err, err)
			w.mu.Unlock()
		},
	})
	if err != nil {
		return nil, fmt.Errorf("labnet: watch routes in %s: %w", h.NS, err)
	}
	go w.read(ch)
	return w, nil
}

func (w *RouteWatch) read(ch <-chan netlink.RouteUpdate) {
	defer close(w.closed)
	for u := range ch {
		if u.Dst == nil || u.Table != unix.RT_TABLE_MAIN {
			continue
		}
		ip, ok := netip.AddrFromSlice(u.Dst.IP)
		if !ok {
			continue
		}
		bits, _ := u.Dst.Mask.Size()
		p := netip.PrefixFrom(ip.Unmap(), bits)
		now := time.Now()
		gw := mustAddr(u.Gw)
		w.mu.Lock()
		if old, ok := w.via[p]; ok {
			switch {
			case u.Type == unix.RTM_NEWROUTE && gw != old.gw:
				w.via[p] = routeState{gw: gw, since: now}
				w.changed(now)
			case u.Type == unix.RTM_DELROUTE && old.gw.IsValid() && (!gw.IsValid() || gw == old.gw):
				// A delete of another route than the one in place (a
				// replace announces the new one first) changes nothing.
				w.via[p] = routeState{since: now}
				w.changed(now)
			}
		}
		w.mu.Unlock()
	}
}

func (w *RouteWatch) changed(t time.Time) {
	if len(w.changes) < maxRouteChanges {
		w.changes = append(w.changes, t)
	}
}

// Changes counts the changes of watched routes (a new gateway, a route
// gone) after t: a router that moves n routes once makes n.
func (w *RouteWatch) Changes(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.changes {
		if c.After(t) {
			n++
		}
	}
	return n
}

// mustAddr converts a netlink address; invalid when absent.
func mustAddr(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

// Via returns the gateway of the route to p (invalid without a route)
// and since when it is so.
func (w *RouteWatch) Via(p netip.Prefix) (netip.Addr, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.via[p.Masked()]
	return s.gw, s.since
}

// AllVia reports whether every watched route points at gw4 (IPv4
// prefixes) or gw6 (IPv6 ones), and if so since when: the latest change
// among them.
func (w *RouteWatch) AllVia(gw4, gw6 netip.Addr) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last time.Time
	for p, s := range w.via {
		want := gw4
		if p.Addr().Is6() {
			want = gw6
		}
		if s.gw != want {
			return time.Time{}, false
		}
		if s.since.After(last) {
			last = s.since
		}
	}
	return last, true
}

// Count returns how many watched routes point at gw4 or gw6 (by family).
func (w *RouteWatch) Count(gw4, gw6 netip.Addr) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for p, s := range w.via {
		if (p.Addr().Is4() && s.gw == gw4) || (p.Addr().Is6() && s.gw == gw6) {
			n++
		}
	}
	return n
}

// Err returns the errors the netlink subscription reported (a receive
// buffer overrun loses notifications: the watch is then unreliable).
func (w *RouteWatch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close ends the watch.
func (w *RouteWatch) Close() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	<-w.closed
}
