package doctor

import (
	"fmt"
	"net/netip"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
)

// Instance is what doctor examines of one VRRP instance.
type Instance struct {
	Name      string
	Interface string
	// VIPs as configured, with their prefix lengths.
	VIPs []netip.Prefix
	// Targets are the configured verification targets (verify.targets);
	// the gateways of the VIPs' subnets are added at run time.
	Targets []netip.Addr
	// VirtualMAC: the VIPs are on the virtual MAC interface of VRID
	// (family IPv6), whose traps doctor explains.
	VirtualMAC bool
	VRID       uint8
	IPv6       bool
}

// FromConfig lists the instances of a configuration.
func FromConfig(cfg *config.Config) []Instance {
	out := make([]Instance, 0, len(cfg.Instances))
	for _, ic := range cfg.Instances {
		if ic.Routed() {
			continue // no ARP/ND for routed VIPs: checked from the daemon (routedCheck)
		}
		out = append(out, Instance{Name: ic.Name, Interface: ic.Interface, VIPs: ic.VIPs, Targets: ic.Verify.Targets,
			VirtualMAC: ic.VirtualMAC, VRID: ic.VRID, IPv6: ic.IPv6()})
	}
	return out
}

// FromStatus lists the instances a running daemon reports, for a doctor
// run without a configuration file. The configured targets are unknown
// there: only the gateways are checked.
func FromStatus(st control.Status) ([]Instance, error) {
	out := make([]Instance, 0, len(st.Instances))
	for _, is := range st.Instances {
		if is.Mode == "bgp" {
			continue // see FromConfig
		}
		in := Instance{Name: is.Name, Interface: is.Interface}
		for _, v := range is.VIPs {
			p, err := parseVIP(v.Address)
			if err != nil {
				return nil, fmt.Errorf("doctor: instance %s: %w", is.Name, err)
			}
			in.VIPs = append(in.VIPs, p)
		}
		out = append(out, in)
	}
	return out, nil
}

// parseVIP reads a status address: a prefix, or a bare address.
func parseVIP(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("VIP %q: %w", s, err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// VIPKey names a VIP of an instance.
type VIPKey struct {
	Instance string
	VIP      netip.Addr
}

// DaemonViews matches the daemon's status, read before and after the
// probes, to its VIPs. Either may be nil (no daemon, or it stopped
// answering); a VIP missing from both has no view.
func DaemonViews(before, after *control.Status) map[VIPKey]*DaemonView {
	out := map[VIPKey]*DaemonView{}
	add := func(st *control.Status, last bool) {
		if st == nil {
			return
		}
		for _, is := range st.Instances {
			for _, v := range is.VIPs {
				p, err := parseVIP(v.Address)
				if err != nil {
					continue
				}
				k := VIPKey{is.Name, p.Addr()}
				d := out[k]
				if d == nil {
					d = &DaemonView{}
					out[k] = d
				}
				if !last {
					d.MisdirectedBefore = v.Misdirected
					if after != nil {
						continue // the rest comes from the later status
					}
				} else {
					d.MisdirectedAfter = v.Misdirected
				}
				d.State = is.State
				d.Verification = v.Verification
				d.ConflictMAC = v.ConflictMAC
				d.Master, d.MasterMAC, d.MasterSelf = "", "", false
				if m := is.Master; m != nil {
					d.Master, d.MasterMAC, d.MasterSelf = m.Address, m.MAC, m.Self
				}
			}
		}
	}
	add(before, false)
	add(after, true)
	// Without both readings nothing shows traffic arriving meanwhile.
	for _, d := range out {
		switch {
		case after == nil:
			d.MisdirectedAfter = d.MisdirectedBefore
		case before == nil:
			d.MisdirectedBefore = d.MisdirectedAfter
		}
	}
	return out
}
