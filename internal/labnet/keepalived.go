package labnet

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// KeepalivedConfig describes one keepalived VRRP router (VRRPv3, RFC 5798)
// for a lab host. IPv4 and IPv6 VIPs go into separate instances (VRRP
// carries one address family per instance) tied by a sync group.
type KeepalivedConfig struct {
	// RouterID is global_defs' router_id; empty means the host's name.
	RouterID string
	// Instance names the vrrp_instance; empty means "VI_1". The IPv6
	// instance, if any, is Instance + "_6".
	Instance string
	// Interface is the VRRP interface; empty means the host's LAN interface.
	Interface string
	// VRID is the virtual router id, 1 to 255.
	VRID int
	// Priority is 1 to 255.
	Priority int
	// Master starts in MASTER state rather than BACKUP.
	Master bool
	// NoPreempt keeps a higher-priority router from taking over.
	NoPreempt bool
	// AdvertInt is the advertisement interval, in centiseconds precision;
	// zero means 1 s.
	AdvertInt time.Duration
	// VIPs are the virtual addresses, added as /32 or /128.
	VIPs []netip.Addr
	// UnicastPeers, if set, replace multicast advertisements.
	UnicastPeers []netip.Addr
	// Version is the VRRP version: 0 or 3 write vrrp_version 3; 2 writes
	// no vrrp_version, keepalived's default (VRRPv2, IPv4 only, whole
	// seconds).
	Version int
	// AuthPass, with Version 2, adds authentication { auth_type PASS
	// auth_pass AuthPass } to every instance.
	AuthPass string
	// Global and InstanceExtra are verbatim lines added to global_defs and
	// to every vrrp_instance.
	Global, InstanceExtra []string
}

// withDefaults fills in the defaults that depend on the host.
func (c KeepalivedConfig) withDefaults(hostName, iface string) KeepalivedConfig {
	if c.RouterID == "" {
		c.RouterID = hostName
	}
	if c.Instance == "" {
		c.Instance = "VI_1"
	}
	if c.Interface == "" {
		c.Interface = iface
	}
	if c.AdvertInt == 0 {
		c.AdvertInt = time.Second
	}
	return c
}

// Render returns the keepalived.conf text. Fields must be set (see
// withDefaults for the ones StartKeepalived fills in).
func (c KeepalivedConfig) Render() (string, error) {
	if c.VRID < 1 || c.VRID > 255 {
		return "", fmt.Errorf("labnet: keepalived: VRID %d, want 1 to 255", c.VRID)
	}
	if c.Priority < 1 || c.Priority > 255 {
		return "", fmt.Errorf("labnet: keepalived: priority %d, want 1 to 255", c.Priority)
	}
	if c.AdvertInt < 10*time.Millisecond || c.AdvertInt > 40950*time.Millisecond || c.AdvertInt%(10*time.Millisecond) != 0 {
		return "", fmt.Errorf("labnet: keepalived: advert_int %v, want 10 ms to 40.95 s in whole centiseconds", c.AdvertInt)
	}
	if c.Version == 2 && c.AdvertInt%time.Second != 0 {
		return "", fmt.Errorf("labnet: keepalived: advert_int %v, VRRPv2 wants whole seconds", c.AdvertInt)
	}
	if c.AuthPass != "" && c.Version != 2 {
		return "", fmt.Errorf("labnet: keepalived: auth_pass is VRRPv2's, set Version 2")
	}
	if c.Interface == "" || c.Instance == "" || c.RouterID == "" {
		return "", fmt.Errorf("labnet: keepalived: interface, instance and router_id must be set")
	}
	var v4, v6 []netip.Addr
	for _, a := range c.VIPs {
		a = a.Unmap()
		switch {
		case a.Is4():
			v4 = append(v4, a)
		case a.Is6():
			v6 = append(v6, a)
		default:
			return "", fmt.Errorf("labnet: keepalived: VIP %v invalid", a)
		}
	}
	if len(v4)+len(v6) == 0 {
		return "", fmt.Errorf("labnet: keepalived: no VIPs")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n", c.RouterID)
	if c.Version != 2 {
		b.WriteString("    vrrp_version 3\n")
	}
	for _, l := range c.Global {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	b.WriteString("}\n")
	var names []string
	instance := func(name string, vips []netip.Addr, v6 bool) {
		names = append(names, name)
		state := "BACKUP"
		if c.Master {
			state = "MASTER"
		}
		fmt.Fprintf(&b, "vrrp_instance %s {\n    state %s\n    interface %s\n    virtual_router_id %d\n    priority %d\n    advert_int %s\n",
			name, state, c.Interface, c.VRID, c.Priority, strconv.FormatFloat(c.AdvertInt.Seconds(), 'f', -1, 64))
		if v6 {
			b.WriteString("    native_ipv6\n")
		}
		if c.NoPreempt {
			b.WriteString("    nopreempt\n")
		}
		if c.AuthPass != "" {
			fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", c.AuthPass)
		}
		var peers []netip.Addr
		for _, p := range c.UnicastPeers {
			if p.Unmap().Is6() == v6 {
				peers = append(peers, p.Unmap())
			}
		}
		if len(peers) > 0 {
			b.WriteString("    unicast_peer {\n")
			for _, p := range peers {
				fmt.Fprintf(&b, "        %s\n", p)
			}
			b.WriteString("    }\n")
		}
		b.WriteString("    virtual_ipaddress {\n")
		for _, a := range vips {
			fmt.Fprintf(&b, "        %s dev %s\n", HostPrefix(a), c.Interface)
		}
		b.WriteString("    }\n")
		for _, l := range c.InstanceExtra {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		b.WriteString("}\n")
	}
	if len(v4) > 0 {
		instance(c.Instance, v4, false)
	}
	if len(v6) > 0 {
		instance(c.Instance+"_6", v6, true)
	}
	if len(names) > 1 {
		fmt.Fprintf(&b, "vrrp_sync_group %s_G {\n    group {\n        %s\n    }\n}\n", c.Instance, strings.Join(names, "\n        "))
	}
	return b.String(), nil
}
