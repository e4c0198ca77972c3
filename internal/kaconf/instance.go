package kaconf

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// instanceOut is one vipd instance converted from a vrrp_instance.
type instanceOut struct {
	src          *Node
	comment      string // why it differs from its source, for the YAML comment
	name         string
	iface        string
	vrid         int
	priority     int
	advert       time.Duration
	version      int
	authPass     string
	preempt      bool
	preemptDelay time.Duration
	peers        []netip.Addr
	vips         []netip.Prefix
	announce     garpDefaults
	checks       []check
	notify       [][2]string // hook name, command, in vipd's order
	virtualMAC   bool
	xmitBase     bool // vmac_xmit_base, with virtualMAC
}

// Keywords of vrrp_instance that are reported with a reason of their own.
var instanceNotSupported = map[string]string{
	"state": "vipd has no initial state: every instance starts as backup and the highest priority wins " +
		"(priority 255 makes the address owner)",
	"smtp_alert": "vipd sends no mail: use notify hooks, `vipd events` or its metrics",
	"garp_master_delay": "vipd announces at once on takeover, again after announce.interval (1.1s), " +
		"verifies every VIP and repairs the stale ones",
	"garp_master_refresh_repeat": "vipd's announcements are paced daemon-wide (announce_rate)",
	"garp_lower_prio_delay":      "vipd's announcements are paced daemon-wide (announce_rate)",
	"garp_lower_prio_repeat":     "vipd's announcements are paced daemon-wide (announce_rate)",
	"lower_prio_no_advert":       "vipd always answers a lower-priority master at once",
	"unicast_src_ip": "vipd sends from the interface's primary address (the first one it finds); make the peers' " +
		"unicast_peers list it",
	"mcast_src_ip":               "vipd sends from the interface's primary address",
	"dont_track_primary":         "vipd always tracks the instance's interface (FAULT while it is down)",
	"virtual_routes":             "vipd manages addresses only: keep routes in the system's network configuration",
	"virtual_rules":              "vipd manages addresses only: keep rules in the system's network configuration",
	"track_file":                 "use a check of type exec that reads the file",
	"track_process":              "use a check of type exec (such as pidof NAME)",
	"track_bfd":                  "use a check of type exec",
	"lvs_sync_daemon_interface":  "LVS is out of scope for vipd",
	"strict_mode":                "vipd follows RFC 5798/3768 without a strict mode",
	"accept":                     "vipd always accepts packets to the VIPs it holds",
	"no_accept":                  "vipd always accepts packets to the VIPs it holds",
	"debug":                      "use vipd run --log-level debug",
	"notify_deleted":             "vipd has no deleted state",
	"notify_master_rx_lower_pri": "vipd reasserts against a lower-priority master itself and logs it",
	"kernel_rx_buf_size":         "not needed",
	"skip_check_adv_addr":        "vipd logs a differing address list once a minute and processes the advertisement",
	"check_unicast_src":          "vipd accepts unicast advertisements only from unicast_peers",
	"native_ipv6":                "", // converted: the family comes from the VIPs
}

// instance converts one vrrp_instance block into one or two instances.
func (c *converter) instance(n *Node) {
	if len(n.Args) < 1 {
		c.note(n, "has no name: not converted")
		return
	}
	in := &instanceOut{src: n, name: vipdName(n.Args[0]), version: c.version, priority: 100, advert: time.Second,
		preempt: true, announce: c.garp}
	var (
		advertNode, versionNode, authNode, xmitBase *Node
		vipNodes                                    []*Node
		trackScripts, trackIfaces                   *Node
		hasVRID                                     bool
	)
	for _, k := range n.Children {
		switch k.Keyword {
		case "interface":
			if len(k.Args) == 1 {
				in.iface = k.Args[0]
			} else {
				c.note(k, "takes one interface name")
			}
		case "virtual_router_id":
			if v, ok := c.intArg(k, 1, 255); ok {
				in.vrid, hasVRID = v, true
			}
		case "priority":
			if v, ok := c.intArg(k, 1, 255); ok {
				in.priority = v
			}
		case "advert_int":
			advertNode = k
		case "version":
			versionNode = k
		case "nopreempt":
			in.preempt = false
		case "preempt":
			in.preempt = true
		case "preempt_delay":
			if d, ok := c.seconds(k, 0, 3600); ok {
				in.preemptDelay = d
			}
		case "unicast_peer":
			in.peers = append(in.peers, c.peers(k)...)
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			vipNodes = append(vipNodes, k)
		case "track_interface":
			trackIfaces = k
		case "track_script":
			trackScripts = k
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			c.hook(in, k)
		case "use_vmac":
			if c.opt.VirtualMAC {
				in.virtualMAC = true
			} else {
				c.note(k, "pending: this vipd's configuration has no virtual_mac yet (RFC 5798 §7.3 virtual MAC); "+
					"the instance is converted without it")
			}
		case "vmac_xmit_base":
			xmitBase = k
		case "authentication":
			authNode = k
		case "garp_master_repeat":
			if v, ok := c.intArg(k, 1, 100); ok {
				in.announce.repeat = v
			}
		case "garp_master_refresh":
			if d, ok := c.seconds(k, 0, 3600); ok {
				in.announce.refresh = d
			}
		default:
			why, known := instanceNotSupported[k.Keyword]
			switch {
			case known && why == "":
			case known:
				c.note(k, "not supported (%s)", why)
			default:
				c.note(k, "not supported (no vipd equivalent)")
			}
		}
	}
	if versionNode != nil {
		if v, ok := c.intArg(versionNode, 2, 3); ok {
			in.version = v
		}
	}
	switch {
	case xmitBase == nil:
	case in.virtualMAC:
		in.xmitBase = true
	default:
		c.note(xmitBase, "not supported without use_vmac (vipd's vmac_xmit_base needs virtual_mac)")
	}
	switch {
	case in.iface == "":
		c.note(n, "no interface: not converted")
		return
	case !hasVRID:
		c.note(n, "no virtual_router_id: not converted")
		return
	}
	owner := in.priority == 255
	if trackScripts != nil {
		in.checks = append(in.checks, c.trackScripts(trackScripts, owner)...)
	}
	if trackIfaces != nil {
		in.checks = append(in.checks, c.trackInterfaces(trackIfaces, owner)...)
	}
	in.checks = uniqueChecks(in.checks)
	var v4, v6 []netip.Prefix
	for _, b := range vipNodes {
		for _, p := range c.vips(b, in) {
			if p.Addr().Is4() {
				v4 = append(v4, p)
			} else {
				v6 = append(v6, p)
			}
		}
	}
	if len(v4)+len(v6) == 0 {
		c.note(n, "no virtual address: not converted (a vipd instance holds at least one VIP)")
		return
	}
	var kept4, kept6 *instanceOut
	if len(v4) > 0 {
		four := *in
		four.vips = v4
		kept4 = c.finish(&four, advertNode, authNode, len(v6) > 0)
	}
	if len(v6) > 0 {
		six := *in
		six.vips = v6
		if len(v4) > 0 {
			six.name = in.name + "_v6"
			six.comment = fmt.Sprintf("IPv6 half of %s: VRRP carries one address family per instance", n.Args[0])
		}
		if six.version == 2 {
			six.version = 3
			if versionNode != nil {
				c.note(versionNode, "VRRPv2 is IPv4 only: the IPv6 VIPs use VRRPv3, as keepalived does")
			}
		}
		kept6 = c.finish(&six, advertNode, authNode, len(v4) > 0)
	}
	if kept4 != nil && kept6 != nil {
		c.note(n, "mixes IPv4 and IPv6 VIPs: converted to two instances, %s (IPv4) and %s (IPv6), "+
			"which fail over independently", kept4.name, kept6.name)
	}
}

// finish applies the version-dependent settings, the uniqueness rules,
// and keeps the instance; it returns nil if nothing of it was kept.
func (c *converter) finish(in *instanceOut, advertNode, authNode *Node, split bool) *instanceOut {
	v6 := in.vips[0].Addr().Is6()
	var peers []netip.Addr
	for _, p := range in.peers {
		if p.Is6() == v6 {
			peers = append(peers, p)
		}
	}
	if len(peers) < len(in.peers) && !split {
		c.note(in.src, "unicast peers of the other address family than the VIPs dropped")
	}
	in.peers = peers
	if advertNode != nil {
		c.advertInt(in, advertNode)
	}
	if authNode != nil {
		c.auth(in, authNode)
	}
	key := fmt.Sprintf("%s/%d/%v", in.iface, in.vrid, v6)
	if first := c.routers[key]; first != nil {
		c.note(in.src, "interface %s already has virtual_router_id %d for this address family (vrrp_instance at %s): "+
			"not converted", in.iface, in.vrid, first.src.Where())
		return nil
	}
	var vips []netip.Prefix
	for _, p := range in.vips {
		if first := c.vipOwner[p.Addr()]; first != nil {
			c.note(in.src, "VIP %s is already in instance %s (%s): left there, a VIP belongs to one instance",
				p.Addr(), first.name, first.src.Where())
			continue
		}
		c.vipOwner[p.Addr()] = in
		vips = append(vips, p)
	}
	if len(vips) == 0 {
		return nil
	}
	in.vips = vips
	c.routers[key] = in
	in.name = uniqueName(in.name, c.names)
	c.out = append(c.out, in)
	return in
}

// advertInt converts advert_int for the instance's version.
func (c *converter) advertInt(in *instanceOut, k *Node) {
	d, ok := c.seconds(k, 0.01, 255)
	if !ok {
		return
	}
	if in.version == 2 {
		s := max(1, math.Round(d.Seconds()))
		if r := time.Duration(s) * time.Second; r != d {
			c.note(k, "%s: VRRPv2 carries whole seconds: %s", fmtDuration(d), fmtDuration(r))
			d = r
		}
		in.advert = d
		return
	}
	r := d.Round(10 * time.Millisecond)
	r = min(max(r, 10*time.Millisecond), 40950*time.Millisecond)
	if r != d {
		c.note(k, "%s: VRRPv3 carries 10ms..40.95s in centiseconds: %s", fmtDuration(d), fmtDuration(r))
	}
	in.advert = r
}

// auth converts an authentication block.
func (c *converter) auth(in *instanceOut, b *Node) {
	typ, pass := "", ""
	var passNode *Node
	for _, k := range b.Children {
		switch k.Keyword {
		case "auth_type":
			if len(k.Args) > 0 {
				typ = k.Args[0]
			}
		case "auth_pass":
			if len(k.Args) > 0 {
				pass, passNode = joinArgs(k.Args), k
			}
		default:
			c.note(k, "not supported (no vipd equivalent)")
		}
	}
	switch {
	case in.version != 2:
		c.note(b, "ignored: VRRPv3 has no authentication (keepalived ignores it too)")
	case typ == "AH":
		c.note(b, "auth_type AH: not supported (IPsec AH; vipd speaks VRRPv2 with no authentication or PASS): "+
			"converted without authentication, which keepalived peers with AH will not accept")
	case typ != "PASS":
		c.note(b, "auth_type %s: not supported (vipd knows PASS): converted without authentication", quote(typ))
	case pass == "":
		c.note(b, "auth_type PASS without auth_pass: converted without authentication")
	default:
		if len(pass) > 8 {
			c.note(passNode, "longer than 8 bytes: VRRPv2 carries 8, keepalived sends the first 8, and so does vipd")
			pass = pass[:8]
		}
		if strings.ContainsAny(pass, " \t") || strings.IndexFunc(pass, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			c.note(passNode, "not printable ASCII without spaces, which vipd requires: converted without authentication")
			return
		}
		in.authPass = pass
	}
}

// peers converts a unicast_peer block.
func (c *converter) peers(b *Node) []netip.Addr {
	var out []netip.Addr
	for _, k := range b.Children {
		a, err := netip.ParseAddr(k.Keyword)
		if err != nil || a.Zone() != "" {
			c.note(k, "not an IP address: not converted")
			continue
		}
		if a = a.Unmap(); a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
			c.note(k, "not a unicast address: not converted")
			continue
		}
		if len(k.Args) > 0 {
			c.note(k, "%s: not supported (vipd checks the TTL is 255, as RFC 5798 asks)", k.Args[0])
		}
		out = append(out, a.Unmap())
	}
	return out
}

// vips converts a virtual_ipaddress(_excluded) block.
func (c *converter) vips(b *Node, in *instanceOut) []netip.Prefix {
	if b.Keyword == "virtual_ipaddress_excluded" && len(b.Children) > 0 {
		c.note(b, "converted into vips: vipd has no excluded list, its advertisements carry the VIPs that fit in one "+
			"packet; a keepalived peer of the same VRID logs that the address lists differ")
	}
	var out []netip.Prefix
	seen := map[netip.Addr]int{}
	noLength := false
	for _, k := range b.Children {
		p, ok := parseVIP(k.Keyword)
		if !ok {
			c.note(k, "not an IP address or prefix: not converted")
			continue
		}
		if a := p.Addr(); a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			c.note(k, "not a unicast address (unspecified, loopback, multicast or broadcast): not converted")
			continue
		}
		if !strings.Contains(k.Keyword, "/") {
			noLength = true
		}
		for i := 0; i < len(k.Args); i++ {
			opt := k.Args[i]
			val := ""
			if i+1 < len(k.Args) {
				val = k.Args[i+1]
			}
			switch opt {
			case "dev":
				i++
				if val != in.iface {
					c.note(k, "dev %s: not supported (vipd adds every VIP on the instance's interface, %s)", val, in.iface)
				}
			case "label":
				i++
				c.note(k, "label %s: not supported (vipd adds addresses without a label)", val)
			case "brd", "broadcast", "scope", "preferred_lft", "metric", "track_group":
				i++
				c.note(k, "%s %s: not supported (vipd adds the VIP with the kernel's defaults)", opt, val)
			case "no_track":
				c.note(k, "no_track: not supported (vipd watches every VIP it holds)")
			default:
				c.note(k, "%s: not supported (no vipd equivalent)", opt)
			}
		}
		if line, dup := seen[p.Addr()]; dup {
			c.note(k, "duplicate of the VIP at line %d: converted once", line)
			continue
		}
		seen[p.Addr()] = k.Line
		out = append(out, p)
	}
	if noLength {
		c.note(b, "VIPs without a prefix length are /32 (/128), as keepalived adds them; vipd verifies each VIP "+
			"against the gateways of its subnet: give the subnet's length (such as /24) or set verify.targets")
	}
	return out
}

// parseVIP parses ADDR or ADDR/LEN as keepalived does (no length: a host
// prefix).
func parseVIP(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" || p.Bits() == 0 {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// hook converts notify and notify_STATE.
func (c *converter) hook(in *instanceOut, k *Node) {
	cmd := joinArgs(k.Args)
	if cmd == "" {
		c.note(k, "no command: not converted")
		return
	}
	name := strings.TrimPrefix(k.Keyword, "notify_")
	if k.Keyword == "notify" {
		// keepalived calls it with: INSTANCE NAME STATE PRIORITY; vipd
		// gives the hook "$1" (instance), "$2" (state), "$3" (priority).
		name, cmd = "any", cmd+` INSTANCE "$1" "$2" "$3"`
	}
	for i, h := range in.notify {
		if h[0] == name {
			in.notify[i][1] = cmd
			return
		}
	}
	in.notify = append(in.notify, [2]string{name, cmd})
}

// uniqueChecks gives every check a unique vipd name.
func uniqueChecks(cs []check) []check {
	used := map[string]bool{}
	for i := range cs {
		cs[i].name = uniqueName(vipdName(cs[i].name), used)
	}
	return cs
}

func itoa(i int) string { return strconv.Itoa(i) }
