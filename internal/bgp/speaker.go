package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// DefaultHoldTime is a peer's hold time when the configuration names none
// (RFC 4271 suggests 90 s; vipd's failover bound is the hold time, so it
// defaults shorter); MinHoldTime is RFC 4271's minimum.
const (
	DefaultHoldTime = 9 * time.Second
	MinHoldTime     = 3 * time.Second
)

// connectRetry is how long the speaker waits between two connection
// attempts to a peer (GoBGP waits a random time between it and twice it).
const connectRetry = 5 * time.Second

// Config is the speaker's BGP identity and its peers.
type Config struct {
	ASN      uint32
	RouterID netip.Addr // an IPv4 address
	Peers    []PeerConfig
}

// PeerConfig is one upstream router.
type PeerConfig struct {
	Address  netip.Addr
	ASN      uint32
	HoldTime time.Duration
}

// Deps are what a Speaker reports to.
type Deps struct {
	Logger *slog.Logger
	// OnPeer is called with a peer's status when its session changes
	// state; it must not block.
	OnPeer func(PeerStatus)
}

// Route is one announced host route.
type Route struct {
	Prefix netip.Prefix
	Preference
}

// Speaker is a running BGP speaker: one per daemon, shared by the routed
// instances. Safe for concurrent use.
type Speaker struct {
	srv       *server.BgpServer
	cfg       Config
	deps      Deps
	stopWatch context.CancelFunc

	mu      sync.Mutex // guards the fields below
	routes  map[netip.Prefix]Route
	up      map[netip.Addr]bool // peers whose session is established
	stopped bool
}

// ErrStopped: the speaker has been stopped.
var ErrStopped = errors.New("bgp: speaker stopped")

// Start starts a speaker and its sessions; it returns once GoBGP runs
// (sessions come up in the background).
func Start(ctx context.Context, cfg Config, deps Deps) (*Speaker, error) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if !cfg.RouterID.Is4() {
		return nil, fmt.Errorf("bgp: router id %s is not an IPv4 address", cfg.RouterID)
	}
	srv := server.NewBgpServer(server.LoggerOption(newLogger(deps.Logger)))
	go srv.Serve()
	s := &Speaker{srv: srv, cfg: cfg, deps: deps, routes: map[netip.Prefix]Route{}, up: map[netip.Addr]bool{}}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        cfg.ASN,
		RouterId:   cfg.RouterID.String(),
		ListenPort: -1, // connect only: nothing listens on port 179
	}}); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("bgp: start: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.stopWatch = cancel
	if err := srv.WatchEvent(wctx, &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, s.peerEvent); err != nil {
		cancel()
		s.stopServer()
		return nil, fmt.Errorf("bgp: watch peers: %w", err)
	}
	for _, p := range cfg.Peers {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: peerRequest(p)}); err != nil {
			cancel()
			s.stopServer()
			return nil, fmt.Errorf("bgp: peer %s: %w", p.Address, err)
		}
	}
	return s, nil
}

func peerRequest(p PeerConfig) *api.Peer {
	hold := p.HoldTime
	if hold == 0 {
		hold = DefaultHoldTime
	}
	fam := &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	if p.Address.Is6() {
		fam.Afi = api.Family_AFI_IP6
	}
	return &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.ASN},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:          uint64(hold / time.Second),
			KeepaliveInterval: uint64(max(hold/3/time.Second, 1)),
			ConnectRetry:      uint64(connectRetry / time.Second),
		}},
		AfiSafis: []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: fam, Enabled: true}}},
	}
}

// Announce announces (or re-announces with a new preference) a host route
// to the peers of its family.
func (s *Speaker) Announce(ctx context.Context, r Route) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if old, ok := s.routes[r.Prefix]; ok && old == r {
		return nil
	}
	p, err := s.path(r)
	if err != nil {
		return err
	}
	if _, err := s.srv.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p}); err != nil {
		return fmt.Errorf("bgp: announce %s: %w", r.Prefix, err)
	}
	s.routes[r.Prefix] = r
	return nil
}

// Withdraw withdraws a host route; withdrawing one not announced is fine.
func (s *Speaker) Withdraw(ctx context.Context, pfx netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.routes[pfx]
	if !ok || s.stopped {
		return nil
	}
	p, err := s.path(r)
	if err != nil {
		return err
	}
	if err := s.srv.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Family: p.Family, Path: p}); err != nil {
		return fmt.Errorf("bgp: withdraw %s: %w", pfx, err)
	}
	delete(s.routes, pfx)
	return nil
}

// Established reports whether the session with peer is up.
func (s *Speaker) Established(peer netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up[peer]
}

// Announced reports the routes announced now, by prefix.
func (s *Speaker) Announced() map[netip.Prefix]Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[netip.Prefix]Route, len(s.routes))
	for k, v := range s.routes {
		out[k] = v
	}
	return out
}

// path builds GoBGP's path for a route: origin IGP, next hop left to GoBGP
// (the session's local address), the node's ASN Prepend times, the MED.
func (s *Speaker) path(r Route) (*api.Path, error) {
	if r.Prefix.Bits() != r.Prefix.Addr().BitLen() {
		return nil, fmt.Errorf("bgp: %s is not a host route", r.Prefix)
	}
	nlri, err := anypb.New(&api.IPAddressPrefix{Prefix: r.Prefix.Addr().String(), PrefixLen: uint32(r.Prefix.Bits())})
	if err != nil {
		return nil, fmt.Errorf("bgp: %s: %w", r.Prefix, err)
	}
	attrs := []proto.Message{&api.OriginAttribute{Origin: 0}}
	fam := &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	if r.Prefix.Addr().Is6() {
		fam.Afi = api.Family_AFI_IP6
		attrs = append(attrs, &api.MpReachNLRIAttribute{Family: fam, NextHops: []string{"::"}, Nlris: []*anypb.Any{nlri}})
	} else {
		attrs = append(attrs, &api.NextHopAttribute{NextHop: "0.0.0.0"})
	}
	if r.Prepend > 0 {
		asns := make([]uint32, r.Prepend)
		for i := range asns {
			asns[i] = s.cfg.ASN
		}
		attrs = append(attrs, &api.AsPathAttribute{Segments: []*api.AsSegment{{Type: 2, Numbers: asns}}}) // AS_SEQUENCE
	}
	attrs = append(attrs, &api.MultiExitDiscAttribute{Med: r.MED})
	var pattrs []*anypb.Any
	for _, a := range attrs {
		m, err := anypb.New(a)
		if err != nil {
			return nil, fmt.Errorf("bgp: %s: %w", r.Prefix, err)
		}
		pattrs = append(pattrs, m)
	}
	return &api.Path{Family: fam, Nlri: nlri, Pattrs: pattrs}, nil
}

// Stop withdraws nothing itself (the instances withdraw their routes
// first): it closes every session with a Cease NOTIFICATION, which makes
// the routers drop whatever is left at once, and stops GoBGP.
func (s *Speaker) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()
	s.stopServer()
}

func (s *Speaker) stopServer() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.StopBgp(ctx, &api.StopBgpRequest{}); err != nil {
		s.deps.Logger.Warn("bgp: stop", "err", err)
	}
	if s.stopWatch != nil {
		s.stopWatch()
	}
	s.srv.Stop()
}

// sortPeers orders peer statuses as configured.
func (s *Speaker) sortPeers(ps []PeerStatus) {
	order := map[netip.Addr]int{}
	for i, p := range s.cfg.Peers {
		order[p.Address] = i
	}
	slices.SortFunc(ps, func(a, b PeerStatus) int { return order[a.Address] - order[b.Address] })
}
