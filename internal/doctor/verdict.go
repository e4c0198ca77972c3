package doctor

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vipd/vipd/internal/verify"
)

// Verdict is doctor's conclusion about one VIP, seen from this node.
type Verdict uint8

// Verdicts. The zero value is not a verdict.
const (
	_ Verdict = iota
	// OK: held here and proven delivered by every target, or held by
	// exactly one other host and none of its traffic arrives here.
	OK
	// Stale: held here, but a target answers this node's primary address
	// and not the VIP: its neighbour entry for the VIP points elsewhere.
	Stale
	// Unverifiable: held here but no target could be asked (none, down,
	// ICMP filtered), or who answers for the VIP could not be probed.
	Unverifiable
	// NobodyAnswers: not held here and no host answers ARP/NS for it.
	NobodyAnswers
	// Conflict: two hosts answer for the VIP (this node and another, or
	// two others): a duplicate owner.
	Conflict
	// MisdirectedHere: held by another host, but the running daemon saw
	// traffic for it arrive at this node while doctor ran: an upstream
	// still sends it to this node's MAC.
	MisdirectedHere

	numVerdicts
)

var verdictNames = [numVerdicts]string{
	OK:              "ok",
	Stale:           "stale",
	Unverifiable:    "unverifiable",
	NobodyAnswers:   "nobody_answers",
	Conflict:        "conflict",
	MisdirectedHere: "misdirected_here",
}

// String returns the verdict's snake_case name, as in JSON.
func (v Verdict) String() string {
	if v > 0 && v < numVerdicts {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Label returns the verdict as the table shows it ("nobody answers").
func (v Verdict) Label() string { return strings.ReplaceAll(v.String(), "_", " ") }

// MarshalText encodes v as its name.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText decodes a name written by MarshalText.
func (v *Verdict) UnmarshalText(b []byte) error {
	for i := Verdict(1); i < numVerdicts; i++ {
		if verdictNames[i] == string(b) {
			*v = i
			return nil
		}
	}
	return fmt.Errorf("doctor: unknown verdict %q", b)
}

// Unreachable reports whether the verdict means the VIP's traffic does not
// reach its owner, at least from one upstream: Stale, NobodyAnswers,
// Conflict, MisdirectedHere.
func (v Verdict) Unreachable() bool {
	switch v {
	case Stale, NobodyAnswers, Conflict, MisdirectedHere:
		return true
	}
	return false
}

// Verdicts returns every verdict, in order.
func Verdicts() []Verdict {
	out := make([]Verdict, 0, numVerdicts-1)
	for v := Verdict(1); v < numVerdicts; v++ {
		out = append(out, v)
	}
	return out
}

// Observation is everything doctor found out about one VIP.
type Observation struct {
	Instance  string
	Interface string
	// VIP is the address as configured, with its prefix length.
	VIP netip.Prefix
	// Held: the VIP is an address of Interface on this node.
	Held bool
	// OurMAC is Interface's hardware address.
	OurMAC net.HardwareAddr
	// Answers are the MACs, other than OurMAC, that answered the ARP
	// request or Neighbor Solicitation for the VIP (or claimed it in ARP
	// while doctor listened). AnswerErr is set when the probe could not
	// run; Answers is then empty.
	Answers   []net.HardwareAddr
	AnswerErr string
	// NoInterface: Interface does not exist on this node.
	NoInterface bool
	// Targets are verify.Check's results for the VIP, one per target; only
	// for a VIP held here. CheckErr is set when Check could not run.
	Targets  []verify.VIPStatus
	CheckErr string
	// Daemon is what the running vipd says about the VIP; nil when no
	// daemon answered or it does not know the VIP.
	Daemon *DaemonView
}

// DaemonView is what the running daemon reports about a VIP and its
// instance.
type DaemonView struct {
	// State is the instance's VRRP state: "MASTER", "BACKUP", ...
	State string
	// Master and MasterMAC are the current master as the daemon knows it
	// ("" when unknown); MasterSelf is set when that is this node.
	Master     string
	MasterMAC  string
	MasterSelf bool
	// Verification is the daemon's own verdict for the VIP ("verified",
	// "stale", ...; "" when it does not verify it).
	Verification string
	// ConflictMAC is a duplicate owner the daemon's watcher confirmed.
	ConflictMAC string
	// MisdirectedBefore and MisdirectedAfter are the daemon's count of
	// packets for the VIP that reached this node while another node held
	// it, read before and after doctor's probes. The count is per episode:
	// a change to a non-zero value means traffic arrived meanwhile.
	MisdirectedBefore, MisdirectedAfter uint64
}

// misdirectedNow reports whether misdirected traffic arrived while doctor
// ran.
func (d *DaemonView) misdirectedNow() uint64 {
	if d == nil || d.MisdirectedAfter == 0 || d.MisdirectedAfter == d.MisdirectedBefore {
		return 0
	}
	if d.MisdirectedAfter > d.MisdirectedBefore {
		return d.MisdirectedAfter - d.MisdirectedBefore
	}
	return d.MisdirectedAfter // a new episode started
}

// Finding is the verdict on one VIP, with its reason and the fix.
type Finding struct {
	Observation
	Verdict Verdict
	// Reason says why, in one sentence.
	Reason string
	// Fix is the suggested next step ("run: vipd nudge ..."); empty when
	// none is needed.
	Fix string
	// Notes are further observations that do not change the verdict.
	Notes []string
}

// Judge turns an observation into a verdict. It is pure.
func Judge(o Observation) Finding {
	f := Finding{Observation: o}
	vip := o.VIP.Addr()
	others := otherMACs(o.Answers, o.OurMAC)
	f.Answers = others
	d := o.Daemon
	proto := "ARP"
	if vip.Is6() {
		proto = "neighbor solicitations"
	}
	nudge := "vipd nudge --interface " + o.Interface + " --vip " + vip.String()

	if d != nil && d.ConflictMAC != "" && !containsMAC(others, d.ConflictMAC) && !strings.EqualFold(d.ConflictMAC, o.OurMAC.String()) {
		f.Notes = append(f.Notes, "vipd saw "+d.ConflictMAC+" claim this VIP earlier; it does not answer now")
	}
	if o.Held && d != nil && d.State != "" && d.State != "MASTER" {
		f.Notes = append(f.Notes, fmt.Sprintf("this node holds the VIP although its vipd is %s: an address left behind (vipd killed with -9?); if another node is master, remove it here: ip addr del %s dev %s", d.State, o.VIP, o.Interface))
	}
	if o.Held && o.AnswerErr != "" {
		f.Notes = append(f.Notes, "could not ask who else answers for it: "+o.AnswerErr)
	}

	switch {
	case o.Held && len(others) > 0:
		f.Verdict = Conflict
		f.Reason = fmt.Sprintf("this node holds %s and %s also answers %s for it: a duplicate owner", vip, macList(others), proto)
		f.Fix = fmt.Sprintf("check the host with MAC %s: it still answers for the VIP (a hung ex-master keeps its addresses); remove the VIP there (ip addr del %s dev IFACE) or stop that node", macList(others), o.VIP)
	case !o.Held && len(others) > 1:
		f.Verdict = Conflict
		f.Reason = fmt.Sprintf("%s all answer %s for %s: duplicate owners", macList(others), proto, vip)
		f.Fix = fmt.Sprintf("keep %s only on the VRRP master: remove it from the other hosts (ip addr del %s dev IFACE); vipd status on each node shows the master", vip, o.VIP)
	case o.NoInterface:
		f.Verdict = Unverifiable
		f.Reason = "interface " + o.Interface + " does not exist on this node: " + o.AnswerErr
		f.Fix = "create the interface or correct instance " + o.Instance + "'s interface: in the configuration; vipd run refuses a missing interface unless the instance sets wait_for_interface: true"
	case !o.Held && o.AnswerErr != "":
		f.Verdict = Unverifiable
		f.Reason = "this node does not hold it, and who does could not be probed: " + o.AnswerErr
		f.Fix = "run vipd doctor as root (it needs CAP_NET_RAW), or run it on the node that holds the VIP"
	case !o.Held && len(others) == 0:
		f.Verdict = NobodyAnswers
		f.Reason = fmt.Sprintf("no host answers %s for %s, and this node does not hold it", proto, vip)
		switch {
		case d != nil && d.Master != "" && !d.MasterSelf:
			who := d.Master
			if d.MasterMAC != "" {
				who += " (" + d.MasterMAC + ")"
			}
			f.Fix = fmt.Sprintf("the VRRP master %s does not hold it: check vipd there (vipd status, its log)", who)
		default:
			f.Fix = fmt.Sprintf("no node holds it: check that vipd runs on the nodes of instance %s and that one of them is master (vipd status)", o.Instance)
		}
	case !o.Held:
		owner := others[0].String()
		if n := d.misdirectedNow(); n > 0 {
			f.Verdict = MisdirectedHere
			f.Reason = fmt.Sprintf("%s holds %s, but an upstream still sends its traffic to this node (%d packets while doctor ran)", owner, vip, n)
			f.Fix = fmt.Sprintf("on the owner (MAC %s) run: %s; vipd events on this node names the stale upstream", owner, nudgeCmd(vip))
			break
		}
		f.Verdict = OK
		f.Reason = "held by " + owner
		if d != nil && d.MisdirectedAfter > 0 {
			f.Notes = append(f.Notes, fmt.Sprintf("vipd counted %d misdirected packets for it earlier; none arrived while doctor ran", d.MisdirectedAfter))
		}
	default:
		judgeTargets(&f, nudge)
	}
	return f
}

// nudgeCmd is the nudge command line for a VIP, interface left to the
// owner.
func nudgeCmd(vip netip.Addr) string {
	return "vipd nudge --interface IFACE --vip " + vip.String()
}

// judgeTargets decides for a VIP held here, without another answer.
func judgeTargets(f *Finding, nudge string) {
	var stale, dead, fine []string
	for _, t := range f.Targets {
		if !t.Target.IsValid() {
			continue
		}
		name := t.Target.String()
		if len(t.TargetMAC) > 0 {
			name += " (" + t.TargetMAC.String() + ")"
		}
		switch t.State {
		case verify.Stale:
			stale = append(stale, name)
		case verify.Verified:
			fine = append(fine, name)
		default:
			dead = append(dead, name)
		}
	}
	switch {
	case len(stale) > 0:
		f.Verdict = Stale
		f.Reason = fmt.Sprintf("%s %s this node's primary address but not the VIP: the neighbour entry for the VIP points elsewhere",
			strings.Join(stale, ", "), plural(len(stale), "answers", "answer"))
		f.Fix = "run: " + nudge
		if f.Daemon != nil && f.Daemon.Verification != "" {
			f.Notes = append(f.Notes, "the running vipd verifies this VIP too ("+f.Daemon.Verification+"); vipd status shows its repair attempts")
		}
	case len(fine)+len(dead) == 0 && f.CheckErr != "":
		f.Verdict = Unverifiable
		f.Reason = "held here, but the upstream could not be checked: " + f.CheckErr
		f.Fix = "run vipd doctor as root (it needs CAP_NET_RAW for ICMP)"
	case len(fine)+len(dead) == 0:
		f.Verdict = Unverifiable
		f.Reason = "held here, but there is no upstream target to verify against: no gateway on its subnet"
		f.Fix = "configure verify.targets with a router on the link that answers ping"
	case len(dead) > 0:
		f.Verdict = Unverifiable
		f.Reason = fmt.Sprintf("held here, but %s %s no echo from this node (down, or ICMP filtered)",
			strings.Join(dead, ", "), plural(len(dead), "answers", "answer"))
		f.Fix = "check that the target answers ping from this node, or configure another one in verify.targets"
	default:
		f.Verdict = OK
		f.Reason = "held here; " + strings.Join(fine, ", ") + " " + plural(len(fine), "delivers", "deliver") + " it to this node"
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// otherMACs returns the distinct MACs of answers that are not ours.
func otherMACs(answers []net.HardwareAddr, ours net.HardwareAddr) []net.HardwareAddr {
	var out []net.HardwareAddr
	for _, m := range answers {
		if len(m) == 0 || bytes.Equal(m, ours) || containsMAC(out, m.String()) {
			continue
		}
		out = append(out, m)
	}
	return out
}

func containsMAC(ms []net.HardwareAddr, s string) bool {
	for _, m := range ms {
		if strings.EqualFold(m.String(), s) {
			return true
		}
	}
	return false
}

func macList(ms []net.HardwareAddr) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	switch len(s) {
	case 0:
		return "nobody"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
