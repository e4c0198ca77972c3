#!/bin/sh
# Captures real keepalived VRRPv3 advertisements (IPv4 and IPv6) inside two
# throw-away network namespaces joined by a veth pair. Nothing touches the
# host's interfaces. Run as root from this directory:
#
#	sh capture.sh
#
# It writes keepalived-v3.pcap (all captured frames), keepalived-v3.txt
# (tcpdump -v -x of the same) and one .hex file per interesting packet (the
# raw IP packet, first match of a BPF filter, see extract below).
set -eu

suffix=$$
A=vt-vrrp-a-$suffix
B=vt-vrrp-b-$suffix
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
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
	ip -n "$ns" link set lo up
done
ip link add va type veth peer name vb
ip link set va netns "$A"
ip link set vb netns "$B"
ip -n "$A" link set va address 02:00:5e:00:00:0a
ip -n "$B" link set vb address 02:00:5e:00:00:0b
ip -n "$A" addr add 192.0.2.11/24 dev va
ip -n "$A" addr add 2001:db8::11/64 dev va nodad
ip -n "$B" addr add 192.0.2.12/24 dev vb
ip -n "$B" addr add 2001:db8::12/64 dev vb nodad
ip -n "$A" link set va up
ip -n "$B" link set vb up

cat >"$tmp/keepalived.conf" <<'CONF'
global_defs {
	router_id vt-vrrp
	vrrp_version 3
	script_user root
	enable_script_security
}
vrrp_instance V4 {
	state MASTER
	interface va
	virtual_router_id 51
	priority 150
	advert_int 1
	virtual_ipaddress {
		192.0.2.100/24
		192.0.2.101/24
		192.0.2.102/24
	}
}
vrrp_instance V4U {
	state MASTER
	interface va
	virtual_router_id 53
	priority 254
	advert_int 1.23
	unicast_src_ip 192.0.2.11
	unicast_peer {
		192.0.2.12
	}
	virtual_ipaddress {
		192.0.2.110/24
	}
}
vrrp_instance V4MANY {
	state MASTER
	interface va
	virtual_router_id 54
	priority 100
	advert_int 3
	virtual_ipaddress {
		192.0.2.120/24
		192.0.2.121/24
		192.0.2.122/24
		192.0.2.123/24
		192.0.2.124/24
		192.0.2.125/24
		192.0.2.126/24
		192.0.2.127/24
		192.0.2.128/24
		192.0.2.129/24
		192.0.2.130/24
		192.0.2.131/24
		192.0.2.132/24
		192.0.2.133/24
		192.0.2.134/24
		192.0.2.135/24
		192.0.2.136/24
		192.0.2.137/24
		192.0.2.138/24
		192.0.2.139/24
	}
}
vrrp_instance V6 {
	state MASTER
	interface va
	virtual_router_id 52
	priority 120
	advert_int 0.5
	virtual_ipaddress {
		2001:db8::100/64
		2001:db8::101/64
	}
}
CONF

# Capture on the peer side (B), i.e. what another router receives.
ip netns exec "$B" tcpdump -U -n -i vb -w "$out/keepalived-v3.pcap" 'ip proto 112 or ip6 proto 112' &
echo $! >"$tmp/td.pid"
sleep 1
ip netns exec "$A" keepalived -n -l -D -P -f "$tmp/keepalived.conf" \
	-p "$tmp/keepalived.pid" -r "$tmp/keepalived-vrrp.pid" >"$tmp/ka.log" 2>&1 &
echo $! >"$tmp/ka.pid"
sleep 12
# SIGTERM: a master announces priority 0 before it goes away.
kill -TERM "$(cat "$tmp/ka.pid")"
sleep 3
rm -f "$tmp/ka.pid"
kill -INT "$(cat "$tmp/td.pid")"
sleep 1
rm -f "$tmp/td.pid"
cat "$tmp/ka.log" >&2
tcpdump -n -v -x -r "$out/keepalived-v3.pcap" >"$out/keepalived-v3.txt"

# extract NAME FILTER DESCRIPTION: the first packet matching FILTER as hex.
# The link layer (Ethernet) is stripped, the file holds the IP packet.
extract() {
	{
		echo "# $3"
		echo "# tcpdump -r keepalived-v3.pcap -c 1 -v -x '$2':"
		tcpdump -n -v -r "$out/keepalived-v3.pcap" -c 1 "$2" 2>/dev/null | grep -v '^[[:space:]]*0x' | sed 's/^/# /'
		tcpdump -n -x -r "$out/keepalived-v3.pcap" -c 1 "$2" 2>/dev/null | grep '^[[:space:]]*0x' | sed 's/^[[:space:]]*0x[0-9a-f]*:[[:space:]]*//'
	} >"$out/$1.hex"
}
extract keepalived-ipv4 'ip proto 112 and ip[21] = 51 and ip[22] != 0' \
	'keepalived v2.2.7, IPv4 multicast, VRID 51, priority 150, advert_int 1 (100 cs), 3 VIPs'
extract keepalived-ipv4-prio0 'ip proto 112 and ip[21] = 51 and ip[22] = 0' \
	'keepalived v2.2.7, IPv4 multicast, VRID 51, priority 0 (sent on SIGTERM), 3 VIPs'
extract keepalived-ipv4-unicast 'ip proto 112 and ip[21] = 53 and ip[22] != 0' \
	'keepalived v2.2.7, IPv4 unicast to 192.0.2.12, VRID 53, priority 254, advert_int 1.23 (123 cs), 1 VIP'
extract keepalived-ipv4-20addrs 'ip proto 112 and ip[21] = 54 and ip[22] != 0' \
	'keepalived v2.2.7, IPv4 multicast, VRID 54, priority 100, advert_int 3 (300 cs), 20 VIPs'
extract keepalived-ipv6 'ip6 proto 112 and ip6[41] = 52 and ip6[42] != 0' \
	'keepalived v2.2.7, IPv6 multicast from link-local, VRID 52, priority 120, advert_int 0.5 (50 cs), 2 VIPs'
extract keepalived-ipv6-prio0 'ip6 proto 112 and ip6[41] = 52 and ip6[42] = 0' \
	'keepalived v2.2.7, IPv6 multicast from link-local, VRID 52, priority 0 (sent on SIGTERM), 2 VIPs'
chown "$(id -u):$(id -g)" "$out/keepalived-v3.pcap"
