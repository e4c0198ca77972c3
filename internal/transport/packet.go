package transport

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"
)

// ProtocolVRRP is the IP protocol number of VRRP (RFC 5798 §5.2.4).
const ProtocolVRRP = 112

// The VRRP multicast groups (RFC 5798 §5.1.1.2 and §5.1.2.2) and their
// Ethernet group addresses (RFC 1112 §6.4, RFC 2464 §7).
var (
	IPv4Group = netip.MustParseAddr("224.0.0.18")
	IPv6Group = netip.MustParseAddr("ff02::12")

	IPv4GroupMAC = net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}
	IPv6GroupMAC = net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x12}
)

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd

	ethHeaderLen  = 14
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
)

// Packet is one received VRRP packet.
type Packet struct {
	// SrcMAC is the Ethernet source address of the frame.
	SrcMAC net.HardwareAddr
	// Src and Dst are the IP addresses of the packet, without zone.
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or the IPv6 hop limit as received.
	TTL uint8
	// Payload is the VRRP message: exactly the IP payload (Ethernet padding
	// is trimmed using the IP length). It is the Packet's own memory.
	Payload []byte
	// IfIndex is the index of the interface the frame arrived on.
	IfIndex int
	// Received is when the Conn read the frame.
	Received time.Time
}

// ParseFrame parses an Ethernet frame carrying an IPv4 (ipv6 false) or IPv6
// VRRP packet. IfIndex and Received are left zero. The returned Packet does
// not share memory with frame. A rejected frame returns a *DropError.
func ParseFrame(frame []byte, ipv6 bool) (Packet, error) {
	if len(frame) < ethHeaderLen {
		return Packet{}, drop(DropShortFrame, frame)
	}
	et := binary.BigEndian.Uint16(frame[12:14])
	ip := frame[ethHeaderLen:]
	var (
		p   Packet
		err error
	)
	switch {
	case !ipv6 && et == etherTypeIPv4:
		p, err = parseIPv4(ip)
	case ipv6 && et == etherTypeIPv6:
		p, err = parseIPv6(ip)
	default:
		return Packet{}, drop(DropEtherType, frame)
	}
	if err != nil {
		err.(*DropError).Len = len(frame)
		return Packet{}, err
	}
	p.SrcMAC = net.HardwareAddr(append([]byte(nil), frame[6:12]...))
	return p, nil
}

func drop(r DropReason, b []byte) *DropError { return &DropError{Reason: r, Len: len(b)} }

func parseIPv4(ip []byte) (Packet, error) {
	if len(ip) < ipv4HeaderLen {
		return Packet{}, drop(DropShortIP, ip)
	}
	if ip[0]>>4 != 4 {
		return Packet{}, drop(DropIPVersion, ip)
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < ipv4HeaderLen || ihl > len(ip) {
		return Packet{}, drop(DropHeaderLength, ip)
	}
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if total < ihl || total > len(ip) {
		return Packet{}, drop(DropTotalLength, ip)
	}
	if checksum(ip[:ihl]) != 0 {
		return Packet{}, drop(DropHeaderChecksum, ip)
	}
	// Flags and fragment offset: MF is 0x2000, the offset the low 13 bits.
	if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return Packet{}, drop(DropFragment, ip)
	}
	if ip[9] != ProtocolVRRP {
		return Packet{}, drop(DropProtocol, ip)
	}
	return Packet{
		Src:     netip.AddrFrom4([4]byte(ip[12:16])),
		Dst:     netip.AddrFrom4([4]byte(ip[16:20])),
		TTL:     ip[8],
		Payload: append([]byte(nil), ip[ihl:total]...),
	}, nil
}

func parseIPv6(ip []byte) (Packet, error) {
	if len(ip) < ipv6HeaderLen {
		return Packet{}, drop(DropShortIP, ip)
	}
	if ip[0]>>4 != 6 {
		return Packet{}, drop(DropIPVersion, ip)
	}
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if ipv6HeaderLen+plen > len(ip) {
		return Packet{}, drop(DropTotalLength, ip)
	}
	if ip[6] != ProtocolVRRP {
		return Packet{}, drop(DropProtocol, ip)
	}
	return Packet{
		Src:     netip.AddrFrom16([16]byte(ip[8:24])),
		Dst:     netip.AddrFrom16([16]byte(ip[24:40])),
		TTL:     ip[7],
		Payload: append([]byte(nil), ip[ipv6HeaderLen:ipv6HeaderLen+plen]...),
	}, nil
}

// checksum returns the Internet checksum (RFC 1071) of b; over a header that
// includes its own correct checksum it is 0.
func checksum(b []byte) uint16 {
	var sum uint32
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
