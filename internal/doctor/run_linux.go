//go:build linux

package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/sysctl"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vmac"
)

// Run examines every VIP of the instances from this node and returns the
// report: it reads the daemon's status (if Socket answers), asks on each
// interface who answers for each VIP while it checks, per instance, the
// VIPs held here with verify.Check, then reads the daemon's status again.
// It sends ARP requests, neighbor solicitations and ICMP echoes only; it
// changes nothing. It needs CAP_NET_RAW.
func Run(ctx context.Context, o Options) (Report, error) {
	start := time.Now()
	if o.AnswerWait <= 0 {
		o.AnswerWait = DefaultAnswerWait
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = verify.DefaultCheckTimeout
	}
	before, info := daemonStatus(ctx, o.Socket)
	rep := Report{Node: o.Node, Daemon: info, BGP: routedCheck(before)}
	if rep.Node == "" && before != nil {
		rep.Node = before.Node
	}
	insts := o.Instances
	if insts == nil {
		if before == nil {
			return rep, ErrNothingToCheck
		}
		var err error
		if insts, err = FromStatus(*before); err != nil {
			return rep, err
		}
	}

	// One job per interface: its addresses, and who answers for its VIPs.
	jobs := map[string]*ifaceJob{}
	var order []string
	for _, in := range insts {
		j := jobs[in.Interface]
		if j == nil {
			j = &ifaceJob{}
			jobs[in.Interface] = j
			order = append(order, in.Interface)
		}
		for _, p := range in.VIPs {
			if a := p.Addr().Unmap(); a.Is4() {
				j.v4 = appendNew(j.v4, a)
			} else {
				j.v6 = appendNew(j.v6, a)
			}
		}
	}
	for _, name := range order {
		j := jobs[name]
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			j.err = fmt.Sprintf("interface %s: %v", name, err)
			j.missing = true
			continue
		}
		vips := append(append([]netip.Addr(nil), j.v4...), j.v6...)
		if j.assigned, j.p4, err = interfaceAddrs(ifi, vips); err != nil {
			j.err = err.Error()
			continue
		}
		j.ifi = ifi
	}

	// An instance with a virtual MAC holds its VIPs on that interface:
	// Held and the proof are looked up there.
	vifs := make([]*vipIface, len(insts))
	for i, in := range insts {
		if !in.VirtualMAC {
			continue
		}
		v := &vipIface{}
		vifs[i] = v
		name := vmac.Name(in.VRID, in.IPv6)
		ifi, err := net.InterfaceByName(name)
		if err == nil {
			v.st.Exists, v.st.Up, v.st.MAC = true, ifi.Flags&net.FlagUp != 0, ifi.HardwareAddr.String()
			var vips []netip.Addr
			for _, p := range in.VIPs {
				vips = append(vips, p.Addr().Unmap())
			}
			if v.assigned, _, err = interfaceAddrs(ifi, vips); err == nil {
				v.ifi = ifi
			}
		}
		v.st.ParentArpIgnore = sysctlValue("net/ipv4/conf/" + in.Interface + "/arp_ignore")
		v.st.ParentArpAnnounce = sysctlValue("net/ipv4/conf/" + in.Interface + "/arp_announce")
		v.st.StrictRPFilter = vmac.StrictRPFilter()
		state := ""
		if before != nil {
			for _, is := range before.Instances {
				if is.Name == in.Name {
					state = is.State
				}
			}
		}
		rep.Advice = append(rep.Advice, vmacAdvice(in, v.st, state)...)
	}

	// Ask and check at the same time: the answers take AnswerWait after
	// the questions, Check up to CheckTimeout. Every goroutine writes its
	// own fields only.
	var wg sync.WaitGroup
	for _, name := range order {
		j := jobs[name]
		if j.ifi == nil {
			continue
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			j.ans4, j.err4 = askARP(ctx, j.ifi, j.p4, j.v4, o.AnswerWait)
		}()
		go func() {
			defer wg.Done()
			j.ans6, j.err6 = askNDP(ctx, j.ifi, j.v6, o.AnswerWait)
		}()
	}
	checks := make([]checkResult, len(insts))
	for i, in := range insts {
		j := jobs[in.Interface]
		if j.ifi == nil {
			continue
		}
		ifi, assigned := j.ifi, j.assigned
		if v := vifs[i]; v != nil {
			ifi, assigned = v.ifi, v.assigned
		}
		var held []netip.Addr
		for _, p := range in.VIPs {
			if a := p.Addr().Unmap(); assigned[a] {
				held = appendNew(held, a)
			}
		}
		if len(held) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, o.CheckTimeout)
			defer cancel()
			checks[i].sts, checks[i].err = verify.Check(cctx, ifi, held, in.Targets)
		}()
	}
	wg.Wait()
	var after *control.Status
	if before != nil {
		after, _ = daemonStatus(ctx, o.Socket)
	}
	views := DaemonViews(before, after)

	for i, in := range insts {
		j := jobs[in.Interface]
		for _, p := range in.VIPs {
			a := p.Addr().Unmap()
			ob := Observation{Instance: in.Name, Interface: in.Interface, VIP: p, Daemon: views[VIPKey{in.Name, a}]}
			switch {
			case j.ifi == nil:
				ob.AnswerErr, ob.CheckErr, ob.NoInterface = j.err, j.err, j.missing
			default:
				ob.OurMAC = j.ifi.HardwareAddr
				ob.Held = j.assigned[a]
				if v := vifs[i]; v != nil {
					ob.Held = v.assigned[a]
				}
				ans, err := j.ans4, j.err4
				if a.Is6() {
					ans, err = j.ans6, j.err6
				}
				ob.Answers = ans[a]
				if err != nil {
					ob.AnswerErr = err.Error()
				}
			}
			if ob.Held {
				if checks[i].err != nil {
					ob.CheckErr = checks[i].err.Error()
				}
				for _, st := range checks[i].sts {
					if st.VIP == a {
						ob.Targets = append(ob.Targets, st)
					}
				}
			}
			rep.Findings = append(rep.Findings, Judge(ob))
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// ifaceJob is one interface's part of a run.
type ifaceJob struct {
	ifi      *net.Interface // nil when it could not be read (err)
	err      string
	missing  bool // no interface of that name
	assigned map[netip.Addr]bool
	p4       netip.Addr
	v4, v6   []netip.Addr
	ans4     map[netip.Addr][]net.HardwareAddr
	ans6     map[netip.Addr][]net.HardwareAddr
	err4     error
	err6     error
}

// vipIface is the virtual MAC interface of an instance with
// virtual_mac: ifi and assigned are nil when it is missing.
type vipIface struct {
	ifi      *net.Interface
	assigned map[netip.Addr]bool
	st       VMACState
}

// sysctlValue is the sysctl at path, "" if unreadable.
func sysctlValue(path string) string {
	v, _ := sysctl.Read(path)
	return v
}

// checkResult is one instance's verify.Check.
type checkResult struct {
	sts []verify.VIPStatus
	err error
}

func appendNew(as []netip.Addr, a netip.Addr) []netip.Addr {
	for _, x := range as {
		if x == a {
			return as
		}
	}
	return append(as, a)
}

// interfaceAddrs returns the usable addresses of ifi (tentative and
// DAD-failed IPv6 addresses are left out) and its primary IPv4 address:
// the first one that is none of vips.
func interfaceAddrs(ifi *net.Interface, vips []netip.Addr) (map[netip.Addr]bool, netip.Addr, error) {
	var p4 netip.Addr
	link, err := netlink.LinkByIndex(ifi.Index)
	if err != nil {
		return nil, p4, fmt.Errorf("doctor: interface %s: %w", ifi.Name, err)
	}
	var as []netlink.Addr
	for range 5 {
		as, err = netlink.AddrList(link, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, p4, fmt.Errorf("doctor: addresses of %s: %w", ifi.Name, err)
	}
	isVIP := map[netip.Addr]bool{}
	for _, v := range vips {
		isVIP[v] = true
	}
	out := map[netip.Addr]bool{}
	for _, a := range as {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
			continue
		}
		ip = ip.Unmap()
		out[ip] = true
		if ip.Is4() && !isVIP[ip] && !p4.IsValid() {
			p4 = ip
		}
	}
	return out, p4, nil
}
