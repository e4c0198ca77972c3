package config

import (
	"errors"
	"strings"
	"testing"
)

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
