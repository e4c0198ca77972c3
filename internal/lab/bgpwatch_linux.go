package lab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/vipd/vipd/internal/labnet"
)

// bgpPort is BGP's TCP port (RFC 4271 §8.2.1).
const bgpPort = 179

// bgpMarker starts every BGP message (RFC 4271 §4.1).
var bgpMarker = bytes.Repeat([]byte{0xff}, 16)

// watchBGP watches, in the router's namespace, for BGP messages from node
// n (its address of the family): a raw TCP socket sees a copy of every TCP
// segment the router receives. Any message restarts the router's hold
// timer (RFC 4271 §6.5); a node sends a KEEPALIVE every third of the hold
// time.
func watchBGP(router, n *labnet.Host, ipv6 bool) (*advertWatch, error) {
	from, network, wildcard := n.Addr4.Addr(), "ip4:tcp", "0.0.0.0"
	if ipv6 {
		from, network, wildcard = n.Addr6.Addr(), "ip6:tcp", "::"
	}
	var conn net.PacketConn
	err := router.Do(func() error {
		c, err := net.ListenPacket(network, wildcard)
		conn = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lab: watch BGP messages in %s: %w", router.NS, err)
	}
	return newAdvertWatch(conn, "BGP message", func(src net.Addr, b []byte) bool {
		ia, ok := src.(*net.IPAddr)
		if !ok {
			return false
		}
		if a, ok := netip.AddrFromSlice(ia.IP); !ok || a.Unmap() != from {
			return false
		}
		return isBGPMessage(stripIPv4Header(b))
	}), nil
}

// isBGPMessage reports whether a TCP segment (header and payload) to or
// from port 179 carries the start of a BGP message.
func isBGPMessage(seg []byte) bool {
	if len(seg) < 20 {
		return false
	}
	src, dst := binary.BigEndian.Uint16(seg[0:2]), binary.BigEndian.Uint16(seg[2:4])
	if src != bgpPort && dst != bgpPort {
		return false
	}
	off := int(seg[12]>>4) * 4
	if off < 20 || len(seg) < off {
		return false
	}
	return bytes.HasPrefix(seg[off:], bgpMarker)
}
