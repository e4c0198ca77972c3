package config

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that Parse never panics; that a failure is a non-empty
// Errors in line order, every error with a line inside the file; and that
// a success satisfies every rule of the format (checked here independently
// of the decoder) and survives a render → parse round trip unchanged.
// Crashers found stay in testdata/fuzz/FuzzParse as regression cases.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"../../examples/vipd.yaml", "../../examples/ipv6.yaml", "../../examples/bgp.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		base,
		base + "    unicast_peers: [192.0.2.12]\n    announce: {count: 3, interval: 1s, refresh: 10s}\n",
		"node: a\ncontrol_socket: /x\nannounce_rate: 1.5\n" + base + "    priority: 255\n    preempt: false\n    advert_interval: 40.95s\n",
		base + "  - {name: web6, interface: eth0, vrid: 42, vips: [2001:db8::1/64, fe80::1/64]}\n",
		base + "      - 2001:db8::1/64\n      - 192.0.2.100\n    vrid: 300\n",
		"instances:\n\t- name: web\n",
		"metrics_listen: '[::1]:9650'\nstate_dir: /x\n" + base + "    wait_for_interface: true\n    verify: {targets: [192.0.2.1], period: 0s, enabled: false}\n" +
			"    checks:\n      - {name: a, type: http, target: 'https://h:1/x', expect_status: 301, interval: 1s, timeout: 1s, rise: 1, fall: 3, weight: 254}\n" +
			"      - {name: b, type: exec, target: 'exit 1', fault: true}\n      - {name: c, type: interface, target: lo, weight: 0}\n" +
			"    notify: {master: a, backup: b, fault: c, stop: d, any: e, timeout: 1h}\n",
		base + "    priority: 255\n    checks: [{name: a, type: tcp, target: 'h:1', weight: -1}, {name: a, type: tcp, target: ':1'}]\n",
		"a: &a [*a]\n",
		"instances: [{name: a, interface: eth0, vrid: 1, vips: [192.0.2.1/24]}]\n---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := testOpts.Parse(data)
		if err != nil {
			if cfg != nil {
				t.Fatalf("config and error both returned")
			}
			checkFailure(t, data, err)
			return
		}
		checkConfig(t, cfg)

		again, err := testOpts.Parse(render(t, cfg))
		if err != nil {
			t.Fatalf("re-parse of rendered config: %v\n%s", err, render(t, cfg))
		}
		for i := range again.Instances {
			again.Instances[i].Line = cfg.Instances[i].Line
		}
		if again.BGP != nil && cfg.BGP != nil {
			again.BGP.Line = cfg.BGP.Line
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n was %+v\n now %+v", cfg, again)
		}
	})
}

// checkFailure checks an error of Parse: an Errors, not empty, in line
// order, every line within the file.
func checkFailure(t *testing.T, data []byte, err error) {
	t.Helper()
	var errs Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("error %v (%T) is not a non-empty Errors", err, err)
	}
	// YAML's line breaks: LF, CR, CRLF, NEL, LS, PS.
	text := strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(string(data))
	lines := strings.Count(text, "\n") + 1
	for i, e := range errs {
		if e == nil || e.Msg == "" {
			t.Fatalf("error %d empty: %#v", i, e)
		}
		if e.Line < 1 || e.Line > lines || e.Column < 1 {
			t.Errorf("error %d at line %d column %d, file has %d lines: %v", i, e.Line, e.Column, lines, e)
		}
		if i > 0 && (e.Line < errs[i-1].Line || (e.Line == errs[i-1].Line && e.Column < errs[i-1].Column)) {
			t.Errorf("errors out of order: %v before %v", errs[i-1], e)
		}
	}
}

var (
	checkNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	broadcast4  = netip.MustParseAddr("255.255.255.255")
)

// checkConfig checks every rule of the format on a parsed config, written
// separately from the decoder so that it catches the decoder's mistakes.
func checkConfig(t *testing.T, c *Config) {
	t.Helper()
	if !checkNameRE.MatchString(c.Node) {
		t.Errorf("Node %q", c.Node)
	}
	if !strings.HasPrefix(c.ControlSocket, "/") || len(c.ControlSocket) > 107 {
		t.Errorf("ControlSocket %q", c.ControlSocket)
	}
	if !(c.AnnounceRate == 0 || (c.AnnounceRate >= 1 && c.AnnounceRate <= 100000)) {
		t.Errorf("AnnounceRate %v", c.AnnounceRate)
	}
	if c.MetricsListen != "" {
		host, port, err := net.SplitHostPort(c.MetricsListen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 || strings.ContainsAny(host, " \x00/") {
			t.Errorf("MetricsListen %q", c.MetricsListen)
		}
	}
	if !strings.HasPrefix(c.StateDir, "/") || strings.IndexByte(c.StateDir, 0) >= 0 {
		t.Errorf("StateDir %q", c.StateDir)
	}
	if len(c.Instances) == 0 {
		t.Errorf("no instances")
	}
	type router struct {
		iface string
		vrid  uint8
		v6    bool
	}
	names := map[string]bool{}
	routers := map[router]bool{}
	vips := map[netip.Addr]bool{}
	for i, in := range c.Instances {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("instance %d (%s): "+format, append([]any{i, in.Name}, args...)...)
		}
		if !checkNameRE.MatchString(in.Name) || names[in.Name] {
			fail("bad or duplicate name")
		}
		names[in.Name] = true
		if len(in.Interface) < 1 || len(in.Interface) > 15 || strings.ContainsAny(in.Interface, "/: \t\n\r\v\f\x00") ||
			in.Interface == "." || in.Interface == ".." {
			fail("interface %q", in.Interface)
		}
		routed := in.Routed()
		if (in.VRID == 0) != routed || in.Priority == 0 || (routed && c.BGP == nil) || (in.Mode != ModeVRRP && in.Mode != ModeBGP) {
			fail("mode %s vrid %d priority %d", in.Mode, in.VRID, in.Priority)
		}
		if in.AdvertInterval < 10*time.Millisecond || in.AdvertInterval > 40950*time.Millisecond || in.AdvertInterval%(10*time.Millisecond) != 0 {
			fail("advert_interval %v", in.AdvertInterval)
		}
		if in.PreemptDelay < 0 || in.PreemptDelay > time.Hour {
			fail("preempt_delay %v", in.PreemptDelay)
		}
		a := in.Announce
		if a.Count < 1 || a.Count > 100 || a.Interval < 10*time.Millisecond || a.Interval > time.Hour || (a.Refresh != 0 && a.Refresh < time.Second) {
			fail("announce %+v", a)
		}
		if in.Line < 1 {
			fail("line %d", in.Line)
		}
		if len(in.VIPs) == 0 || len(in.VIPs) > MaxVIPs {
			fail("%d VIPs", len(in.VIPs))
			continue
		}
		v6 := in.VIPs[0].Addr().Is6()
		if in.IPv6() != v6 {
			fail("IPv6() = %v", in.IPv6())
		}
		own := map[netip.Addr]bool{}
		for _, p := range in.VIPs {
			addr := p.Addr()
			if !p.IsValid() || (addr.Is6() != v6 && !routed) || (routed && p.Bits() != addr.BitLen()) || addr.Zone() != "" || addr.Is4In6() || p.Bits() < 1 ||
				!addr.IsValid() || addr.IsUnspecified() || addr.IsLoopback() || addr.IsMulticast() || addr == broadcast4 {
				fail("VIP %v", p)
			}
			if vips[addr] {
				fail("duplicate VIP %v", addr)
			}
			vips[addr], own[addr] = true, true
		}
		peers := map[netip.Addr]bool{}
		for _, p := range in.UnicastPeers {
			if !p.IsValid() || p.Is6() != v6 || p.Zone() != "" || p.Is4In6() || p.IsUnspecified() || p.IsLoopback() ||
				p.IsMulticast() || p == broadcast4 || own[p] || peers[p] {
				fail("peer %v", p)
			}
			peers[p] = true
		}
		targets := map[netip.Addr]bool{}
		for _, a := range in.Verify.Targets {
			if !a.IsValid() || a.Is6() != v6 || a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsLoopback() ||
				a.IsMulticast() || a == broadcast4 || own[a] || targets[a] {
				fail("verify target %v", a)
			}
			targets[a] = true
		}
		if p := in.Verify.Period; p != 0 && (p < time.Second || p > time.Hour) {
			fail("verify period %v", p)
		}
		if in.Notify.Timeout < 100*time.Millisecond || in.Notify.Timeout > time.Hour {
			fail("notify timeout %v", in.Notify.Timeout)
		}
		for _, h := range []string{in.Notify.Master, in.Notify.Backup, in.Notify.Fault, in.Notify.Stop, in.Notify.Any} {
			if h != "" && (strings.TrimSpace(h) == "" || strings.IndexByte(h, 0) >= 0) {
				fail("notify hook %q", h)
			}
		}
		checkNames := map[string]bool{}
		for _, ch := range in.Checks {
			if !checkNameRE.MatchString(ch.Name) || checkNames[ch.Name] {
				fail("bad or duplicate check name %q", ch.Name)
			}
			checkNames[ch.Name] = true
			if ch.Interval < 100*time.Millisecond || ch.Interval > time.Hour || ch.Timeout < 10*time.Millisecond || ch.Timeout > ch.Interval ||
				ch.Rise < 1 || ch.Rise > 100 || ch.Fall < 1 || ch.Fall > 100 || ch.Weight < -254 || ch.Weight > 254 ||
				(ch.Fault && ch.Weight != 0) || (in.Priority == 255 && ch.Weight != 0) ||
				strings.TrimSpace(ch.Target) == "" || strings.IndexByte(ch.Target, 0) >= 0 {
				fail("check %+v", ch)
			}
			ok := true
			switch ch.Type {
			case CheckHTTP:
				u, err := url.Parse(ch.Target)
				ok = err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && ch.ExpectStatus >= 100 && ch.ExpectStatus <= 599
			case CheckTCP:
				host, port, err := net.SplitHostPort(ch.Target)
				n, perr := strconv.Atoi(port)
				ok = err == nil && perr == nil && host != "" && n >= 1 && n <= 65535 && ch.ExpectStatus == 0
			case CheckInterface:
				ok = len(ch.Target) <= 15 && !strings.ContainsAny(ch.Target, "/: \t\n\r\v\f") && ch.ExpectStatus == 0
			case CheckExec:
				ok = ch.ExpectStatus == 0
			default:
				ok = false
			}
			if !ok {
				fail("check %+v", ch)
			}
		}
		r := router{in.Interface, in.VRID, v6}
		if routed {
			continue
		}
		if routers[r] {
			fail("duplicate router %+v", r)
		}
		routers[r] = true
	}
}

// render writes a config back as YAML, every key explicit.
func render(t *testing.T, c *Config) []byte {
	t.Helper()
	type announce struct {
		Count    int    `yaml:"count"`
		Interval string `yaml:"interval"`
		Refresh  string `yaml:"refresh"`
	}
	type check struct {
		Name         string `yaml:"name"`
		Type         string `yaml:"type"`
		Target       string `yaml:"target"`
		ExpectStatus int    `yaml:"expect_status,omitempty"`
		Interval     string `yaml:"interval"`
		Timeout      string `yaml:"timeout"`
		Rise         int    `yaml:"rise"`
		Fall         int    `yaml:"fall"`
		Weight       *int   `yaml:"weight,omitempty"`
		Fault        bool   `yaml:"fault"`
	}
	type verify struct {
		Targets []string `yaml:"targets,omitempty"`
		Period  string   `yaml:"period"`
		Enabled bool     `yaml:"enabled"`
	}
	type notify struct {
		Master  string `yaml:"master,omitempty"`
		Backup  string `yaml:"backup,omitempty"`
		Fault   string `yaml:"fault,omitempty"`
		Stop    string `yaml:"stop,omitempty"`
		Any     string `yaml:"any,omitempty"`
		Timeout string `yaml:"timeout"`
	}
	type instance struct {
		Name           string    `yaml:"name"`
		Mode           string    `yaml:"mode"`
		Interface      string    `yaml:"interface"`
		VRID           *uint8    `yaml:"vrid,omitempty"`
		Priority       uint8     `yaml:"priority"`
		AdvertInterval string    `yaml:"advert_interval,omitempty"`
		Preempt        *bool     `yaml:"preempt,omitempty"`
		PreemptDelay   string    `yaml:"preempt_delay,omitempty"`
		UnicastPeers   []string  `yaml:"unicast_peers,omitempty"`
		Announce       *announce `yaml:"announce,omitempty"`
		WaitForIface   bool      `yaml:"wait_for_interface"`
		Verify         verify    `yaml:"verify"`
		Checks         []check   `yaml:"checks,omitempty"`
		Notify         notify    `yaml:"notify"`
		VIPs           []string  `yaml:"vips"`
	}
	type bgpPeer struct {
		Address  string `yaml:"address"`
		ASN      uint32 `yaml:"asn"`
		HoldTime string `yaml:"hold_time"`
	}
	type bgp struct {
		ASN      uint32    `yaml:"asn"`
		RouterID string    `yaml:"router_id,omitempty"`
		Peers    []bgpPeer `yaml:"peers"`
	}
	type config struct {
		Node          string     `yaml:"node"`
		BGP           *bgp       `yaml:"bgp,omitempty"`
		ControlSocket string     `yaml:"control_socket"`
		AnnounceRate  *yaml.Node `yaml:"announce_rate,omitempty"`
		MetricsListen string     `yaml:"metrics_listen,omitempty"`
		StateDir      string     `yaml:"state_dir"`
		Instances     []instance `yaml:"instances"`
	}
	out := config{
		Node:          c.Node,
		ControlSocket: c.ControlSocket,
		MetricsListen: c.MetricsListen,
		StateDir:      c.StateDir,
	}
	if c.AnnounceRate != 0 { // 0, adaptive, is the key's absence
		out.AnnounceRate = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(c.AnnounceRate, 'g', -1, 64)}
	}
	if b := c.BGP; b != nil {
		out.BGP = &bgp{ASN: b.ASN}
		if b.RouterID.IsValid() {
			out.BGP.RouterID = b.RouterID.String()
		}
		for _, p := range b.Peers {
			out.BGP.Peers = append(out.BGP.Peers, bgpPeer{p.Address.String(), p.ASN, p.HoldTime.String()})
		}
	}
	for _, in := range c.Instances {
		r := instance{Name: in.Name, Mode: in.Mode, Interface: in.Interface, Priority: in.Priority}
		if !in.Routed() {
			vrid, preempt := in.VRID, in.Preempt
			r.VRID, r.Preempt = &vrid, &preempt
			r.AdvertInterval, r.PreemptDelay = in.AdvertInterval.String(), in.PreemptDelay.String()
			r.Announce = &announce{in.Announce.Count, in.Announce.Interval.String(), in.Announce.Refresh.String()}
		}
		for _, p := range in.UnicastPeers {
			r.UnicastPeers = append(r.UnicastPeers, p.String())
		}
		for _, p := range in.VIPs {
			r.VIPs = append(r.VIPs, p.String())
		}
		r.WaitForIface = in.WaitForInterface
		r.Verify = verify{Period: in.Verify.Period.String(), Enabled: in.Verify.Enabled}
		for _, a := range in.Verify.Targets {
			r.Verify.Targets = append(r.Verify.Targets, a.String())
		}
		n := in.Notify
		r.Notify = notify{n.Master, n.Backup, n.Fault, n.Stop, n.Any, n.Timeout.String()}
		for _, ch := range in.Checks {
			rc := check{Name: ch.Name, Type: ch.Type, Target: ch.Target, ExpectStatus: ch.ExpectStatus,
				Interval: ch.Interval.String(), Timeout: ch.Timeout.String(), Rise: ch.Rise, Fall: ch.Fall, Fault: ch.Fault}
			if !ch.Fault {
				rc.Weight = &ch.Weight
			}
			r.Checks = append(r.Checks, rc)
		}
		out.Instances = append(out.Instances, r)
	}
	data, err := yaml.Marshal(out)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return data
}

// TestRoundTrip runs the fuzz property on the examples outside fuzzing,
// so that render itself is known to work.
func TestRoundTrip(t *testing.T) {
	for _, file := range []string{"../../examples/vipd.yaml", "../../examples/ipv6.yaml", "../../examples/bgp.yaml"} {
		cfg, err := testOpts.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		again, err := testOpts.Parse(render(t, cfg))
		if err != nil {
			t.Fatal(err)
		}
		for i := range again.Instances {
			again.Instances[i].Line = cfg.Instances[i].Line
		}
		if again.BGP != nil && cfg.BGP != nil {
			again.BGP.Line = cfg.BGP.Line
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Errorf("%s: round trip changed the config:\n was %+v\n now %+v", file, cfg, again)
		}
	}
}
