package vmac

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// MAC returns the virtual router MAC address of VRID vrid (RFC 5798 §7.3).
func MAC(vrid uint8, ipv6 bool) net.HardwareAddr {
	fam := byte(0x01)
	if ipv6 {
		fam = 0x02
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, vrid}
}

// Name returns the name of the interface vipd creates for vrid:
// vrrp4-{VRID} or vrrp6-{VRID} (at most 9 bytes, within IFNAMSIZ).
func Name(vrid uint8, ipv6 bool) string {
	fam := "4"
	if ipv6 {
		fam = "6"
	}
	return "vrrp" + fam + "-" + strconv.Itoa(int(vrid))
}

// ParseName is the inverse of Name: ok is false for a name Name does not
// return.
func ParseName(name string) (vrid uint8, ipv6, ok bool) {
	rest, found := strings.CutPrefix(name, "vrrp")
	if !found || len(rest) < 3 || rest[1] != '-' || (rest[0] != '4' && rest[0] != '6') {
		return 0, false, false
	}
	n, err := strconv.ParseUint(rest[2:], 10, 8)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != rest[2:] {
		return 0, false, false
	}
	return uint8(n), rest[0] == '6', true
}

// Spec is one virtual MAC interface.
type Spec struct {
	// Name and MAC are Name(vrid, ipv6) and MAC(vrid, ipv6).
	Name string
	MAC  net.HardwareAddr
	// Parent is the instance's interface (index and name).
	Parent     int
	ParentName string
	// IPv6: the instance's family. An IPv6 macvlan gets the parent's
	// link-local address (see the package documentation).
	IPv6 bool
}

// For returns the Spec of the virtual MAC of vrid on parent.
func For(parent *net.Interface, vrid uint8, ipv6 bool) Spec {
	return Spec{Name: Name(vrid, ipv6), MAC: MAC(vrid, ipv6), Parent: parent.Index, ParentName: parent.Name, IPv6: ipv6}
}

func (s Spec) String() string {
	return fmt.Sprintf("%s (%s on %s)", s.Name, s.MAC, s.ParentName)
}
