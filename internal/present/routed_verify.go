package present

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Route states of a VIP in routed mode, as status shows them.
const (
	// RouteNotAnnounced: withdrawn, or no session of its family is up.
	RouteNotAnnounced = "not announced"
	// RouteUnknown: announced, not verified yet.
	RouteUnknown = "unknown"
	// RouteBestHere: every router with a session up sends the VIP's
	// traffic here (the echo from the VIP came back).
	RouteBestHere = "best here"
	// RouteBestElsewhere: announced, but the routers send it to another
	// node (expected on a standby).
	RouteBestElsewhere = "best elsewhere"
	// RoutePartial: some routers send it here, others elsewhere.
	RoutePartial = "best here at some peers"
	// RouteAnnounced: announced, verification off.
	RouteAnnounced = "announced"
)

// RouteStatus is a VIP's route as this node sees it.
type RouteStatus struct {
	State string
	// Peers is the state at each peer of the VIP's family.
	Peers []PeerRoute
	// Checked is when the last echo round ended (zero: none yet).
	Checked time.Time
}

// PeerRoute is a VIP's route at one peer.
type PeerRoute struct {
	Peer  netip.Addr
	State string
}

// RouteChanged: a VIP's route state changed (Report).
type RouteChanged struct {
	VIP      netip.Prefix
	From, To string
}

func (RouteChanged) isReport() {}

// Verification rounds: the first one settle after a change, then at
// doubling intervals from firstStep up to the period; roundWait is how long
// replies are waited for.
const (
	routeSettle = 300 * time.Millisecond
	firstStep   = time.Second
	roundWait   = time.Second
)

// routePlan is what the verifier should verify now.
type routePlan struct {
	enabled   bool
	period    time.Duration
	announced []netip.Prefix // sorted
	up        []netip.Addr   // peers with a session up, sorted
}

func (a routePlan) same(b routePlan) bool {
	return a.enabled == b.enabled && a.period == b.period && slices.Equal(a.announced, b.announced) && slices.Equal(a.up, b.up)
}

func (p *Routed) verifyPlan(w routedWant, held bool) routePlan {
	pl := routePlan{enabled: w.set.Verify.Enabled && p.deps.Prober != nil, period: w.set.Verify.Period}
	if held {
		for pfx := range p.announced {
			pl.announced = append(pl.announced, pfx)
		}
		slices.SortFunc(pl.announced, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	}
	for _, peer := range p.cfg.Peers {
		if p.deps.Routes.Established(peer) {
			pl.up = append(pl.up, peer)
		}
	}
	return pl
}

type echoKey struct {
	vip  netip.Prefix
	peer netip.Addr
}

// routeVerifier sends an echo from each announced VIP to each peer of its
// family that has a session up: the reply comes back to the node the
// router's best path points at. Its update runs on the Presenter's
// goroutine; replies arrive on the Prober's.
type routeVerifier struct {
	cfg  RoutedConfig
	deps RoutedDeps
	wake func(...netip.Prefix)

	// Owned by update.
	plan    routePlan
	next    time.Time // next round
	step    time.Duration
	roundAt time.Time // deadline of the round in flight (zero: none)
	sent    map[echoKey]bool
	idle    bool // period 0: no rounds until the plan changes

	mu      sync.Mutex // guards the fields below
	replied map[echoKey]bool
	routes  map[netip.Prefix]RouteStatus
	changed []RouteChanged // to report once mu is released
	stopped bool
}

func newRouteVerifier(cfg RoutedConfig, deps RoutedDeps, wake func(...netip.Prefix)) *routeVerifier {
	return &routeVerifier{cfg: cfg, deps: deps, wake: wake, routes: map[netip.Prefix]RouteStatus{}, replied: map[echoKey]bool{}}
}

func (v *routeVerifier) stop() {
	v.mu.Lock()
	v.stopped = true
	v.mu.Unlock()
}

func (v *routeVerifier) status() map[netip.Prefix]RouteStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[netip.Prefix]RouteStatus, len(v.routes))
	for k, r := range v.routes {
		r.Peers = slices.Clone(r.Peers)
		out[k] = r
	}
	return out
}

// update applies a plan and runs the rounds; it returns when it must run
// again.
func (v *routeVerifier) update(now time.Time, pl routePlan) time.Time {
	if !pl.same(v.plan) {
		v.plan = pl
		v.roundAt, v.sent = time.Time{}, nil
		v.next, v.step, v.idle = now.Add(routeSettle), firstStep, false
		v.setAll(pl)
		v.flush()
	}
	if !pl.enabled || len(pl.announced) == 0 || len(pl.up) == 0 {
		return time.Time{}
	}
	if !v.roundAt.IsZero() {
		if now.Before(v.roundAt) && !v.allReplied() {
			return v.roundAt
		}
		v.finish(now)
		v.flush()
	}
	if v.idle {
		return time.Time{}
	}
	if now.Before(v.next) {
		return v.next
	}
	v.startRound(now)
	return v.roundAt
}

// setAll sets the states that need no echo: not announced, and
// announced while unverified (unknown, or announced with verification off).
func (v *routeVerifier) setAll(pl routePlan) {
	announced := map[netip.Prefix]bool{}
	for _, pfx := range pl.announced {
		announced[pfx] = true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, pfx := range v.cfg.VIPs {
		var rs RouteStatus
		peers := v.peersOf(pfx, pl.up)
		switch {
		case !announced[pfx] || len(peers) == 0:
			rs.State = RouteNotAnnounced
		case !pl.enabled:
			rs.State = RouteAnnounced
		default:
			rs.State = RouteUnknown
		}
		old, ok := v.routes[pfx]
		if ok && (old.State == rs.State || rs.State == RouteUnknown && old.Checked.After(time.Time{})) {
			continue // keep what the last round found until the next one
		}
		v.setLocked(pfx, rs)
	}
}

func (v *routeVerifier) setLocked(pfx netip.Prefix, rs RouteStatus) {
	old := v.routes[pfx]
	v.routes[pfx] = rs
	if old.State != rs.State && old.State != "" {
		v.changed = append(v.changed, RouteChanged{VIP: pfx, From: old.State, To: rs.State})
	}
}

// flush reports the changes found.
func (v *routeVerifier) flush() {
	v.mu.Lock()
	ch := v.changed
	v.changed = nil
	v.mu.Unlock()
	for _, c := range ch {
		v.deps.Report(c)
	}
}

func (v *routeVerifier) peersOf(pfx netip.Prefix, up []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, peer := range up {
		if peer.Is6() == pfx.Addr().Is6() {
			out = append(out, peer)
		}
	}
	return out
}

func (v *routeVerifier) startRound(now time.Time) {
	v.mu.Lock()
	v.replied = map[echoKey]bool{}
	v.mu.Unlock()
	v.sent = map[echoKey]bool{}
	for _, pfx := range v.plan.announced {
		for _, peer := range v.peersOf(pfx, v.plan.up) {
			k := echoKey{pfx, peer}
			err := v.deps.Prober.Echo(v.cfg.Uplink.Index, pfx.Addr(), peer, func() {
				v.mu.Lock()
				stopped := v.stopped
				v.replied[k] = true
				v.mu.Unlock()
				if !stopped {
					v.wake()
				}
			})
			if err != nil {
				v.deps.Logger.Warn("cannot send verification echo", "vip", pfx.Addr().String(), "target", peer.String(), "err", err)
				continue
			}
			v.sent[k] = true
		}
	}
	v.roundAt = now.Add(roundWait)
}

func (v *routeVerifier) allReplied() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range v.sent {
		if !v.replied[k] {
			return false
		}
	}
	return true
}

// finish evaluates the round in flight.
func (v *routeVerifier) finish(now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	allHere := true
	for _, pfx := range v.plan.announced {
		rs := RouteStatus{Checked: now}
		here, there := 0, 0
		for _, peer := range v.peersOf(pfx, v.plan.up) {
			k := echoKey{pfx, peer}
			if !v.sent[k] {
				continue
			}
			st := RouteBestElsewhere
			if v.replied[k] {
				st = RouteBestHere
				here++
			} else {
				there++
			}
			rs.Peers = append(rs.Peers, PeerRoute{Peer: peer, State: st})
		}
		switch {
		case here > 0 && there == 0:
			rs.State = RouteBestHere
		case here == 0 && there > 0:
			rs.State = RouteBestElsewhere
		case here > 0:
			rs.State = RoutePartial
		default:
			rs.State = RouteUnknown // no echo could be sent
		}
		allHere = allHere && rs.State == RouteBestHere
		v.setLocked(pfx, rs)
	}
	v.roundAt, v.sent = time.Time{}, nil
	v.next = now.Add(v.step)
	if v.plan.period == 0 && v.step >= idleAfter {
		v.idle = true // period 0: verified after a change only
	}
	v.step = min(v.step*2, max(v.plan.period, idleAfter))
	if !allHere {
		// A standby cannot see the router's best path move to it (a
		// peer that died, withdrew): it looks every standbyStep.
		v.step, v.idle = min(v.step, standbyStep), false
	}
}

// standbyStep is how often VIPs not best here are verified again.
const standbyStep = 2 * time.Second

// idleAfter: with period 0, the doubling rounds after a change stop once
// they are this far apart.
const idleAfter = 8 * time.Second
