package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
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

// wantErr is one expected error: its line and a fragment of its text
// (path and message, as Error.Error prints them).
type wantErr struct {
	line int
	frag string
}

// base is a valid instance list item, indented for an instances list,
// taking lines 2..6 after "instances:" on line 1.
const base = `instances:
  - name: web
    interface: eth0
    vrid: 42
    vips:
      - 192.0.2.100/24
`

// chk is base with one check, written as a flow mapping, on line 8.
func chk(s string) string { return base + "    checks:\n      - " + s + "\n" }

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []wantErr
	}{
		// The document.
		{"empty file", "", []wantErr{{1, "empty config: at least one instance is required"}}},
		{"only comments", "# nothing\n\n# here\n", []wantErr{{1, "empty config"}}},
		{"null document", "~\n", []wantErr{{1, "empty config"}}},
		{"document marker only (fuzz: was line 2 of 1)", "---", []wantErr{{1, "empty config"}}},
		{"CR line breaks count as lines", "node: a\r\rwibble: 1\r", []wantErr{{1, "instances: is required"}, {3, "wibble: unknown key"}}},
		{"error at end of input stays in the file", "instances: [", []wantErr{{1, "YAML syntax: "}}},
		{"not a mapping: list", "- a\n- b\n", []wantErr{{1, "must be a mapping of keys (node:, instances:, ...), got a list"}}},
		{"not a mapping: scalar", "hello\n", []wantErr{{1, `must be a mapping of keys (node:, instances:, ...), got the string "hello"`}}},
		{"no instances", "node: a\n", []wantErr{{1, "instances: is required"}}},
		{"instances null", "node: a\ninstances:\n", []wantErr{{2, "instances: is required, but has no value"}}},
		{"instances empty", "instances: []\n", []wantErr{{1, "instances: must list at least one instance"}}},
		{"instances a mapping", "instances:\n  web: {}\n", []wantErr{{2, "instances: must be a list, got a mapping"}}},
		{"instance not a mapping", "instances:\n  - web\n", []wantErr{{2, "instances[0]: must be a mapping (name:, interface:, vrid:, vips:, ...), got the string \"web\""}}},
		{"two documents", base + "---\nnode: b\n", []wantErr{{7, "a second YAML document"}}},

		// YAML syntax.
		{"tab indentation", "instances:\n\t- name: web\n", []wantErr{{2, "tab in indentation: YAML indents with spaces only"}}},
		{"tab deeper", "instances:\n  - name: web\n\tinterface: eth0\n", []wantErr{{3, "tab in indentation"}}},
		{"unclosed flow list", "instances: [\n", []wantErr{{1, "YAML syntax: "}}},
		{"flow list closed by a brace", "node: a\ninstances: [}\n", []wantErr{{2, "YAML syntax: '[' is never closed"}}},
		{"unclosed flow list mid-file: at its bracket", base + "    notify: [a, b\n    priority: 100\n", []wantErr{{7, "YAML syntax: '[' is never closed"}}},
		{"unclosed flow mapping mid-file: at its brace", base + "    announce: {count: 2\n    priority: 100\n", []wantErr{{7, "YAML syntax: '{' is never closed"}}},
		{"block list broken: the line after the list's start", "node: a\ninstances:\n  - name: web\n   vrid: 3\n", []wantErr{{3, "YAML syntax: did not find expected '-' indicator"}}},
		{"bad indentation", "node: a\n  control_socket: /x\n", []wantErr{{2, "YAML syntax: mapping values are not allowed"}}},
		{"invalid UTF-8", "node: a\nnode2: \xff\n", []wantErr{{2, "invalid UTF-8 (byte 0xff)"}}},
		{"control character", "node: a\n\nnode: \x07\n", []wantErr{{3, "control character U+0007 not allowed"}}},
		{"unknown alias", "node: a\ninstances: *x\n", []wantErr{{2, "YAML syntax: unknown anchor 'x' referenced"}}},

		// Keys.
		{"unknown top-level key", "nodes: a\n" + base, []wantErr{{1, `nodes: unknown key (did you mean "node"?)`}}},
		{"unknown key far from any", "wibble: 1\n" + base, []wantErr{{1, "wibble: unknown key (known keys: node, control_socket, announce_rate, metrics_listen, state_dir, bgp, instances)"}}},
		{"unknown instance key", base + "    vip: [192.0.2.1/24]\n", []wantErr{{7, `instances[0].vip: unknown key (did you mean "vips"?)`}}},
		{"unknown announce key", base + "    announce:\n      rounds: 3\n", []wantErr{{8, "instances[0].announce.rounds: unknown key"}}},
		{"duplicate key", base + "    vrid: 43\n", []wantErr{{7, "instances[0].vrid: duplicate key (first at line 4)"}}},
		{"non-scalar key", "? [a]\n: 1\n" + base, []wantErr{{1, "a key must be a plain name, got a list"}}},
		{"merge key", "instances:\n  - <<: {vrid: 1}\n    name: web\n    interface: eth0\n    vrid: 42\n    vips: [192.0.2.1/24]\n",
			[]wantErr{{2, "instances[0]: a key must be a plain name"}}},
		{"alias value", "node: &n a\ncontrol_socket: *n\n" + base, []wantErr{{2, "control_socket: YAML aliases (*n) are not supported"}}},
		{"custom tag", "node: !host a\n" + base, []wantErr{{1, "node: YAML tag !host is not supported"}}},
		{"missing required keys", "instances:\n  - priority: 100\n", []wantErr{
			{2, "instances[0].name: is required"},
			{2, "instances[0].interface: is required"},
			{2, "instances[0].vrid: is required"},
			{2, "instances[0].vips: is required"},
		}},
		{"required key null", "instances:\n  - name: web\n    interface: eth0\n    vrid:\n    vips: [192.0.2.1/24]\n",
			[]wantErr{{4, "instances[0].vrid: is required, but has no value"}}},

		// Values of the top level.
		{"node invalid", "node: a b\n" + base, []wantErr{{1, `node: must be 1..64 characters from A-Z a-z 0-9 _ . -, got "a b"`}}},
		{"node a list", "node: [a]\n" + base, []wantErr{{1, "node: must be a string, got a list"}}},
		{"socket relative", "control_socket: vipd.sock\n" + base, []wantErr{{1, "control_socket: must be an absolute path"}}},
		{"socket too long", "control_socket: /" + strings.Repeat("x", 107) + "\n" + base, []wantErr{{1, "too long for a unix socket path"}}},
		{"announce_rate zero", "announce_rate: 0\n" + base, []wantErr{{1, "announce_rate: must be 1..100000, got 0"}}},
		{"announce_rate big", "announce_rate: 1e6\n" + base, []wantErr{{1, "announce_rate: must be 1..100000, got 1e6"}}},
		{"announce_rate nan", "announce_rate: .nan\n" + base, []wantErr{{1, "announce_rate: must be 1..100000"}}},
		{"announce_rate string", "announce_rate: fast\n" + base, []wantErr{{1, `announce_rate: must be a number 1..100000, got the string "fast"`}}},

		// Values of an instance.
		{"name invalid", strings.Replace(base, "name: web", "name: web/1", 1), []wantErr{{2, "instances[0].name: must be 1..64 characters"}}},
		{"name too long", strings.Replace(base, "name: web", "name: "+strings.Repeat("w", 65), 1), []wantErr{{2, "instances[0].name: must be 1..64 characters"}}},
		{"interface with slash", strings.Replace(base, "eth0", "eth/0", 1), []wantErr{{3, "instances[0].interface: eth/0 is not a valid interface name"}}},
		{"interface with space", strings.Replace(base, "eth0", `"eth 0"`, 1), []wantErr{{3, "is not a valid interface name"}}},
		{"interface with colon", strings.Replace(base, "eth0", `"eth0:1"`, 1), []wantErr{{3, "is not a valid interface name"}}},
		{"interface too long", strings.Replace(base, "eth0", "abcdefghijklmnop", 1), []wantErr{{3, "must be an interface name of 1..15 bytes"}}},
		{"interface dot", strings.Replace(base, "eth0", `"."`, 1), []wantErr{{3, "is not a valid interface name"}}},
		{"vrid too big", strings.Replace(base, "vrid: 42", "vrid: 300", 1), []wantErr{{4, "instances[0].vrid: must be 1..255, got 300"}}},
		{"vrid zero", strings.Replace(base, "vrid: 42", "vrid: 0", 1), []wantErr{{4, "instances[0].vrid: must be 1..255, got 0"}}},
		{"vrid negative", strings.Replace(base, "vrid: 42", "vrid: -1", 1), []wantErr{{4, "instances[0].vrid: must be 1..255, got -1"}}},
		{"vrid huge", strings.Replace(base, "vrid: 42", "vrid: 99999999999999999999999", 1), []wantErr{{4, "instances[0].vrid: must be an integer 1..255, got the number 99999999999999999999999"}}},
		{"vrid string", strings.Replace(base, "vrid: 42", "vrid: x", 1), []wantErr{{4, `instances[0].vrid: must be an integer 1..255, got the string "x"`}}},
		{"vrid quoted", strings.Replace(base, "vrid: 42", `vrid: "42"`, 1), []wantErr{{4, `must be an integer 1..255, got the string "42"`}}},
		{"vrid float", strings.Replace(base, "vrid: 42", "vrid: 4.2", 1), []wantErr{{4, "must be an integer 1..255, got the number 4.2"}}},
		{"priority zero", base + "    priority: 0\n", []wantErr{{7, "instances[0].priority: must be 1..255, got 0"}}},
		{"preempt not bool", base + "    preempt: yes\n", []wantErr{{7, `instances[0].preempt: must be true or false, got the string "yes"`}}},
		{"advert_interval bare number", base + "    advert_interval: 1\n", []wantErr{{7, `instances[0].advert_interval: a duration needs a unit, such as "1s" or "1ms"`}}},
		{"advert_interval quoted bare number", base + "    advert_interval: \"100\"\n", []wantErr{{7, "a duration needs a unit"}}},
		{"advert_interval float", base + "    advert_interval: 0.5\n", []wantErr{{7, `a duration needs a unit, such as "0.5s"`}}},
		{"advert_interval garbage", base + "    advert_interval: soon\n", []wantErr{{7, `instances[0].advert_interval: must be a duration such as "1s"`}}},
		{"advert_interval too small", base + "    advert_interval: 5ms\n", []wantErr{{7, "must be 10ms..40.95s, got 5ms"}}},
		{"advert_interval too big", base + "    advert_interval: 41s\n", []wantErr{{7, "must be 10ms..40.95s, got 41s"}}},
		{"advert_interval not centiseconds", base + "    advert_interval: 105ms\n", []wantErr{{7, "must be a multiple of 10ms"}}},
		{"advert_interval a list", base + "    advert_interval: [1s]\n", []wantErr{{7, "must be a duration such as \"1s\" or \"100ms\", got a list"}}},
		{"preempt_delay negative", base + "    preempt_delay: -1s\n", []wantErr{{7, "instances[0].preempt_delay: must be 0s..1h, got -1s"}}},
		{"preempt_delay too long", base + "    preempt_delay: 61m\n", []wantErr{{7, "must be 0s..1h, got 1h1m"}}},
		{"announce not a mapping", base + "    announce: 3\n", []wantErr{{7, "instances[0].announce: must be a mapping (count:, interval:, refresh:), got the number 3"}}},
		{"announce count zero", base + "    announce: {count: 0}\n", []wantErr{{7, "instances[0].announce.count: must be 1..100, got 0"}}},
		{"announce count big", base + "    announce:\n      count: 101\n", []wantErr{{8, "instances[0].announce.count: must be 1..100, got 101"}}},
		{"announce interval", base + "    announce:\n      interval: 5ms\n", []wantErr{{8, "instances[0].announce.interval: must be 10ms..1h, got 5ms"}}},
		{"announce refresh short", base + "    announce:\n      refresh: 500ms\n", []wantErr{{8, "instances[0].announce.refresh: must be 0s (off) or at least 1s, got 500ms"}}},
		{"announce refresh bare", base + "    announce:\n      refresh: 0\n", []wantErr{{8, `a duration needs a unit, such as "0s"`}}},

		// VIPs.
		{"vips empty", strings.Replace(base, "    vips:\n      - 192.0.2.100/24\n", "    vips: []\n", 1), []wantErr{{5, "instances[0].vips: must list at least one VIP"}}},
		{"vips a string", strings.Replace(base, "    vips:\n      - 192.0.2.100/24\n", "    vips: 192.0.2.100/24\n", 1), []wantErr{{5, "instances[0].vips: must be a list of CIDR prefixes"}}},
		{"vip without length", base + "      - 192.0.2.101\n", []wantErr{{7, "instances[0].vips[1]: VIP 192.0.2.101 has no prefix length: write it as a CIDR prefix, with the subnet's length (such as 192.0.2.101/24) or 192.0.2.101/32"}}},
		{"IPv6 vip without length", strings.Replace(base, "192.0.2.100/24", "2001:db8::1", 1), []wantErr{{6, "VIP 2001:db8::1 has no prefix length"}}},
		{"vip bad length", base + "      - 192.0.2.101/33\n", []wantErr{{7, `VIP 192.0.2.101: prefix length must be 1..32, got /33`}}},
		{"vip /0", base + "      - 192.0.2.101/0\n", []wantErr{{7, "prefix length must be 1..32"}}},
		{"vip empty length", base + "      - 192.0.2.101/\n", []wantErr{{7, "prefix length must be 1..32"}}},
		{"vip not an address", base + "      - www.example.com/24\n", []wantErr{{7, "VIP www.example.com is not an IP address"}}},
		{"vip with zone", strings.Replace(base, "192.0.2.100/24", "fe80::1%eth0/64", 1), []wantErr{{6, "zones (%name) are not allowed"}}},
		{"vip multicast", base + "      - 224.0.0.18/24\n", []wantErr{{7, "VIP 224.0.0.18 is not a unicast address"}}},
		{"vip unspecified", base + "      - 0.0.0.0/24\n", []wantErr{{7, "is not a unicast address"}}},
		{"vip loopback", strings.Replace(base, "192.0.2.100/24", "::1/128", 1), []wantErr{{6, "is not a unicast address"}}},
		{"vip mapped", strings.Replace(base, "192.0.2.100/24", "::ffff:192.0.2.1/120", 1), []wantErr{{6, "is an IPv4-mapped IPv6 address; write the IPv4 address 192.0.2.1"}}},
		{"vip a mapping", base + "      - {a: 1}\n", []wantErr{{7, "instances[0].vips[1]: must be a CIDR prefix such as 192.0.2.100/24, got a mapping"}}},
		{"vip null", base + "      -\n", []wantErr{{7, "instances[0].vips[1]: must be a CIDR prefix such as 192.0.2.100/24, got nothing"}}},
		{"mixed families, once at the first other", base + "      - 192.0.2.101/24\n      - 2001:db8::1/64\n      - 2001:db8::2/64\n",
			[]wantErr{{8, "instances[0].vips[2]: IPv6 VIP 2001:db8::1 in an instance whose VIPs are IPv4 (from line 6): an instance has one address family, so put IPv6 VIPs in an instance of their own (RFC 5798"}}},
		{"mixed families, IPv6 first", strings.Replace(base, "192.0.2.100/24", "2001:db8::1/64", 1) + "      - 192.0.2.1/24\n",
			[]wantErr{{7, "IPv4 VIP 192.0.2.1 in an instance whose VIPs are IPv6 (from line 6): an instance has one address family, so put IPv6 VIPs in an instance of their own"}}},
		{"duplicate vip in instance", base + "      - 192.0.2.100/32\n", []wantErr{{7, "instances[0].vips[1]: duplicate VIP 192.0.2.100 (first at line 6)"}}},
		{"duplicate vip in instance, path counts bad items", base + "      - bad\n      - 192.0.2.100/32\n", []wantErr{
			{7, "instances[0].vips[1]: VIP bad is not an IP address"},
			{8, "instances[0].vips[2]: duplicate VIP 192.0.2.100 (first at line 6)"},
		}},
		{"IPv6 duplicate spelled differently", strings.Replace(base, "192.0.2.100/24", "2001:db8::1/64", 1) + "      - 2001:0db8:0:0::1/64\n",
			[]wantErr{{7, "duplicate VIP 2001:db8::1"}}},

		// Unicast peers.
		{"peers not a list", base + "    unicast_peers: 192.0.2.12\n", []wantErr{{7, "instances[0].unicast_peers: must be a list, got the string"}}},
		{"peer family", base + "    unicast_peers: [192.0.2.12, 2001:db8::12]\n", []wantErr{{7, "instances[0].unicast_peers[1]: peer 2001:db8::12 is IPv6 but the instance's VIPs are IPv4"}}},
		{"peer family IPv6", strings.Replace(base, "192.0.2.100/24", "2001:db8::1/64", 1) + "    unicast_peers:\n      - 192.0.2.12\n",
			[]wantErr{{8, "instances[0].unicast_peers[0]: peer 192.0.2.12 is IPv4 but the instance's VIPs are IPv6"}}},
		{"peer duplicate", base + "    unicast_peers:\n      - 192.0.2.12\n      - 192.0.2.12\n", []wantErr{{9, "instances[0].unicast_peers[1]: duplicate peer 192.0.2.12 (first at line 8)"}}},
		{"peer with length", base + "    unicast_peers: [192.0.2.12/24]\n", []wantErr{{7, "a peer is an address, without a prefix length"}}},
		{"peer not an address", base + "    unicast_peers: [b]\n", []wantErr{{7, "peer b is not an IP address"}}},
		{"peer multicast", base + "    unicast_peers: [224.0.0.18]\n", []wantErr{{7, "peer 224.0.0.18 is not a unicast address"}}},
		{"peer is a VIP", base + "    unicast_peers: [192.0.2.100]\n", []wantErr{{7, "peer 192.0.2.100 is one of the instance's own VIPs"}}},
		{"peer family checked even if another peer is bad", base + "    unicast_peers: [x, 2001:db8::12]\n", []wantErr{
			{7, "unicast_peers[0]: peer x is not an IP address"},
			{7, "unicast_peers[1]: peer 2001:db8::12 is IPv6"},
		}},

		// Top-level additions.
		{"metrics_listen without port", "metrics_listen: 9650\n" + base, []wantErr{{1, "metrics_listen: must be host:port, such as 127.0.0.1:9650 or [::1]:9650, got 9650"}}},
		{"metrics_listen port range", "metrics_listen: 127.0.0.1:65536\n" + base, []wantErr{{1, `metrics_listen: port must be a number 1..65535, got 65536`}}},
		{"metrics_listen named port", "metrics_listen: 127.0.0.1:http\n" + base, []wantErr{{1, "port must be a number 1..65535, got http"}}},
		{"metrics_listen bare IPv6", "metrics_listen: ::1:9650\n" + base, []wantErr{{1, "metrics_listen: must be host:port"}}},
		{"metrics_listen bad host", "metrics_listen: 'a b:1'\n" + base, []wantErr{{1, `metrics_listen: "a b" is neither an IP address nor a host name`}}},
		{"metrics_listen bad IPv4", "metrics_listen: 192.0.2.300:1\n" + base, []wantErr{{1, "192.0.2.300 is neither an IP address nor a host name"}}},
		{"state_dir relative", "state_dir: var/lib/vipd\n" + base, []wantErr{{1, "state_dir: must be an absolute path, got var/lib/vipd"}}},
		{"state_dir a list", "state_dir: [/a]\n" + base, []wantErr{{1, "state_dir: must be a string, got a list"}}},

		// wait_for_interface and verify.
		{"wait_for_interface not a bool", base + "    wait_for_interface: yes\n", []wantErr{{7, `instances[0].wait_for_interface: must be true or false, got the string "yes"`}}},
		{"verify not a mapping", base + "    verify: true\n", []wantErr{{7, "instances[0].verify: must be a mapping (targets:, period:, enabled:), got the boolean true"}}},
		{"verify unknown key", base + "    verify:\n      periode: 1s\n", []wantErr{{8, `instances[0].verify.periode: unknown key (did you mean "period"?)`}}},
		{"verify period too short", base + "    verify: {period: 500ms}\n", []wantErr{{7, "instances[0].verify.period: must be 0s (only after a takeover) or 1s..1h, got 500ms"}}},
		{"verify period too long", base + "    verify: {period: 61m}\n", []wantErr{{7, "must be 0s (only after a takeover) or 1s..1h, got 1h1m"}}},
		{"verify enabled not a bool", base + "    verify: {enabled: 1}\n", []wantErr{{7, "instances[0].verify.enabled: must be true or false"}}},
		{"verify target family", base + "    verify:\n      targets: [192.0.2.1, 2001:db8::1]\n", []wantErr{{8, "instances[0].verify.targets[1]: target 2001:db8::1 is IPv6 but the instance's VIPs are IPv4; targets must be of the VIPs' family"}}},
		{"verify target is a VIP", base + "    verify: {targets: [192.0.2.100]}\n", []wantErr{{7, "instances[0].verify.targets[0]: target 192.0.2.100 is one of the instance's own VIPs"}}},
		{"verify target duplicate", base + "    verify:\n      targets:\n        - 192.0.2.1\n        - 192.0.2.1\n", []wantErr{{10, "instances[0].verify.targets[1]: duplicate target 192.0.2.1 (first at line 9)"}}},
		{"verify target with length", base + "    verify: {targets: [192.0.2.1/24]}\n", []wantErr{{7, "a target is an address, without a prefix length"}}},
		{"verify target not unicast", base + "    verify: {targets: [224.0.0.1]}\n", []wantErr{{7, "target 224.0.0.1 is not a unicast address"}}},

		// Checks.
		{"checks not a list", base + "    checks: {name: a}\n", []wantErr{{7, "instances[0].checks: must be a list, got a mapping"}}},
		{"check not a mapping", base + "    checks: [nginx]\n", []wantErr{{7, `instances[0].checks[0]: must be a mapping (name:, type:, target:, ...), got the string "nginx"`}}},
		{"check required keys", chk("{weight: -1}"), []wantErr{
			{8, "instances[0].checks[0].name: is required"},
			{8, "instances[0].checks[0].type: is required"},
			{8, "instances[0].checks[0].target: is required"},
		}},
		{"check unknown key", chk("{name: a, type: tcp, target: 'h:1', wieght: -1}"), []wantErr{{8, `instances[0].checks[0].wieght: unknown key (did you mean "weight"?)`}}},
		{"check bad name", chk("{name: 'a b', type: tcp, target: 'h:1', fault: true}"), []wantErr{{8, "instances[0].checks[0].name: must be 1..64 characters"}}},
		{"check bad type", chk("{name: a, type: ping, target: 192.0.2.1, fault: true}"), []wantErr{{8, "instances[0].checks[0].type: must be one of exec, tcp, http, interface, got ping"}}},
		{"tcp target without port", chk("{name: a, type: tcp, target: 127.0.0.1, fault: true}"), []wantErr{{8, "instances[0].checks[0].target: must be host:port, such as 127.0.0.1:80 or [2001:db8::1]:80, got 127.0.0.1"}}},
		{"tcp target without host", chk("{name: a, type: tcp, target: ':80', fault: true}"), []wantErr{{8, `target: needs a host before the port, such as 127.0.0.1:80 or [2001:db8::1]:80, got ":80"`}}},
		{"tcp target port 0", chk("{name: a, type: tcp, target: 'localhost:0', fault: true}"), []wantErr{{8, `target: port must be a number 1..65535, got 0`}}},
		{"http target not http", chk("{name: a, type: http, target: 'ftp://h/', fault: true}"), []wantErr{{8, "target: must be an http:// or https:// URL, such as http://127.0.0.1/health"}}},
		{"http target a path", chk("{name: a, type: http, target: /health, fault: true}"), []wantErr{{8, "target: must be an http:// or https:// URL"}}},
		{"http target no host", chk("{name: a, type: http, target: 'http:///x', fault: true}"), []wantErr{{8, `target: URL "http:///x" has no host`}}},
		{"http target bad port", chk("{name: a, type: http, target: 'http://h:99999/', fault: true}"), []wantErr{{8, `target: port must be a number 1..65535, got 99999`}}},
		{"http target empty port", chk("{name: a, type: http, target: 'http://h:/', fault: true}"), []wantErr{{8, `target: port must be a number 1..65535, got ""`}}},
		{"interface target bad", chk("{name: a, type: interface, target: a/b, fault: true}"), []wantErr{{8, "target: a/b is not a valid interface name"}}},
		{"exec target empty", chk("{name: a, type: exec, target: '  ', fault: true}"), []wantErr{{8, "instances[0].checks[0].target: must not be empty"}}},
		{"exec target NUL", chk(`{name: a, type: exec, target: "true\0", fault: true}`), []wantErr{{8, "target: must not contain NUL"}}},
		{"expect_status on tcp", chk("{name: a, type: tcp, target: 'h:1', expect_status: 200, fault: true}"), []wantErr{{8, "instances[0].checks[0].expect_status: is for http checks only, and this check is of type tcp"}}},
		{"expect_status range", chk("{name: a, type: http, target: 'http://h/', expect_status: 600, fault: true}"), []wantErr{{8, "expect_status: must be 100..599, got 600"}}},
		{"interval too short", chk("{name: a, type: tcp, target: 'h:1', interval: 10ms, fault: true}"), []wantErr{{8, "instances[0].checks[0].interval: must be 100ms..1h, got 10ms"}}},
		{"timeout longer than interval", chk("{name: a, type: tcp, target: 'h:1', interval: 1s, timeout: 1500ms, fault: true}"), []wantErr{{8, "instances[0].checks[0].timeout: 1.5s is longer than the interval 1s; a run must end before the next one starts"}}},
		{"timeout longer than default interval", chk("{name: a, type: tcp, target: 'h:1', timeout: 3s, fault: true}"), []wantErr{{8, "timeout: 3s is longer than the interval 2s"}}},
		{"rise and fall range", chk("{name: a, type: tcp, target: 'h:1', rise: 0, fall: 101, fault: true}"), []wantErr{
			{8, "instances[0].checks[0].rise: must be 1..100, got 0"},
			{8, "instances[0].checks[0].fall: must be 1..100, got 101"},
		}},
		{"weight range", chk("{name: a, type: tcp, target: 'h:1', weight: -255}"), []wantErr{{8, "instances[0].checks[0].weight: must be -254..254, got -255"}}},
		{"weight and fault", chk("{name: a, type: tcp, target: 'h:1', weight: -10, fault: true}"), []wantErr{{8, "instances[0].checks[0].fault: fault: true and weight exclude each other"}}},
		{"no effect", chk("{name: a, type: tcp, target: 'h:1'}"), []wantErr{{8, "instances[0].checks[0]: a check needs an effect: weight: N"}}},
		{"no effect is not reported over other problems", chk("{name: a, type: tcp, target: 'h', faults: true}"), []wantErr{
			{8, "instances[0].checks[0].target: must be host:port"},
			{8, `instances[0].checks[0].faults: unknown key (did you mean "fault"?)`},
		}},
		{"no effect, fault false", chk("{name: a, type: tcp, target: 'h:1', fault: false}"), []wantErr{{8, "instances[0].checks[0]: a check needs an effect"}}},
		{"owner with a weight", strings.Replace(chk("{name: a, type: tcp, target: 'h:1', weight: -10}"), "vrid: 42", "vrid: 42\n    priority: 255", 1),
			[]wantErr{{9, "instances[0].checks[0].weight: the address owner (priority 255) keeps its priority, so a weight has no effect"}}},
		{"duplicate check name", base + "    checks:\n      - {name: a, type: tcp, target: 'h:1', fault: true}\n      - name: a\n        type: exec\n        target: 'true'\n        weight: -1\n",
			[]wantErr{{9, "instances[0].checks[1].name: duplicate check name a (first at line 8)"}}},

		// Notify.
		{"notify not a mapping", base + "    notify: /bin/true\n", []wantErr{{7, "instances[0].notify: must be a mapping (master:, backup:, fault:, stop:, any:, timeout:)"}}},
		{"notify unknown hook", base + "    notify:\n      masters: /bin/true\n", []wantErr{{8, `instances[0].notify.masters: unknown key (did you mean "master"?)`}}},
		{"notify empty command", base + "    notify: {backup: ''}\n", []wantErr{{7, "instances[0].notify.backup: must not be empty"}}},
		{"notify timeout", base + "    notify: {any: 'true', timeout: 10ms}\n", []wantErr{{7, "instances[0].notify.timeout: must be 100ms..1h, got 10ms"}}},

		// Across instances.
		{"duplicate names", base + "  - name: web\n    interface: eth1\n    vrid: 42\n    vips: [192.0.2.101/24]\n",
			[]wantErr{{7, "instances[1].name: duplicate instance name web (first at line 2)"}}},
		{"duplicate vip across instances", base + "  - name: api\n    interface: eth1\n    vrid: 43\n    vips: [192.0.2.100/25]\n",
			[]wantErr{{10, "instances[1].vips[0]: VIP 192.0.2.100 is already in instance web (line 6)"}}},
		{"same interface, vrid and family", base + "  - name: api\n    interface: eth0\n    vrid: 42\n    vips: [192.0.2.101/24]\n",
			[]wantErr{{9, "instances[1].vrid: interface eth0 already has vrid 42 for IPv4 in instance web (line 2)"}}},
		{"virtual MAC twice for one vrid", base + "    virtual_mac: true\n  - name: api\n    interface: eth1\n    vrid: 42\n    virtual_mac: true\n    vips: [192.0.2.101/24]\n",
			[]wantErr{{10, "instances[1].vrid: instance web (line 2) already has a virtual MAC for vrid 42 (IPv4): its interface vrrp4-42 exists once per host"}}},
		{"vmac_xmit_base without virtual_mac", base + "    vmac_xmit_base: true\n",
			[]wantErr{{7, "instances[0].vmac_xmit_base: vmac_xmit_base needs virtual_mac: true"}}},
		{"na_router for IPv4", base + "    na_router: true\n",
			[]wantErr{{7, "instances[0].na_router: na_router is for IPv6 VIPs"}}},
		{"index counts items that are not mappings", base + "  - 7\n  - name: web\n    interface: eth1\n    vrid: 1\n    vips: [192.0.2.101/24]\n", []wantErr{
			{7, "instances[1]: must be a mapping"},
			{8, "instances[2].name: duplicate instance name web"},
		}},

		// Many at once, reported in line order.
		{"every error, in line order", `wibble: 1
node: "a b"
instances:
  - name: web
    interface: eth0
    vrid: 300
    priority: 0
    advert_interval: 1
    vips:
      - 192.0.2.100
      - 2001:db8::1/64
  - name: web
    interface: eth0
    vrid: 42
    vips: [192.0.2.101/24]
  - name: api
    interface: eth0
    vrid: 42
    vips: [192.0.2.101/24, 192.0.2.102/24]
announce_rate: 0
`, []wantErr{
			{1, "wibble: unknown key"},
			{2, "node: must be 1..64 characters"},
			{6, "instances[0].vrid: must be 1..255, got 300"},
			{7, "instances[0].priority: must be 1..255, got 0"},
			{8, "instances[0].advert_interval: a duration needs a unit"},
			{10, "instances[0].vips[0]: VIP 192.0.2.100 has no prefix length"},
			{12, "instances[1].name: duplicate instance name web (first at line 4)"},
			{18, "instances[2].vrid: interface eth0 already has vrid 42 for IPv4 in instance web (line 12)"},
			{19, "instances[2].vips[0]: VIP 192.0.2.101 is already in instance web (line 15)"},
			{20, "announce_rate: must be 1..100000, got 0"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(t, tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config with an error")
			}
			checkErrors(t, err, tt.want)
		})
	}
}

// checkErrors checks that err is an Errors holding exactly want, in order.
func checkErrors(t *testing.T, err error, want []wantErr) {
	t.Helper()
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T) is not an Errors", err, err)
	}
	for i, e := range errs {
		if i >= len(want) {
			t.Errorf("unexpected error %d: %v", i, e)
			continue
		}
		if e.Line != want[i].line || !strings.Contains(e.Error(), want[i].frag) {
			t.Errorf("error %d:\n got %v\nwant line %d: ...%s...", i, e, want[i].line, want[i].frag)
		}
		if e.Column < 1 {
			t.Errorf("error %d: column %d", i, e.Column)
		}
	}
	for i := len(errs); i < len(want); i++ {
		t.Errorf("missing error: line %d: ...%s...", want[i].line, want[i].frag)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Line: 12, Column: 11, Path: "instances[0].vrid", Msg: "must be 1..255, got 300"}
	if got, want := e.Error(), "line 12: instances[0].vrid: must be 1..255, got 300"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &Error{Line: 1, Column: 1, Msg: "empty config"}
	if got, want := e.Error(), "line 1: empty config"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	errs := Errors{{Line: 1, Path: "a", Msg: "x"}, {Line: 2, Msg: "y"}}
	if got, want := errs.Error(), "line 1: a: x\nline 2: y"; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
	many := make(Errors, maxListed+5)
	for i := range many {
		many[i] = &Error{Line: i + 1, Msg: "bad"}
	}
	s := many.Error()
	if n := strings.Count(s, "\n"); n != maxListed {
		t.Errorf("Errors.Error() of %d has %d lines, want %d", len(many), n+1, maxListed+1)
	}
	if !strings.HasSuffix(s, "... and 5 more errors") {
		t.Errorf("Errors.Error() ends %q", s[strings.LastIndexByte(s, '\n'):])
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

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("node: a\n"+base), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("node: a\n"+base+"    vrid: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(good)
	if err != nil || cfg.Node != "a" || len(cfg.Instances) != 1 {
		t.Fatalf("Load(good) = %+v, %v", cfg, err)
	}

	_, err = Load(bad)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("Load(bad) error %v is not one Errors", err)
	}
	if want := "config: " + bad + ": line 8: instances[0].vrid: duplicate key"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load(bad) = %q, want prefix %q", err, want)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "config: "+dir) {
		t.Errorf("Load(missing) = %v", err)
	}

	_, err = Load(dir)
	if err == nil || !strings.HasPrefix(err.Error(), "config: "+dir+": ") {
		t.Errorf("Load(directory) = %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk, but reads as MaxFileSize+1 zero bytes.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(path); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Load(huge) = %v, want ErrTooLarge", err)
	}
	_, err = Parse(make([]byte, MaxFileSize+1))
	checkErrors(t, err, []wantErr{{1, "file too large"}})
}

func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"vipd.yaml": false, "ipv6.yaml": false, "bgp.yaml": false}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := testOpts.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			want[filepath.Base(f)] = true
			checkConfig(t, cfg)
		})
	}
	for f, seen := range want {
		if !seen {
			t.Errorf("examples/%s missing or not loaded", f)
		}
	}

	cfg, err := testOpts.Load("../../examples/vipd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Instances) != 2 {
		t.Fatalf("vipd.yaml: %d instances, want 2", len(cfg.Instances))
	}
	web, api := cfg.Instances[0], cfg.Instances[1]
	if web.Interface != "eth0" || api.Interface != "eth0" || web.Priority <= api.Priority || web.IPv6() || api.IPv6() {
		t.Errorf("vipd.yaml is not active/active IPv4 on eth0: %+v, %+v", web, api)
	}
	doc := netip.MustParsePrefix("192.0.2.0/24")
	for _, in := range cfg.Instances {
		for _, p := range in.VIPs {
			if !doc.Contains(p.Addr()) {
				t.Errorf("vipd.yaml: VIP %v outside 192.0.2.0/24", p)
			}
		}
	}

	cfg, err = testOpts.Load("../../examples/ipv6.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Instances[0].IPv6() {
		t.Errorf("ipv6.yaml: first instance is not IPv6")
	}
}

// vipList renders n IPv6 VIPs (2001:db8::/32 has room) as a YAML list.
func vipList(n int) string {
	var b strings.Builder
	b.WriteString("instances:\n  - name: big\n    interface: eth0\n    vrid: 1\n    vips:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - 2001:db8::%x:%x/64\n", i>>16, i&0xffff)
	}
	return b.String()
}

func TestHuge(t *testing.T) {
	in := vipList(MaxVIPs)
	start := time.Now()
	cfg, err := parse(t, in)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d VIPs, %d bytes: %v", MaxVIPs, len(in), took)
	// A guard against quadratic work (65536² steps would take minutes),
	// not a benchmark: it takes well under a second, even with -race.
	if took > 10*time.Second {
		t.Errorf("parsing %d VIPs took %v", MaxVIPs, took)
	}
	if n := len(cfg.Instances[0].VIPs); n != MaxVIPs {
		t.Errorf("%d VIPs, want %d", n, MaxVIPs)
	}

	_, err = parse(t, vipList(MaxVIPs+1))
	checkErrors(t, err, []wantErr{{6 + MaxVIPs, fmt.Sprintf("instances[0].vips[%d]: too many VIPs: at most %d per instance", MaxVIPs, MaxVIPs)}})

	// A file full of mistakes reports them all and stays readable.
	bad := strings.ReplaceAll(vipList(5000), "/64", "")
	_, err = parse(t, bad)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 5000 {
		t.Fatalf("got %d errors, want 5000", len(errs))
	}
	if n := strings.Count(err.Error(), "\n"); n != maxListed {
		t.Errorf("error text has %d lines", n+1)
	}
}

func TestOddInputsDoNotPanic(t *testing.T) {
	inputs := []string{
		"[", "{", "]", ":", "-", "?", "&a", "*a", "!", "!!", "%YAML 1.2\n---\n", "%TAG ! tag:x,2000:\n---\na: 1\n",
		"instances: &a [*a]\n",
		"a: &a [*a, *a]\nb: &b [*a, *a]\n",
		strings.Repeat("[", 20000),
		strings.Repeat("- ", 5000) + "a\n",
		"instances:\n" + strings.Repeat("  ", 1000) + "- a\n",
		"instances: !!binary aGVsbG8=\n",
		"instances: [!!binary aGVsbG8=]\n",
		"instances: [{name: !!binary aGVsbG8=, interface: eth0, vrid: 1, vips: [192.0.2.1/24]}]\n",
		"instances: [{name: 2001-12-14, interface: 1.5, vrid: !!int 1, vips: [!!str 192.0.2.1/24]}]\n",
		"instances: [{vrid: !!float 1}]\n",
		"instances: [{name: a, interface: eth0, vrid: 1, vips: [192.0.2.1/24], announce: [1]}]\n",
		"\x00", "\xef\xbb\xbf", "\xfe\xff\x00a", "a: \"\\x\"\n", "a: 'unterminated\n",
	}
	for _, in := range inputs {
		cfg, err := parse(t, in)
		if err == nil {
			checkConfig(t, cfg)
			continue
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Errorf("Parse(%.40q): error %v is not a non-empty Errors", in, err)
		}
	}
}

func BenchmarkParse4096(b *testing.B) {
	in := []byte(vipList(4096))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := testOpts.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSyntaxErrorColumn: an unclosed bracket is reported at its own line
// and column, not at the line before (the YAML library counts a parser
// error's line from 0).
func TestSyntaxErrorColumn(t *testing.T) {
	in := "node: a\ninstances:\n  - name: web\n    interface: eth0\n    vrid: 42\n    vips: [192.0.2.100/24, \"a]b\", 192.0.2.101/24 # [c\n    priority: 100\n"
	_, err := Parse([]byte(in))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("got %v, want one error", err)
	}
	if e := errs[0]; e.Line != 6 || e.Column != 11 {
		t.Fatalf("error at %d:%d (%s), want 6:11, the '['", e.Line, e.Column, e.Msg)
	}
}
