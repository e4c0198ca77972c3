package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// This file is the format: one table of fields per mapping. To add a key,
// add a field to the Go struct and a row here; cross-key rules go after
// the table, cross-instance rules in validate.go.

// config decodes the top-level mapping.
func (d *decoder) config(root *yaml.Node) *Config {
	if root == nil || isNull(root) {
		d.errorf(nil, "", "empty config: at least one instance is required (instances:)")
		return nil
	}
	cfg := &Config{
		ControlSocket: DefaultControlSocket,
		AnnounceRate:  DefaultAnnounceRate,
		StateDir:      DefaultStateDir,
	}
	var where []instanceNodes
	var bgpNode *yaml.Node
	m, ok := d.mapping(root, "", "a mapping of keys (node:, instances:, ...)", []field{
		{name: "node", decode: str(&cfg.Node, checkNodeName)},
		{name: "control_socket", decode: str(&cfg.ControlSocket, checkSocketPath)},
		{name: "announce_rate", decode: number(&cfg.AnnounceRate, 1, 100000)},
		{name: "metrics_listen", decode: str(&cfg.MetricsListen, checkListen)},
		{name: "state_dir", decode: str(&cfg.StateDir, checkStateDir)},
		{name: "bgp", decode: func(d *decoder, v *yaml.Node, path string) bool {
			bgpNode = v
			cfg.BGP = d.bgp(v, path)
			return cfg.BGP != nil
		}},
		{name: "instances", required: true, decode: func(d *decoder, v *yaml.Node, path string) bool {
			cfg.Instances, where = d.instances(v, path)
			return len(cfg.Instances) > 0
		}},
	})
	if !ok {
		return nil
	}
	if !m.has("node") {
		d.defaultNode(root, cfg)
	}
	d.crossCheck(cfg.Instances, where)
	d.checkBGP(cfg, bgpNode, where)
	return cfg
}

// defaultNode sets the node name from the host name.
func (d *decoder) defaultNode(root *yaml.Node, cfg *Config) {
	h, err := d.hostname()
	switch {
	case err != nil:
		d.errorf(root, "node", "not set, and the host name is unavailable (%v); set node:", err)
	case checkNodeName(h) != "":
		d.errorf(root, "node", "not set, and the host name %s is not a valid node name; set node:", quote(h))
	default:
		cfg.Node = h
	}
}

// instanceNodes remembers where an instance's values are in the file, for
// the checks across instances. A node is nil when the value is missing or
// was reported already.
type instanceNodes struct {
	path              string // instances[i], i counting every list item
	name, iface, vrid *yaml.Node
	mode              *yaml.Node   // nil unless mode: bgp
	vips              []*yaml.Node // parallel to Instance.VIPs
	vipPaths          []int        // index of each VIP in the file's list
}

// instances decodes the instances list.
func (d *decoder) instances(n *yaml.Node, path string) ([]Instance, []instanceNodes) {
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.errorf(n, path, "must list at least one instance")
		return nil, nil
	}
	var (
		list  []Instance
		where []instanceNodes
	)
	d.sequence(n, path, func(_ int, v *yaml.Node, path string) bool {
		in, w, ok := d.instance(v, path)
		if ok {
			list = append(list, in)
			where = append(where, w)
		}
		return ok
	})
	return list, where
}

// instance decodes one virtual router. ok is false if it is not a mapping
// at all; other problems are reported but the instance is still returned,
// so that the checks across instances see it.
func (d *decoder) instance(n *yaml.Node, path string) (in Instance, where instanceNodes, ok bool) {
	in = Instance{
		Priority:       DefaultPriority,
		AdvertInterval: DefaultAdvertInterval,
		Preempt:        true,
		Version:        DefaultVersion,
		Announce: Announce{
			Count:    DefaultAnnounceCount,
			Interval: DefaultAnnounceInterval,
		},
		Verify: Verify{Enabled: true, Period: DefaultVerifyPeriod},
		Notify: Notify{Timeout: DefaultNotifyTimeout},
		Line:   n.Line,
		Mode:   ModeVRRP,
	}
	routed := modeOf(n) == ModeBGP
	var (
		peers, targets []peer
		checks         []checkNodes
	)
	m, ok := d.mapping(n, path, "a mapping (name:, interface:, vrid:, vips:, ...)", []field{
		{name: "name", required: true, decode: str(&in.Name, checkName)},
		{name: "interface", required: true, decode: str(&in.Interface, checkIfname)},
		{name: "mode", decode: str(&in.Mode, checkMode)},
		{name: "vrid", required: !routed, decode: integer(&in.VRID, 1, 255)},
		{name: "priority", decode: integer(&in.Priority, 1, 255)},
		// advert_interval's range depends on version: checkVersion.
		{name: "advert_interval", decode: duration(&in.AdvertInterval, func(time.Duration) string { return "" })},
		{name: "version", decode: integer(&in.Version, 2, 3)},
		{name: "auth_pass", decode: str(&in.AuthPass, checkAuthPass)},
		{name: "preempt", decode: boolean(&in.Preempt)},
		{name: "preempt_delay", decode: duration(&in.PreemptDelay, between(0, time.Hour))},
		{name: "unicast_peers", decode: func(d *decoder, v *yaml.Node, path string) bool {
			var ok bool
			peers, ok = d.addrList(v, path, "peer")
			for _, p := range peers {
				in.UnicastPeers = append(in.UnicastPeers, p.addr)
			}
			return ok
		}},
		{name: "announce", decode: func(d *decoder, v *yaml.Node, path string) bool {
			return d.announce(v, path, &in.Announce)
		}},
		{name: "wait_for_interface", decode: boolean(&in.WaitForInterface)},
		{name: "virtual_mac", decode: boolean(&in.VirtualMAC)},
		{name: "vmac_xmit_base", decode: boolean(&in.VMACXmitBase)},
		{name: "na_router", decode: boolean(&in.NARouter)},
		{name: "verify", decode: func(d *decoder, v *yaml.Node, path string) bool {
			var ok bool
			targets, ok = d.verify(v, path, &in.Verify)
			return ok
		}},
		{name: "checks", decode: func(d *decoder, v *yaml.Node, path string) bool {
			var ok bool
			in.Checks, checks, ok = d.checks(v, path)
			return ok
		}},
		{name: "notify", decode: func(d *decoder, v *yaml.Node, path string) bool {
			return d.notify(v, path, &in.Notify)
		}},
		{name: "vips", required: true, decode: func(d *decoder, v *yaml.Node, path string) bool {
			var ok bool
			in.VIPs, where.vips, where.vipPaths, ok = d.vips(v, path, routed)
			return ok
		}},
	})
	if !ok {
		return in, where, false
	}
	where.path = path
	where.name, where.iface, where.vrid = m.ok("name"), m.ok("interface"), m.ok("vrid")
	if in.Routed() {
		where.mode, where.vrid = m.ok("mode"), nil
		d.checkRouted(&in, m, path, where.vips, where.vipPaths)
	} else {
		d.checkVersion(&in, m, path)
		if n := m.ok("vmac_xmit_base"); n != nil && in.VMACXmitBase && !in.VirtualMAC {
			d.errorf(n, join(path, "vmac_xmit_base"), "vmac_xmit_base needs virtual_mac: true (it sends the adverts from the interface's MAC instead of the virtual one)")
		}
		if n := m.ok("na_router"); n != nil && in.NARouter && len(in.VIPs) > 0 && !in.IPv6() {
			d.errorf(n, join(path, "na_router"), "na_router is for IPv6 VIPs (the Router flag of neighbour advertisements)")
		}
		d.checkFamily(&in, peers, "peer")
		d.checkFamily(&in, targets, "target")
	}
	if m.ok("priority") != nil || !m.has("priority") {
		d.checkOwnerWeights(&in, checks)
	}
	return in, where, true
}

// announce decodes the announcement schedule over the defaults in dst.
func (d *decoder) announce(n *yaml.Node, path string, dst *Announce) bool {
	before := len(d.errs)
	d.mapping(n, path, "a mapping (count:, interval:, refresh:)", []field{
		{name: "count", decode: integer(&dst.Count, 1, 100)},
		{name: "interval", decode: duration(&dst.Interval, between(10*time.Millisecond, time.Hour))},
		{name: "refresh", decode: duration(&dst.Refresh, checkRefresh)},
	})
	return len(d.errs) == before
}

// Value checks. Each returns a problem, or "" if the value is fine.

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func checkName(s string) string {
	if !nameRE.MatchString(s) {
		return fmt.Sprintf("must be 1..64 characters from A-Z a-z 0-9 _ . -, got %s", quote(s))
	}
	return ""
}

// checkNodeName: the same alphabet as instance names, which host names
// (at most 64 bytes on Linux) fit.
func checkNodeName(s string) string { return checkName(s) }

// checkIfname applies the kernel's dev_valid_name: 1..15 bytes, not "."
// or "..", no '/', ':' or white space. Control characters are refused too.
func checkIfname(s string) string {
	switch {
	case s == "" || len(s) > 15:
		return fmt.Sprintf("must be an interface name of 1..15 bytes, got %s (%d bytes)", quote(s), len(s))
	case s == "." || s == "..":
		return fmt.Sprintf("%s is not a valid interface name", quote(s))
	case strings.IndexFunc(s, func(r rune) bool {
		return r == '/' || r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) || r == 0
	}) >= 0:
		return fmt.Sprintf("%s is not a valid interface name (no '/', ':', white space or control characters)", quote(s))
	}
	return ""
}

// maxSocketPath is the room in sockaddr_un.sun_path, less the NUL.
const maxSocketPath = 107

func checkSocketPath(s string) string {
	switch {
	case !strings.HasPrefix(s, "/"):
		return fmt.Sprintf("must be an absolute path, got %s", quote(s))
	case len(s) > maxSocketPath:
		return fmt.Sprintf("is %d bytes, too long for a unix socket path (at most %d)", len(s), maxSocketPath)
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL"
	}
	return ""
}

// checkAdvertInterval: RFC 5798 §5.2.7 carries Max Advertise Interval in
// centiseconds in 12 bits, so 1..4095 cs.
func checkAdvertInterval(t time.Duration) string {
	if msg := between(10*time.Millisecond, 4095*10*time.Millisecond)(t); msg != "" {
		return msg
	}
	if t%(10*time.Millisecond) != 0 {
		return fmt.Sprintf("must be a multiple of 10ms (VRRPv3 carries it in centiseconds), got %s", fmtDuration(t))
	}
	return ""
}

// maxPath is PATH_MAX less the NUL.
const maxPath = 4095

func checkStateDir(s string) string {
	switch {
	case !strings.HasPrefix(s, "/"):
		return fmt.Sprintf("must be an absolute path, got %s", quote(s))
	case len(s) > maxPath:
		return fmt.Sprintf("is %d bytes, too long for a path (at most %d)", len(s), maxPath)
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL"
	}
	return ""
}

// checkListen checks a listen address, host:port; the host may be empty
// (all addresses).
func checkListen(s string) string {
	return checkHostPort(s, true, "127.0.0.1:9650 or [::1]:9650")
}

func checkRefresh(t time.Duration) string {
	if t != 0 && t < time.Second {
		return fmt.Sprintf("must be 0s (off) or at least 1s, got %s", fmtDuration(t))
	}
	return ""
}
