// Package config loads and validates vipd's YAML configuration file. It is
// a pure function of the file's bytes (plus the host name, for the default
// node name): [Parse] returns a [Config] with every default applied, or an
// [Errors] listing every problem in the file, each with its line.
//
// The virtual routers it describes are those of VRRP version 3, RFC 5798;
// the ranges below are the protocol's where it has them.
//
// # Format
//
//	node: a                              # default: the host name
//	control_socket: /run/vipd/vipd.sock  # default shown; absolute, <= 107 bytes
//	announce_rate: 500                   # ARP/NA packets per second, whole daemon, 1..100000; default: adaptive
//	metrics_listen: 127.0.0.1:9650       # default: off; host:port, numeric port, the host may be empty
//	state_dir: /var/lib/vipd             # default shown; absolute
//	instances:                           # at least one
//	  - name: web                        # required, unique, [A-Za-z0-9_.-]{1,64}
//	    interface: eth0                  # required, a Linux interface name
//	    vrid: 42                         # required, 1..255
//	    priority: 150                    # 1..255, default 100; 255 = address owner
//	    advert_interval: 100ms           # 10ms..40.95s in 10ms steps, default 1s (version 2: 1s..255s, whole seconds)
//	    version: 3                       # VRRP version: 3 (RFC 5798, default) or 2 (RFC 3768, IPv4 only)
//	    auth_pass: s3cret                # version 2 only: simple password, 1..8 bytes, sent in clear (no security)
//	    preempt: true                    # default true
//	    preempt_delay: 0s                # 0s..1h, default 0s
//	    unicast_peers: [192.0.2.12]      # default: multicast
//	    announce:                        # gratuitous ARP / unsolicited NA on becoming master
//	      count: 2                       # rounds, 1..100, default 2
//	      interval: 1100ms               # between rounds, 10ms..1h, default 1.1s
//	      refresh: 0s                    # re-announce while master; 0s = off, else >= 1s
//	    wait_for_interface: false        # interface missing at start: false = error, true = wait
//	    virtual_mac: false               # VIPs on a macvlan with the RFC 5798 MAC 00:00:5e:00:01:VRID (package vmac)
//	    vmac_xmit_base: false            # virtual_mac only: adverts from the interface's own MAC
//	    na_router: false                 # IPv6 only: the Router flag in the VIPs' neighbour advertisements
//	    verify:                          # per-VIP proof that the upstream delivers to this node
//	      enabled: true                  # default true
//	      targets: [192.0.2.1]           # extra targets, VIPs' family; default: the VIPs' subnets' gateways
//	      period: 30s                    # 1s..1h, default 30s; 0s = only after a takeover
//	    checks:                          # health checks, see below
//	      - name: nginx                  # required, unique in the instance, like instance names
//	        type: http                   # required: exec | tcp | http | interface
//	        target: http://127.0.0.1/    # required; its form depends on the type
//	        expect_status: 200           # http only, 100..599, default 200
//	        interval: 2s                 # 100ms..1h, default 2s
//	        timeout: 1s                  # 10ms..interval, default 1s or the interval if shorter
//	        rise: 2                      # 1..100, default 2
//	        fall: 2                      # 1..100, default 2
//	        weight: -50                  # -254..254; or fault: true (not both, one of them required)
//	    notify:                          # hooks: command lines for /bin/sh -c
//	      master: /usr/local/bin/on-master
//	      backup: ...                    # also fault:, stop:, and any: (every transition)
//	      timeout: 10s                   # 100ms..1h, default 10s
//	    vips:                            # required, 1..65536 CIDR prefixes, one family
//	      - 192.0.2.100/24
//
// A key with no value (vrid:) or null is the same as a missing key: the
// default applies, or, for a required key, it is an error.
//
// # Rules
//
//   - Unknown keys are errors, reported at their own line with the closest
//     known key ("did you mean"); so are keys given twice.
//   - Durations are Go duration strings ("1s", "100ms", "1.5s"). A bare
//     number is an error: it has no unit.
//   - A VIP is written as a CIDR prefix, address and the prefix length to
//     install it with: 192.0.2.100/24. The host bits are kept, not masked.
//     A VIP without a length is an error; so are /0, zones, IPv4-mapped IPv6
//     and addresses that are not unicast.
//   - An instance is one virtual router, and RFC 5798 runs IPv4 and IPv6 as
//     separate virtual routers: all VIPs of an instance are of one family,
//     and IPv6 VIPs go in an instance of their own (which may use the same
//     vrid on the same interface). The unicast peers are of the VIPs'
//     family.
//   - Instance names are unique; a VIP appears once in the whole file; an
//     (interface, vrid, family) triple belongs to one instance.
//   - A check's target is, by type: exec, a command line for /bin/sh -c;
//     tcp, host:port with a host (an IP address or a name) and a numeric
//     port; http, an http:// or https:// URL; interface, an interface name.
//   - A check must have an effect: weight: N or fault: true, not both.
//     Weights follow keepalived's track_script: a negative weight is added
//     to the priority while the check fails, a positive one while it
//     passes. weight: 0 makes a check that only reports. The address owner
//     (priority 255) never changes its priority, so its checks take
//     fault: true or weight: 0.
//   - A check's timeout is at most its interval: a run ends before the next
//     one starts.
//   - Verify targets are unicast addresses of the VIPs' family, not one of
//     the instance's VIPs. An empty list (targets: [], checks: []) is the
//     same as none.
//   - YAML aliases (*name), application tags (!tag) and more than one
//     document per file are refused.
//
// # Errors
//
// Parsing does not stop at the first problem. Each [Error] has the line and
// column of the key or value it is about and the path to it, and formats as
//
//	line 12: instances[0].vrid: must be 1..255, got 300
//
// [Errors] holds them all in line order. Parse never panics, whatever the
// input.
//
// # Adding keys
//
// The format is a set of small field tables in schema.go, one per mapping;
// a new key is a field in the Go struct and a row in its table, with a
// decoder from decode.go (str, integer, number, boolean, duration) or a
// function for a nested mapping or list. Checks that involve several keys
// follow the table; checks across instances live in validate.go.
package config
