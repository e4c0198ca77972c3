package config

import (
	"errors"
	"net/netip"
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
	for _, file := range []string{"../../examples/vipd.yaml", "../../examples/ipv6.yaml"} {
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
	if !(c.AnnounceRate >= 1 && c.AnnounceRate <= 100000) {
		t.Errorf("AnnounceRate %v", c.AnnounceRate)
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
		if in.VRID == 0 || in.Priority == 0 {
			fail("vrid %d priority %d", in.VRID, in.Priority)
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
			if !p.IsValid() || addr.Is6() != v6 || addr.Zone() != "" || addr.Is4In6() || p.Bits() < 1 ||
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
		r := router{in.Interface, in.VRID, v6}
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
	type instance struct {
		Name           string   `yaml:"name"`
		Interface      string   `yaml:"interface"`
		VRID           uint8    `yaml:"vrid"`
		Priority       uint8    `yaml:"priority"`
		AdvertInterval string   `yaml:"advert_interval"`
		Preempt        bool     `yaml:"preempt"`
		PreemptDelay   string   `yaml:"preempt_delay"`
		UnicastPeers   []string `yaml:"unicast_peers,omitempty"`
		Announce       announce `yaml:"announce"`
		VIPs           []string `yaml:"vips"`
	}
	type config struct {
		Node          string     `yaml:"node"`
		ControlSocket string     `yaml:"control_socket"`
		AnnounceRate  yaml.Node  `yaml:"announce_rate"`
		Instances     []instance `yaml:"instances"`
	}
	out := config{
		Node:          c.Node,
		ControlSocket: c.ControlSocket,
		AnnounceRate:  yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(c.AnnounceRate, 'g', -1, 64)},
	}
	for _, in := range c.Instances {
		r := instance{
			Name: in.Name, Interface: in.Interface, VRID: in.VRID, Priority: in.Priority,
			AdvertInterval: in.AdvertInterval.String(), Preempt: in.Preempt, PreemptDelay: in.PreemptDelay.String(),
			Announce: announce{in.Announce.Count, in.Announce.Interval.String(), in.Announce.Refresh.String()},
		}
		for _, p := range in.UnicastPeers {
			r.UnicastPeers = append(r.UnicastPeers, p.String())
		}
		for _, p := range in.VIPs {
			r.VIPs = append(r.VIPs, p.String())
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
	for _, file := range []string{"../../examples/vipd.yaml", "../../examples/ipv6.yaml"} {
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
		if !reflect.DeepEqual(cfg, again) {
			t.Errorf("%s: round trip changed the config:\n was %+v\n now %+v", file, cfg, again)
		}
	}
}
