package watch

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/announce"
)

// Misdirected traffic is tracked per flow, a (VIP, upstream MAC) pair: the
// upstream's neighbour entry for the VIP is what is stale, whatever the
// packets' sources. A flow lives through episodes:
//
//	          packet                    MinPackets over MinDuration
//	(none) ──────────▶ counting ─────────────────────────────────▶ reported ──┐
//	                     ▲  │ EpisodeGap quiet                        │        │ repair when due:
//	                     │  ▼                                         │        │ RepairInterval,
//	                     └─ quiet ◀───────────────────────────────────┘        │ doubling up to
//	          packet: new   │   EpisodeGap quiet (ReportMisdirectedEnded)      │ MaxRepairInterval
//	          episode       │ Forget quiet                              ◀──────┘
//	                        ▼
//	                     (none)
//
// Each episode is reported once. Rows per source IP are kept for status.

type flowKey struct {
	vip netip.Addr
	src mac // Ethernet source: the stale upstream
}

type flow struct {
	// Current (or last) episode.
	first, last time.Time
	packets     uint64
	reported    bool
	ended       bool // the episode ended; the next packet starts another
	repairs     uint64
	// Repair pacing: nextRepair is the earliest time of the next repair,
	// interval the gap that was used after the last one.
	nextRepair time.Time
	interval   time.Duration
	sources    map[netip.Addr]*source
	lastSrc    netip.Addr
}

type source struct {
	packets     uint64
	first, last time.Time
}

// misdirected counts one packet for a watched VIP that reached our MAC.
func (d *detector) misdirected(now time.Time, f *frame, owner Owner, fx *effects) DropReason {
	k := flowKey{vip: f.dst, src: f.ethSrc}
	fl := d.flows[k]
	if fl == nil {
		if len(d.flows) >= d.cfg.MaxFlows {
			d.forgetFlows(now, fx)
			if len(d.flows) >= d.cfg.MaxFlows {
				return DropTableFull
			}
		}
		fl = &flow{first: now, sources: make(map[netip.Addr]*source)}
		d.flows[k] = fl
		fx.rearm = true
	} else if fl.ended || now.Sub(fl.last) > d.cfg.EpisodeGap {
		// A new episode. (An episode that went quiet without a tick to
		// end it ends here, silently if it was never reported.)
		if !fl.ended {
			d.endFlow(now, k, fl, fx)
		}
		*fl = flow{first: now, sources: make(map[netip.Addr]*source)}
		fx.rearm = true
	}
	s := fl.sources[f.src]
	if s == nil && len(fl.sources) < d.cfg.MaxSources {
		s = &source{first: now}
		fl.sources[f.src] = s
	}
	if s != nil { // beyond MaxSources, the packet counts for the flow only
		s.packets++
		s.last = now
	}
	fl.packets++
	fl.last = now
	fl.lastSrc = f.src
	d.stats.Misdirected++

	if !fl.reported && fl.packets >= d.cfg.MinPackets && now.Sub(fl.first) >= d.cfg.MinDuration {
		fl.reported = true
		d.maybeRepair(now, k, fl, owner, f, fx) // first, so that the report counts it
		fx.reports = append(fx.reports, Report{
			Kind:        ReportMisdirected,
			Iface:       d.iface,
			Misdirected: d.row(k, fl, f.src, owner),
			Sources:     len(fl.sources),
			At:          now,
		})
		fx.rearm = true
		return 0
	}
	if fl.reported {
		d.maybeRepair(now, k, fl, owner, f, fx)
	}
	return 0
}

// maybeRepair sends the stale upstream a frame naming the owner's MAC, if
// the owner's MAC is known and the flow's repair is due.
func (d *detector) maybeRepair(now time.Time, k flowKey, fl *flow, owner Owner, f *frame, fx *effects) {
	om, ok := macOf(owner.MAC)
	if !ok || om.isZero() || om[0]&1 != 0 || om == k.src || om == d.our {
		return // unknown, or nonsense: the owner itself, or us
	}
	if k.src[0]&1 != 0 || now.Before(fl.nextRepair) {
		return
	}
	send := send{repair: true, upstream: k.src, ownerMAC: om, owner: owner}
	if k.vip.Is4() {
		tpa, ok := d.neigh4[k.src]
		if !ok {
			// The packet's source: usually a remote client, but a Linux
			// router does not look at the target of a reply.
			tpa, send.guessed = f.src, true
		}
		pkt, err := repair(d.our, om, k.vip, k.src, tpa)
		if err != nil {
			return // the packet's source is no address to name
		}
		send.pkt = pkt
	} else {
		dst, ok := d.neigh6[k.src]
		if !ok {
			dst, send.guessed = allNodes, true
		}
		pkt, err := repair(d.our, om, k.vip, k.src, dst)
		if err != nil {
			return
		}
		send.pkt = pkt
	}
	if fl.interval == 0 {
		fl.interval = d.cfg.RepairInterval
	} else {
		fl.interval = min(2*fl.interval, d.cfg.MaxRepairInterval)
	}
	fl.nextRepair = now.Add(fl.interval)
	fl.repairs++
	d.stats.Repairs++
	send.repairs, send.wait = fl.repairs, fl.interval
	fx.sends = append(fx.sends, send)
}

// endFlow reports the end of fl's episode if it was reported.
func (d *detector) endFlow(now time.Time, k flowKey, fl *flow, fx *effects) {
	if fl.ended {
		return
	}
	fl.ended = true
	if !fl.reported {
		return
	}
	fx.reports = append(fx.reports, Report{
		Kind:        ReportMisdirectedEnded,
		Iface:       d.iface,
		Misdirected: d.row(k, fl, fl.lastSrc, d.watched[k.vip]),
		Sources:     len(fl.sources),
		At:          now,
	})
}

// tickFlows ends quiet episodes and forgets old rows; it returns the next
// time something is due.
func (d *detector) tickFlows(now time.Time, fx *effects) time.Time {
	var next time.Time
	for k, fl := range d.flows {
		if now.Sub(fl.last) >= d.cfg.Forget {
			d.endFlow(now, k, fl, fx)
			delete(d.flows, k)
			continue
		}
		due := fl.last.Add(d.cfg.Forget)
		if !fl.ended {
			if now.Sub(fl.last) >= d.cfg.EpisodeGap {
				d.endFlow(now, k, fl, fx)
			} else {
				due = fl.last.Add(d.cfg.EpisodeGap)
			}
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next
}

// forgetFlows makes room: it drops ended episodes, oldest first, until a
// tenth of MaxFlows is free.
func (d *detector) forgetFlows(now time.Time, fx *effects) {
	var ended []flowKey
	for k, fl := range d.flows {
		if fl.ended || now.Sub(fl.last) >= d.cfg.EpisodeGap {
			ended = append(ended, k)
		}
	}
	slices.SortFunc(ended, func(a, b flowKey) int { return d.flows[a].last.Compare(d.flows[b].last) })
	want := d.cfg.MaxFlows - max(d.cfg.MaxFlows/10, 1)
	for _, k := range ended {
		if len(d.flows) <= want {
			break
		}
		d.endFlow(now, k, d.flows[k], fx)
		delete(d.flows, k)
	}
}

// row returns the Misdirected row of fl for source ip.
func (d *detector) row(k flowKey, fl *flow, ip netip.Addr, owner Owner) Misdirected {
	m := Misdirected{
		VIP:      k.vip,
		SrcMAC:   k.src.hw(),
		SrcIP:    ip,
		Packets:  fl.packets,
		First:    fl.first,
		Last:     fl.last,
		Repairs:  fl.repairs,
		Reported: fl.reported,
		Owner:    Owner{Node: owner.Node, MAC: cloneMAC(owner.MAC)},
	}
	if s := fl.sources[ip]; s != nil {
		m.Packets, m.First, m.Last = s.packets, s.first, s.last
	}
	return m
}

// misdirectedRows returns every row, sorted by VIP, source MAC, source IP.
func (d *detector) misdirectedRows() []Misdirected {
	var rows []Misdirected
	for k, fl := range d.flows {
		owner := d.watched[k.vip]
		for ip := range fl.sources {
			rows = append(rows, d.row(k, fl, ip, owner))
		}
	}
	slices.SortFunc(rows, func(a, b Misdirected) int {
		if c := a.VIP.Compare(b.VIP); c != 0 {
			return c
		}
		if c := bytes.Compare(a.SrcMAC, b.SrcMAC); c != 0 {
			return c
		}
		return a.SrcIP.Compare(b.SrcIP)
	})
	return rows
}

func cloneMAC(m net.HardwareAddr) net.HardwareAddr {
	if m == nil {
		return nil
	}
	return append(net.HardwareAddr(nil), m...)
}

func sameMAC(a, b net.HardwareAddr) bool { return bytes.Equal(a, b) }

// repair returns the frame that tells upstream dst that vip is at owner:
// from our MAC (switches keep learning it on our port) with the owner's as
// the ARP sender hardware address, or the NA's Target Link-Layer Address;
// to the upstream's own address to (IPv4 or IPv6), or to all-nodes.
func repair(our, owner mac, vip netip.Addr, dst mac, to netip.Addr) (announce.Packet, error) {
	src := announce.Src{Eth: our.hw(), HW: owner.hw()}
	if vip.Is4() {
		return src.UnicastARPReply(vip, dst.hw(), to)
	}
	return src.RepairNA(vip, dst.hw(), to)
}

// allNodes is ff02::1, where a repair goes when the upstream's own
// IPv6 address is unknown (in a frame to its MAC only).
var allNodes = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01})
