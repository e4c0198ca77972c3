package config

import (
	"net/netip"
)

// crossCheck applies the rules that span instances: unique names, one
// virtual router per (interface, vrid, family), and no VIP held twice,
// within an instance or across instances. where is parallel to insts;
// values whose node is nil were reported already and are skipped.
func (d *decoder) crossCheck(insts []Instance, where []instanceNodes) {
	type router struct {
		iface string
		vrid  uint8
		v6    bool
	}
	type vipAt struct{ inst, idx int }
	names := make(map[string]int, len(insts))
	routers := make(map[router]int, len(insts))
	total := 0
	for i := range insts {
		total += len(insts[i].VIPs)
	}
	vips := make(map[netip.Addr]vipAt, total)
	for i := range insts {
		in, w := &insts[i], &where[i]
		path := w.path
		if w.name != nil {
			if j, dup := names[in.Name]; dup {
				d.errorf(w.name, join(path, "name"), "duplicate instance name %s (first at line %d)", quote(in.Name), where[j].name.Line)
			} else {
				names[in.Name] = i
			}
		}
		if w.iface != nil && w.vrid != nil && len(in.VIPs) > 0 {
			r := router{in.Interface, in.VRID, in.IPv6()}
			if in.VirtualMAC {
				// The virtual MAC interface is named by VRID and family
				// (vrrp4-42): one per host.
				vr := router{"", in.VRID, in.IPv6()}
				if j, dup := routers[vr]; dup {
					d.errorf(w.vrid, join(path, "vrid"), "instance %s (line %d) already has a virtual MAC for vrid %d (%s): "+
						"its interface vrrp%s-%d exists once per host; use another vrid", quote(insts[j].Name), insts[j].Line,
						in.VRID, family(in.IPv6()), map[bool]string{false: "4", true: "6"}[in.IPv6()], in.VRID)
				} else {
					routers[vr] = i
				}
			}
			if j, dup := routers[r]; dup {
				d.errorf(w.vrid, join(path, "vrid"), "interface %s already has vrid %d for %s in instance %s (line %d); "+
					"a vrid is unique per interface and address family (RFC 5798)",
					in.Interface, in.VRID, family(in.IPv6()), quote(insts[j].Name), insts[j].Line)
			} else {
				routers[r] = i
			}
		}
		for k, p := range in.VIPs {
			a := p.Addr()
			first, dup := vips[a]
			if !dup {
				vips[a] = vipAt{i, k}
				continue
			}
			at := where[first.inst].vips[first.idx]
			vpath := index(join(path, "vips"), w.vipPaths[k])
			if first.inst == i {
				d.errorf(w.vips[k], vpath, "duplicate VIP %s (first at line %d)", a, at.Line)
			} else {
				d.errorf(w.vips[k], vpath, "VIP %s is already in instance %s (line %d); a VIP belongs to one instance",
					a, quote(insts[first.inst].Name), at.Line)
			}
		}
	}
}

func family(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}
