// Package vmac is the virtual router MAC address of RFC 5798 §7.3: a
// macvlan interface in bridge mode on the instance's interface, with the
// MAC 00:00:5e:00:01:{VRID} (IPv4) or 00:00:5e:00:02:{VRID} (IPv6), that
// carries the VIPs while the node is master. The VIPs then never change
// MAC on a failover: an upstream whose neighbour entries cannot be moved
// (static entries, a sticky load balancer) keeps delivering to whichever
// node holds the virtual MAC; switches move it to the new master's port
// when the new master sends from it.
//
// vipd names the interface vrrp4-{VRID} or vrrp6-{VRID} (keepalived's
// default is vrrp.{VRID}) and owns it: it creates it down, brings it up
// only while master, removes it on stop, and removes a leftover of a crash
// at start: the daemon records each interface (name and MAC) and the
// sysctls it changed in state_dir/vmac.json before it may create it, and
// the next start removes a macvlan of a recorded name with the recorded
// MAC, restores the sysctls and clears the record (package statedir).
//
// A Linux host answers ARP for any of its addresses on any interface
// (arp_ignore=0), so the VIPs on the macvlan would also be answered for
// with the physical MAC, and the parent's own address with the virtual
// MAC. The sysctls that make the virtual MAC the only answer:
//
//   - on the parent: arp_ignore=1 (answer only for addresses of the
//     receiving interface) and arp_announce=2 (ARP requests name the best
//     local address of the outgoing interface as sender, never a VIP).
//     PrepareParent sets them when lower and Restore puts back what it
//     changed.
//   - on the macvlan (vipd's own, nothing to restore): arp_ignore=1,
//     arp_announce=2; rp_filter=0, since the VIPs' subnet route leaves by
//     the parent, and replies arriving on the macvlan would fail a strict
//     reverse-path check (the kernel uses the larger of conf/all and the
//     interface's value: with net.ipv4.conf.all.rp_filter=1 they still
//     do, and vipd doctor says so); accept_local=1, so that packets with a
//     source address of this host (the parent's) are accepted on it;
//     IPv6 addr_gen_mode=1, no address of its own: an IPv6 instance gets
//     the parent's link-local address (with NODAD), so that adverts sent
//     from the macvlan keep the source address peers know.
package vmac
