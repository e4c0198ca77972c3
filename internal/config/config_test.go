package config

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testOpts = Options{Hostname: func() (string, error) { return "testhost", nil }}

func parse(t testing.TB, s string) (*Config, error) {
	t.Helper()
	return testOpts.Parse([]byte(s))
}

// defaults returns an instance with every default applied, as Parse does.
func defaults(name, iface string, vrid uint8, line int, vips ...string) Instance {
	in := Instance{
		Name:           name,
		Mode:           ModeVRRP,
		Interface:      iface,
		VRID:           vrid,
		Priority:       100,
		AdvertInterval: time.Second,
		Version:        3,
		Preempt:        true,
		Announce:       Announce{Count: 2, Interval: 1100 * time.Millisecond},
		Verify:         Verify{Enabled: true, Period: 30 * time.Second},
		Notify:         Notify{Timeout: 10 * time.Second},
		Line:           line,
	}
	for _, v := range vips {
		in.VIPs = append(in.VIPs, netip.MustParsePrefix(v))
	}
	return in
}

func TestParseValid(t *testing.T) {
	minimal := func(mod func(*Instance)) *Config {
		in := defaults("web", "eth0", 42, 3, "192.0.2.100/24")
		if mod != nil {
			mod(&in)
		}
		return &Config{Node: "testhost", ControlSocket: DefaultControlSocket, AnnounceRate: DefaultAnnounceRate, StateDir: DefaultStateDir, Instances: []Instance{in}}
	}
	tests := []struct {
		name string
		in   string
		want *Config
	}{
		{
			name: "minimal, all defaults",
			in: `
instances:
  - name: web
    interface: eth0
    vrid: 42
    vips: [192.0.2.100/24]
`,
			want: minimal(nil),
		},
		{
			name: "every key",
			in: `node: a
control_socket: /tmp/v.sock
announce_rate: 12.5
metrics_listen: 127.0.0.1:9650
state_dir: /srv/vipd
instances:
  - name: web
    interface: eth0
    vrid: 42
    priority: 254
    advert_interval: 40.95s
    preempt: false
    preempt_delay: 1h
    unicast_peers: [192.0.2.12, 192.0.2.13]
    announce:
      count: 100
      interval: 10ms
      refresh: 1s
    wait_for_interface: true
    verify:
      targets: [192.0.2.1, 198.51.100.1]
      period: 0s
      enabled: false
    checks:
      - name: nginx
        type: http
        target: https://127.0.0.1:8443/health
        expect_status: 204
        interval: 1h
        timeout: 1h
        rise: 1
        fall: 100
        fault: true
      - name: port
        type: tcp
        target: localhost:80
        weight: -254
      - name: script
        type: exec
        target: /usr/local/bin/check "$1" || exit 1
        interval: 100ms
        weight: 0
        fault: false
      - name: link
        type: interface
        target: eth1
        timeout: 10ms
        weight: 0
    notify:
      master: /usr/local/bin/on-master
      backup: echo backup
      fault: echo fault
      stop: echo stop
      any: logger -t vipd "$@"
      timeout: 100ms
    vips:
      - 192.0.2.100/24
      - 192.0.2.101/32
`,
			want: &Config{Node: "a", ControlSocket: "/tmp/v.sock", AnnounceRate: 12.5, MetricsListen: "127.0.0.1:9650", StateDir: "/srv/vipd", Instances: []Instance{{
				Name: "web", Mode: ModeVRRP, Interface: "eth0", VRID: 42, Priority: 254,
				AdvertInterval: 40950 * time.Millisecond, Version: 3, Preempt: false, PreemptDelay: time.Hour,
				UnicastPeers:     []netip.Addr{netip.MustParseAddr("192.0.2.12"), netip.MustParseAddr("192.0.2.13")},
				Announce:         Announce{Count: 100, Interval: 10 * time.Millisecond, Refresh: time.Second},
				VIPs:             []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("192.0.2.101/32")},
				WaitForInterface: true,
				Verify: Verify{Enabled: false, Period: 0,
					Targets: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.1")}},
				Checks: []Check{
					{Name: "nginx", Type: "http", Target: "https://127.0.0.1:8443/health", ExpectStatus: 204,
						Interval: time.Hour, Timeout: time.Hour, Rise: 1, Fall: 100, Fault: true},
					{Name: "port", Type: "tcp", Target: "localhost:80", Interval: 2 * time.Second, Timeout: time.Second, Rise: 2, Fall: 2, Weight: -254},
					{Name: "script", Type: "exec", Target: `/usr/local/bin/check "$1" || exit 1`,
						Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond, Rise: 2, Fall: 2},
					{Name: "link", Type: "interface", Target: "eth1", Interval: 2 * time.Second, Timeout: 10 * time.Millisecond, Rise: 2, Fall: 2},
				},
				Notify: Notify{Master: "/usr/local/bin/on-master", Backup: "echo backup", Fault: "echo fault", Stop: "echo stop",
					Any: `logger -t vipd "$@"`, Timeout: 100 * time.Millisecond},
				Line: 7,
			}}},
		},
		{
			name: "address owner with a fault check and a reporting one",
			in: `instances:
  - name: web
    interface: eth0
    vrid: 42
    priority: 255
    checks:
      - {name: a, type: tcp, target: "[2001:db8::1]:1", fault: true}
      - {name: b, type: interface, target: lo, weight: 0, rise: 100, fall: 1, interval: 500ms}
    vips: [192.0.2.100/24]
`,
			want: func() *Config {
				c := minimal(func(in *Instance) {
					in.Priority = 255
					in.Checks = []Check{
						{Name: "a", Type: "tcp", Target: "[2001:db8::1]:1", Interval: 2 * time.Second, Timeout: time.Second, Rise: 2, Fall: 2, Fault: true},
						{Name: "b", Type: "interface", Target: "lo", Interval: 500 * time.Millisecond, Timeout: 500 * time.Millisecond, Rise: 100, Fall: 1},
					}
				})
				c.Instances[0].Line = 2
				return c
			}(),
		},
		{
			name: "empty lists are none, listen on all addresses",
			in: `metrics_listen: ":9650"
instances:
  - name: web
    interface: eth0
    vrid: 42
    checks: []
    verify: {targets: []}
    notify: {}
    vips: [192.0.2.100/24]
`,
			want: func() *Config {
				c := minimal(nil)
				c.MetricsListen = ":9650"
				c.Instances[0].Line = 3
				return c
			}(),
		},
		{
			name: "null values mean the default",
			in: `node:
control_socket: ~
instances:
  - name: web
    interface: eth0
    vrid: 42
    priority:
    announce:
    unicast_peers:
    vips: [192.0.2.100/24]
`,
			want: func() *Config {
				c := minimal(nil)
				c.Instances[0].Line = 4
				return c
			}(),
		},
		{
			name: "partial announce keeps the other defaults",
			in: `instances:
  - name: web
    interface: eth0
    vrid: 42
    announce: {count: 5}
    vips: [192.0.2.100/24]
`,
			want: func() *Config {
				c := minimal(func(in *Instance) { in.Announce.Count = 5 })
				c.Instances[0].Line = 2
				return c
			}(),
		},
		{
			name: "IPv6 instance",
			in: `instances:
  - name: web6
    interface: eth0
    vrid: 42
    unicast_peers: [2001:db8::12, fe80::12]
    vips: [2001:db8::100/64, fe80::100/64]
`,
			want: &Config{Node: "testhost", ControlSocket: DefaultControlSocket, AnnounceRate: DefaultAnnounceRate, StateDir: DefaultStateDir, Instances: []Instance{
				func() Instance {
					in := defaults("web6", "eth0", 42, 2, "2001:db8::100/64", "fe80::100/64")
					in.UnicastPeers = []netip.Addr{netip.MustParseAddr("2001:db8::12"), netip.MustParseAddr("fe80::12")}
					return in
				}(),
			}},
		},
		{
			name: "same interface and vrid, both families",
			in: `instances:
  - {name: web4, interface: eth0, vrid: 42, vips: [192.0.2.100/24]}
  - {name: web6, interface: eth0, vrid: 42, vips: [2001:db8::100/64]}
  - {name: other, interface: eth1, vrid: 42, vips: [192.0.2.101/24]}
`,
			want: &Config{Node: "testhost", ControlSocket: DefaultControlSocket, AnnounceRate: DefaultAnnounceRate, StateDir: DefaultStateDir, Instances: []Instance{
				defaults("web4", "eth0", 42, 2, "192.0.2.100/24"),
				defaults("web6", "eth0", 42, 3, "2001:db8::100/64"),
				defaults("other", "eth1", 42, 4, "192.0.2.101/24"),
			}},
		},
		{
			name: "YAML spellings: hex int, quoted keys, BOM, comments, document markers, trailing empty document",
			in:   "\ufeff# vipd\n---\n\"instances\":\n  - name: 42\n    interface: \"eth0.100\"\n    vrid: 0x2A   # 42\n    priority: !!int 7\n    vips: ['192.0.2.100/24']\n...\n---\n",
			want: &Config{Node: "testhost", ControlSocket: DefaultControlSocket, AnnounceRate: DefaultAnnounceRate, StateDir: DefaultStateDir, Instances: []Instance{
				func() Instance {
					in := defaults("42", "eth0.100", 42, 4, "192.0.2.100/24")
					in.Priority = 7
					return in
				}(),
			}},
		},
		{
			name: "announce_rate integer, boundaries",
			in: `announce_rate: 100000
instances:
  - name: web
    interface: abcdefghijklmno
    vrid: 255
    priority: 1
    advert_interval: 10ms
    preempt_delay: 0s
    announce: {count: 1, interval: 1h, refresh: 0s}
    vips: [192.0.2.100/1]
`,
			want: &Config{Node: "testhost", ControlSocket: DefaultControlSocket, AnnounceRate: 100000, StateDir: DefaultStateDir, Instances: []Instance{
				func() Instance {
					in := defaults("web", "abcdefghijklmno", 255, 3, "192.0.2.100/1")
					in.Priority = 1
					in.AdvertInterval = 10 * time.Millisecond
					in.Announce = Announce{Count: 1, Interval: time.Hour}
					return in
				}(),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(t, tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestHostBitsKept(t *testing.T) {
	c, err := parse(t, "instances: [{name: a, interface: eth0, vrid: 1, vips: [192.0.2.100/24, 192.0.2.255/25]}]\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("192.0.2.255/25")}
	if !reflect.DeepEqual(c.Instances[0].VIPs, want) {
		t.Errorf("VIPs = %v, want %v (unmasked)", c.Instances[0].VIPs, want)
	}
	if c.Instances[0].VIPs[0].Masked() == c.Instances[0].VIPs[0] {
		t.Errorf("VIP was masked")
	}
}

func TestIPv6(t *testing.T) {
	for _, tt := range []struct {
		vips []string
		want bool
	}{
		{nil, false},
		{[]string{"192.0.2.1/24"}, false},
		{[]string{"2001:db8::1/64"}, true},
	} {
		in := defaults("a", "eth0", 1, 1, tt.vips...)
		if got := in.IPv6(); got != tt.want {
			t.Errorf("IPv6() of %v = %v, want %v", tt.vips, got, tt.want)
		}
	}
}

func TestHostname(t *testing.T) {
	in := []byte(base)
	for _, tt := range []struct {
		name     string
		hostname func() (string, error)
		node     string
		err      string
	}{
		{"host name used", func() (string, error) { return "lb-1.example", nil }, "lb-1.example", ""},
		{"host name fails", func() (string, error) { return "", errors.New("boom") }, "", "line 1: node: not set, and the host name is unavailable (boom); set node:"},
		{"host name invalid", func() (string, error) { return "a b", nil }, "", `line 1: node: not set, and the host name "a b" is not a valid node name`},
		{"host name empty", func() (string, error) { return "", nil }, "", "not a valid node name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Options{Hostname: tt.hostname}.Parse(in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Node != tt.node {
				t.Errorf("Node = %q, want %q", cfg.Node, tt.node)
			}
		})
	}
	// With node set, the host name is not asked for.
	called := false
	_, err := Options{Hostname: func() (string, error) { called = true; return "h", nil }}.Parse([]byte("node: a\n" + base))
	if err != nil || called {
		t.Errorf("Parse with node: err %v, hostname called %v", err, called)
	}
	// The zero Options use os.Hostname.
	if h, err := os.Hostname(); err == nil && checkNodeName(h) == "" {
		cfg, err := Parse(in)
		if err != nil || cfg.Node != h {
			t.Errorf("Parse: node %v, err %v; want the host name %q", cfg, err, h)
		}
	}
}
