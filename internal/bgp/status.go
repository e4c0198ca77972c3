package bgp

import (
	"context"
	"net/netip"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// Session states, as RFC 4271 §8.2.2 names them.
const (
	StateIdle        = "idle"
	StateConnect     = "connect"
	StateActive      = "active"
	StateOpenSent    = "opensent"
	StateOpenConfirm = "openconfirm"
	StateEstablished = "established"
)

// PeerStatus is one session as the speaker sees it.
type PeerStatus struct {
	Address netip.Addr
	ASN     uint32
	// State is one of the State constants.
	State string
	// Since is when the session was established (zero unless it is).
	Since time.Time
	// HoldTime is the negotiated hold time (zero unless established).
	HoldTime time.Duration
	// Sent and Received count the prefixes advertised to and received
	// from the peer.
	Sent, Received uint64
}

// Established reports whether the session is up.
func (p PeerStatus) Established() bool { return p.State == StateEstablished }

// Peers reports every configured peer, in configuration order.
func (s *Speaker) Peers(ctx context.Context) ([]PeerStatus, error) {
	var out []PeerStatus
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		out = append(out, peerStatus(p))
	})
	if err != nil {
		return nil, err
	}
	s.sortPeers(out)
	return out, nil
}

func peerStatus(p *api.Peer) PeerStatus {
	var ps PeerStatus
	if st := p.GetState(); st != nil {
		ps.Address, _ = netip.ParseAddr(st.GetNeighborAddress())
		ps.ASN = st.GetPeerAsn()
		ps.State = sessionState(st.GetSessionState())
	}
	if !ps.Address.IsValid() && p.GetConf() != nil {
		ps.Address, _ = netip.ParseAddr(p.GetConf().GetNeighborAddress())
		ps.ASN = p.GetConf().GetPeerAsn()
	}
	if ps.Established() {
		if ts := p.GetTimers().GetState(); ts != nil {
			if up := ts.GetUptime(); up != nil {
				ps.Since = up.AsTime()
			}
			ps.HoldTime = time.Duration(ts.GetNegotiatedHoldTime()) * time.Second
		}
	}
	for _, af := range p.GetAfiSafis() {
		if st := af.GetState(); st != nil {
			ps.Sent += st.GetAdvertised()
			ps.Received += st.GetReceived()
		}
	}
	return ps
}

func sessionState(s api.PeerState_SessionState) string {
	if s == api.PeerState_UNKNOWN {
		return StateIdle
	}
	return strings.ToLower(s.String())
}

// peerEvent forwards GoBGP's session state changes.
func (s *Speaker) peerEvent(r *api.WatchEventResponse) {
	pe := r.GetPeer()
	if pe == nil || pe.GetType() != api.WatchEventResponse_PeerEvent_STATE || pe.GetPeer() == nil {
		return
	}
	ps := peerStatus(pe.GetPeer())
	s.mu.Lock()
	s.up[ps.Address] = ps.Established()
	s.mu.Unlock()
	s.deps.Logger.Info("bgp session state", "peer", ps.Address.String(), "peer_asn", ps.ASN, "state", ps.State)
	if s.deps.OnPeer != nil {
		s.deps.OnPeer(ps)
	}
}
