package vipaddr

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vipd/vipd/internal/sysctl"
)

// ErrInterfaceName is returned by PrepareInterface for a name that is not a
// possible Linux interface name.
var ErrInterfaceName = errors.New("invalid interface name")

// PrepareInterface sets the per-interface sysctls vipd relies on, in the
// network namespace of the calling thread:
//
//   - net.ipv4.conf.<ifname>.promote_secondaries = 1. Linux makes the first
//     IPv4 address of a subnet (same prefix length) its primary and the
//     others secondaries. Without this setting, deleting a primary deletes
//     all its secondaries with it, so removing a VIP that happens to be the
//     primary of its subnet (because it was added first, or because the
//     operator's own address was briefly removed) would silently flush the
//     interface's other addresses of that subnet, VIPs of other instances
//     included. With it, a secondary is promoted instead. The kernel ORs
//     this with net.ipv4.conf.all.promote_secondaries.
//
// It needs CAP_NET_ADMIN (or root) and a writable /proc/sys.
//
// Settings left to the operator, because they are policy:
//
//   - net.ipv4.ip_nonlocal_bind / net.ipv6.ip_nonlocal_bind = 1 if services
//     on the backup must bind to VIPs it does not hold yet.
//   - net.ipv4.conf.<if>.arp_ignore = 1 and arp_announce = 2 when several
//     interfaces share a subnet, so that only the interface holding a VIP
//     answers ARP for it.
//   - net.ipv6.conf.<if>.disable_ipv6 = 0 for IPv6 instances: VRRP over IPv6
//     sends from the interface's link-local address, and IPv6 VIPs cannot be
//     added while IPv6 is disabled (the kernel answers EACCES).
//   - net.ipv6.conf.<if>.keep_addr_on_down = 1 if IPv6 addresses should
//     survive the link going down (the daemon re-adds VIPs either way).
//   - A firewall must let IP protocol 112 out, and on the peers in; the
//     receive path reads frames below the IP layer, so rp_filter and the
//     INPUT chain do not hide adverts from vipd, but they do from keepalived.
func PrepareInterface(ifname string) error {
	if err := checkIfname(ifname); err != nil {
		return fmt.Errorf("vipaddr: prepare %q: %w", ifname, err)
	}
	if err := sysctl.Write(filepath.Join("net/ipv4/conf", ifname, "promote_secondaries"), "1"); err != nil {
		return fmt.Errorf("vipaddr: prepare %s: %w", ifname, err)
	}
	return nil
}

// checkIfname accepts what the kernel's dev_valid_name accepts.
func checkIfname(name string) error {
	if name == "" || len(name) >= 16 || name == "." || name == ".." ||
		strings.ContainsAny(name, "/: \t\n\x00") {
		return ErrInterfaceName
	}
	return nil
}
