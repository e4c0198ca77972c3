package doctor

import (
	"fmt"

	"github.com/vipd/vipd/internal/vmac"
)

// The traps of a virtual MAC (virtual_mac: true), explained once per
// instance that has one, with what doctor found on this node.

// VMACState is what doctor found of an instance's virtual MAC interface
// and its parent on this node (see vmacState).
type VMACState struct {
	// Exists, Up and MAC describe the interface vrrp4-/vrrp6-VRID.
	Exists, Up bool
	MAC        string
	// ParentArpIgnore and ParentArpAnnounce are the parent's sysctls
	// ("" when unreadable); StrictRPFilter: net.ipv4.conf.all.rp_filter=1.
	ParentArpIgnore, ParentArpAnnounce string
	StrictRPFilter                     bool
}

// vmacAdvice returns the advice for instance in, whose virtual MAC
// interface doctor found as st; state is the daemon's VRRP state of the
// instance ("" when unknown).
func vmacAdvice(in Instance, st VMACState, state string) []string {
	name, mac := vmac.Name(in.VRID, in.IPv6), vmac.MAC(in.VRID, in.IPv6)
	pre := fmt.Sprintf("instance %s: virtual_mac (%s, %s): ", in.Name, name, mac)
	out := []string{
		pre + "a hypervisor must let this VM send from a MAC it did not assign: VMware \"Forged transmits\" and " +
			"\"MAC address changes\" set to Accept, Hyper-V \"MAC address spoofing\" on, OpenStack/libvirt port security " +
			"with " + mac.String() + " in allowed_address_pairs; public clouds (AWS, GCP, Azure) drop such frames: " +
			"use virtual_mac: false there",
		pre + "at each failover " + mac.String() + " moves to the new master's switch port; switches with port " +
			"security (sticky MACs, a MAC limit) block it, and MAC-move notification / flap detection reports it " +
			"(Cisco \"mac address-table notification mac-move\", Junos MAC move limits): exempt this MAC; " +
			"vmac_xmit_base: true sends the adverts from the interface's own MAC, so the virtual MAC only " +
			"appears when the node is master",
	}
	if st.StrictRPFilter {
		out = append(out, pre+"net.ipv4.conf.all.rp_filter is 1 (strict): replies arriving on "+name+
			" for the VIPs are dropped, since the route back leaves by the parent; set it to 2 (loose) or 0")
	}
	if st.ParentArpIgnore == "0" || st.ParentArpAnnounce == "0" || st.ParentArpAnnounce == "1" {
		out = append(out, fmt.Sprintf("%s%s has arp_ignore=%s arp_announce=%s: the parent may answer ARP for the VIPs "+
			"with its own MAC, or name a VIP in its own ARP requests (vipd sets 1 and 2 while it runs: is it running?)",
			pre, in.Interface, st.ParentArpIgnore, st.ParentArpAnnounce))
	}
	switch {
	case !st.Exists && state != "":
		out = append(out, pre+name+" does not exist although vipd runs the instance ("+state+"): see vipd's log")
	case st.Exists && st.MAC != mac.String():
		out = append(out, fmt.Sprintf("%s%s has MAC %s, not %s: it is not vipd's (remove or rename it)", pre, name, st.MAC, mac))
	case st.Up && state != "" && state != "MASTER":
		out = append(out, pre+name+" is up although this node is "+state+": it may answer for the VIPs")
	case !st.Up && state == "MASTER":
		out = append(out, pre+name+" is down although this node is master: the VIPs are unreachable here")
	}
	return out
}
