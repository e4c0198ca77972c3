package kaconf

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Result is a converted configuration.
type Result struct {
	// YAML is vipd's configuration: every converted instance, each after
	// a comment naming its source FILE:LINE.
	YAML []byte
	// Instances counts the vipd instances written (an instance mixing
	// IPv4 and IPv6 VIPs becomes two).
	Instances int
	// Notes are every keyword not converted, and every value changed, with
	// why, in input order.
	Notes []Note
}

// Options adjust Convert.
type Options struct {
	// VirtualMAC reports whether vipd's configuration has virtual_mac:
	// use_vmac becomes virtual_mac: true when it does, and a note
	// otherwise.
	VirtualMAC bool
	// Source names the converted file in the header comment.
	Source string
}

// converter holds the state of one conversion.
type converter struct {
	opt     Options
	notes   []Note
	version int // global vrrp_version: 2 (keepalived's default) or 3
	garp    garpDefaults
	scripts map[string]*script
	out     []*instanceOut
	// seen keeps the first instance of each (interface, vrid, family)
	// and of each VIP, for vipd's uniqueness rules.
	routers  map[string]*instanceOut
	vipOwner map[netip.Addr]*instanceOut
	names    map[string]bool
	kept     int // instances written by yaml
}

// garpDefaults are global_defs' announcement settings, the defaults of
// every instance.
type garpDefaults struct {
	repeat  int           // vrrp_garp_master_repeat → announce.count
	refresh time.Duration // vrrp_garp_master_refresh → announce.refresh
}

// Convert converts a keepalived configuration to vipd's.
func Convert(t *Tree, opt Options) *Result {
	c := &converter{opt: opt, version: 2, scripts: map[string]*script{},
		routers: map[string]*instanceOut{}, vipOwner: map[netip.Addr]*instanceOut{}, names: map[string]bool{}}
	c.notes = append(c.notes, t.Notes...)
	// Globals and scripts first: keepalived applies them wherever they are.
	for _, n := range t.Nodes {
		switch n.Keyword {
		case "global_defs":
			c.globals(n)
		case "vrrp_script":
			c.script(n)
		}
	}
	for _, n := range t.Nodes {
		switch n.Keyword {
		case "global_defs", "vrrp_script":
		case "vrrp_instance":
			c.instance(n)
		case "vrrp_sync_group":
			c.note(n, "not supported (vipd's instances fail over one by one; a failing check or interface "+
				"of one instance does not move the others: give each instance the same checks)")
		case "virtual_server", "virtual_server_group", "real_server":
			c.note(n, "LVS is out of scope (vipd moves addresses, it does not balance load): keep keepalived's "+
				"LVS part (or ipvsadm) next to vipd")
		case "static_ipaddress", "static_routes", "static_rules":
			c.note(n, "not supported (vipd manages only the VIPs: keep static addresses, routes and rules in the "+
				"system's network configuration)")
		case "net_namespace", "net_namespace_ipvs", "instance", "use_pid_dir", "linkbeat_use_polling":
			c.note(n, "not supported (run vipd in the namespace or systemd unit that needs it)")
		default:
			c.note(n, "not supported (no vipd equivalent)")
		}
	}
	for _, s := range c.scripts {
		if !s.used {
			c.note(s.node, "not converted: no vrrp_instance tracks it (vipd's checks belong to an instance)")
		}
	}
	out := c.yaml()
	return &Result{YAML: out, Instances: c.kept, Notes: sortNotes(c.notes)}
}

func (c *converter) note(n *Node, format string, args ...any) {
	c.notes = append(c.notes, Note{File: n.File, Line: n.Line, Keyword: n.Keyword, Msg: fmt.Sprintf(format, args...)})
}

// sortNotes keeps input order: files in the order first seen, lines
// ascending within a file.
func sortNotes(ns []Note) []Note {
	order := map[string]int{}
	for _, n := range ns {
		if _, ok := order[n.File]; !ok {
			order[n.File] = len(order)
		}
	}
	// The two halves of a split instance would say the same thing twice.
	seen := map[Note]bool{}
	var out []Note
	for _, n := range ns {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	// Insertion sort: stable, and the lists are short.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && lessNote(out[j], out[j-1], order); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func lessNote(a, b Note, order map[string]int) bool {
	if a.File != b.File {
		return order[a.File] < order[b.File]
	}
	return a.Line < b.Line
}

// globals converts global_defs.
func (c *converter) globals(g *Node) {
	for _, n := range g.Children {
		switch n.Keyword {
		case "vrrp_version":
			if v, ok := c.intArg(n, 2, 3); ok {
				c.version = v
			}
		case "vrrp_garp_master_repeat":
			if v, ok := c.intArg(n, 1, 100); ok {
				c.garp.repeat = v
			}
		case "vrrp_garp_master_refresh":
			if d, ok := c.seconds(n, 0, 3600); ok {
				c.garp.refresh = d
			}
		case "vrrp_garp_master_delay", "vrrp_garp_master_refresh_repeat", "vrrp_garp_lower_prio_delay",
			"vrrp_garp_lower_prio_repeat", "vrrp_garp_interval", "vrrp_gna_interval", "vrrp_min_garp",
			"vrrp_lower_prio_no_advert", "vrrp_garp_extra_if":
			c.note(n, "not supported (vipd announces each VIP at once on takeover, again after announce.interval "+
				"(1.1s), verifies it and repairs the stale ones, paced daemon-wide by announce_rate (adaptive by default))")
		case "router_id":
			c.note(n, "not converted (vipd names the node by its host name; set node: for another name)")
		case "notification_email", "notification_email_from", "smtp_server", "smtp_connect_timeout", "smtp_helo_name",
			"smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker", "email_faults":
			c.note(n, "not supported (vipd sends no mail: use notify hooks, `vipd events` or its metrics)")
		case "script_user", "enable_script_security":
			c.note(n, "not supported (vipd runs checks and hooks as its own user, by /bin/sh -c)")
		case "vrrp_strict":
			c.note(n, "not supported (vipd follows RFC 5798/3768 and accepts packets to the VIPs like keepalived without vrrp_strict)")
		case "vrrp_mcast_group4", "vrrp_mcast_group6":
			c.note(n, "not supported (vipd uses the RFC's groups 224.0.0.18 and ff02::12)")
		default:
			c.note(n, "not supported (no vipd equivalent)")
		}
	}
}

// intArg reads the single integer argument of n within lo..hi.
func (c *converter) intArg(n *Node, lo, hi int) (int, bool) {
	if len(n.Args) < 1 {
		c.note(n, "no value: ignored")
		return 0, false
	}
	v, err := strconv.Atoi(n.Args[0])
	if err != nil || v < lo || v > hi {
		c.note(n, "%s is not an integer %d..%d: ignored", quote(n.Args[0]), lo, hi)
		return 0, false
	}
	return v, true
}

// seconds reads a (decimal) number of seconds within lo..hi.
func (c *converter) seconds(n *Node, lo, hi float64) (time.Duration, bool) {
	if len(n.Args) < 1 {
		c.note(n, "no value: ignored")
		return 0, false
	}
	f, err := strconv.ParseFloat(n.Args[0], 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		c.note(n, "%s is not a number of seconds %g..%g: ignored", quote(n.Args[0]), lo, hi)
		return 0, false
	}
	return time.Duration(math.Round(f * float64(time.Second))), true
}

var badNameChar = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// vipdName turns a keepalived name into a vipd name ([A-Za-z0-9_.-]{1,64}).
func vipdName(s string) string {
	s = badNameChar.ReplaceAllString(s, "_")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		s = "_"
	}
	return s
}

// uniqueName returns name, or name with a number appended, not in used.
func uniqueName(name string, used map[string]bool) string {
	n := name
	for i := 2; used[n]; i++ {
		suffix := "_" + strconv.Itoa(i)
		n = name
		if len(n)+len(suffix) > 64 {
			n = n[:64-len(suffix)]
		}
		n += suffix
	}
	used[n] = true
	return n
}

func quote(s string) string { return strconv.Quote(s) }

// fmtDuration is time.Duration.String without trailing zero units.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
