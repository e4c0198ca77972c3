#!/bin/sh
# Captures real keepalived VRRPv2 advertisements (keepalived's default: no
# vrrp_version), without and with "authentication { auth_type PASS }",
# inside two throw-away network namespaces joined by a veth pair. Nothing
# touches the host's interfaces. Run as root from this directory:
#
#	sh capture-v2.sh
#
# It writes keepalived-v2.pcap, keepalived-v2.txt and one .hex file per
# interesting packet (see capture.sh, which does the same for VRRPv3).
set -eu

suffix=$$
A=v2x-vrrp-a-$suffix
B=v2x-vrrp-b-$suffix
tmp=$(mktemp -d)
out=$(pwd)

cleanup() {
	[ -f "$tmp/ka.pid" ] && kill "$(cat "$tmp/ka.pid")" 2>/dev/null || true
	[ -f "$tmp/td.pid" ] && kill "$(cat "$tmp/td.pid")" 2>/dev/null || true
	sleep 1
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$A"
ip netns add "$B"
for ns in "$A" "$B"; do
	ip -n "$ns" link set lo up
done
ip link add v2xa type veth peer name v2xb
ip link set v2xa netns "$A"
ip link set v2xb netns "$B"
ip -n "$A" link set v2xa address 02:00:5e:00:00:0a
ip -n "$B" link set v2xb address 02:00:5e:00:00:0b
ip -n "$A" addr add 192.0.2.11/24 dev v2xa
ip -n "$B" addr add 192.0.2.12/24 dev v2xb
ip -n "$A" link set v2xa up
ip -n "$B" link set v2xb up

cat >"$tmp/keepalived.conf" <<'CONF'
global_defs {
	router_id v2x-vrrp
	script_user root
	enable_script_security
}
vrrp_instance V2 {
	state MASTER
	interface v2xa
	virtual_router_id 61
	priority 150
	advert_int 1
	virtual_ipaddress {
		192.0.2.100/24
		192.0.2.101/24
		192.0.2.102/24
	}
}
vrrp_instance V2PASS {
	state MASTER
	interface v2xa
	virtual_router_id 62
	priority 254
	advert_int 2
	authentication {
		auth_type PASS
		auth_pass s3cret
	}
	unicast_src_ip 192.0.2.11
	unicast_peer {
		192.0.2.12
	}
	virtual_ipaddress {
		192.0.2.110/24
	}
}
vrrp_instance V2LONG {
	state MASTER
	interface v2xa
	virtual_router_id 63
	priority 100
	advert_int 3
	authentication {
		auth_type PASS
		auth_pass 12345678
	}
	virtual_ipaddress {
		192.0.2.120/24
		192.0.2.121/24
	}
}
CONF

ip netns exec "$B" tcpdump -U -n -i v2xb -w "$out/keepalived-v2.pcap" 'ip proto 112' &
echo $! >"$tmp/td.pid"
sleep 1
ip netns exec "$A" keepalived -n -l -D -P -f "$tmp/keepalived.conf" \
	-p "$tmp/keepalived.pid" -r "$tmp/keepalived-vrrp.pid" >"$tmp/ka.log" 2>&1 &
echo $! >"$tmp/ka.pid"
sleep 12
kill -TERM "$(cat "$tmp/ka.pid")"
sleep 3
rm -f "$tmp/ka.pid"
kill -INT "$(cat "$tmp/td.pid")"
sleep 1
rm -f "$tmp/td.pid"
cat "$tmp/ka.log" >&2
tcpdump -n -v -x -r "$out/keepalived-v2.pcap" >"$out/keepalived-v2.txt"

extract() {
	{
		echo "# $3"
		echo "# tcpdump -r keepalived-v2.pcap -c 1 -v -x '$2':"
		tcpdump -n -v -r "$out/keepalived-v2.pcap" -c 1 "$2" 2>/dev/null | grep -v '^[[:space:]]*0x' | sed 's/^/# /'
		tcpdump -n -x -r "$out/keepalived-v2.pcap" -c 1 "$2" 2>/dev/null | grep '^[[:space:]]*0x' | sed 's/^[[:space:]]*0x[0-9a-f]*:[[:space:]]*//'
	} >"$out/$1.hex"
}
extract keepalived-v2-ipv4 'ip proto 112 and ip[21] = 61 and ip[22] != 0' \
	'keepalived v2.2.7, VRRPv2, IPv4 multicast, VRID 61, priority 150, advert_int 1, no authentication, 3 VIPs'
extract keepalived-v2-ipv4-prio0 'ip proto 112 and ip[21] = 61 and ip[22] = 0' \
	'keepalived v2.2.7, VRRPv2, VRID 61, priority 0 (sent on SIGTERM), 3 VIPs'
extract keepalived-v2-pass-unicast 'ip proto 112 and ip[21] = 62 and ip[22] != 0' \
	'keepalived v2.2.7, VRRPv2, IPv4 unicast to 192.0.2.12, VRID 62, priority 254, advert_int 2, auth_type PASS auth_pass s3cret, 1 VIP'
extract keepalived-v2-pass8 'ip proto 112 and ip[21] = 63 and ip[22] != 0' \
	'keepalived v2.2.7, VRRPv2, IPv4 multicast, VRID 63, priority 100, advert_int 3, auth_type PASS auth_pass 12345678, 2 VIPs'
chown "$(id -u):$(id -g)" "$out/keepalived-v2.pcap"
