package transport

import "fmt"

// DropReason says why the frame parser rejected a frame.
type DropReason int

// Drop reasons. The zero value is not a reason.
const (
	_ DropReason = iota
	// DropShortFrame: shorter than an Ethernet header.
	DropShortFrame
	// DropEtherType: not the EtherType of the Conn's family.
	DropEtherType
	// DropShortIP: shorter than the fixed IP header.
	DropShortIP
	// DropIPVersion: the IP version field does not match the family.
	DropIPVersion
	// DropHeaderLength: IPv4 IHL below 5 or past the end of the frame.
	DropHeaderLength
	// DropTotalLength: the IP total (IPv4) or payload (IPv6) length is
	// inconsistent with the header or longer than the frame.
	DropTotalLength
	// DropHeaderChecksum: the IPv4 header checksum is wrong.
	DropHeaderChecksum
	// DropFragment: an IPv4 fragment (MF set or non-zero offset). VRRP
	// packets are far below any MTU and are never fragmented.
	DropFragment
	// DropProtocol: the IPv4 protocol or the IPv6 next header is not 112.
	// For IPv6 this includes packets with extension headers.
	DropProtocol

	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	DropShortFrame:     "short-frame",
	DropEtherType:      "ethertype",
	DropShortIP:        "short-ip-header",
	DropIPVersion:      "ip-version",
	DropHeaderLength:   "ip-header-length",
	DropTotalLength:    "ip-total-length",
	DropHeaderChecksum: "ip-header-checksum",
	DropFragment:       "ip-fragment",
	DropProtocol:       "ip-protocol",
}

// String returns a short name, fit for a metric label.
func (r DropReason) String() string {
	if r > 0 && r < numDropReasons {
		return dropReasonNames[r]
	}
	return fmt.Sprintf("DropReason(%d)", int(r))
}

// DropReasons lists all reasons, for pre-declaring metric labels.
func DropReasons() []DropReason {
	rs := make([]DropReason, 0, numDropReasons-1)
	for r := DropReason(1); r < numDropReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// DropError is returned for a frame that the parser rejected. It is not a
// failure of the Conn: the caller counts it and reads on.
type DropError struct {
	Reason DropReason
	// Len is the length of the rejected frame.
	Len int
}

func (e *DropError) Error() string {
	return fmt.Sprintf("transport: drop %d-byte frame: %s", e.Len, e.Reason)
}
