package announce

import "fmt"

// Kind says what a Packet is. The zero Kind is not a valid packet kind.
type Kind uint8

const (
	// KindGratuitousRequest is an ARP announcement (RFC 5227 §2.3): an ARP
	// request from VIP/ourMAC for VIP, target hardware address zero,
	// broadcast.
	KindGratuitousRequest Kind = iota + 1
	// KindGratuitousReply is an unsolicited ARP reply from VIP/ourMAC for
	// VIP, target hardware address ourMAC (the `arping -A` form), broadcast.
	KindGratuitousReply
	// KindUnsolicitedNA is an unsolicited Neighbor Advertisement (RFC 4861
	// §7.2.6) for VIP with the Override flag, to all-nodes ff02::1.
	KindUnsolicitedNA
	// KindDirectedRequest is an ARP request "who-has Target tell VIP" sent
	// to one peer's MAC.
	KindDirectedRequest
	// KindUnicastReply is an ARP reply "VIP is-at ourMAC" sent to one
	// peer's MAC and address.
	KindUnicastReply
	// KindUnicastNA is a Neighbor Advertisement for VIP with the Override
	// flag, sent to one peer's MAC and address: unsolicited (UnicastNA),
	// or with Solicited set as the answer to the peer's probe (RepairNA).
	KindUnicastNA
	// KindNeighborSolicit is a Neighbor Solicitation from VIP for Target,
	// carrying our MAC as Source Link-Layer Address.
	KindNeighborSolicit

	numKinds = iota + 1 // one past the last Kind: the size of per-kind arrays
)

// Kinds lists every valid Kind, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := KindGratuitousRequest; k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// String returns the snake_case name used in logs and metric labels.
func (k Kind) String() string {
	switch k {
	case KindGratuitousRequest:
		return "gratuitous_request"
	case KindGratuitousReply:
		return "gratuitous_reply"
	case KindUnsolicitedNA:
		return "unsolicited_na"
	case KindDirectedRequest:
		return "directed_request"
	case KindUnicastReply:
		return "unicast_reply"
	case KindUnicastNA:
		return "unicast_na"
	case KindNeighborSolicit:
		return "neighbor_solicit"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}
