package present

import (
	"net/netip"
	"time"
)

// vipState is what the Presenter knows of one VIP on its interface.
//
//	absent ──add ok──▶ adding ──kernel reports it──▶ ours
//	  ▲                  │ not reported in confirmWait: add again
//	  │                  ▼
//	  └── gone ◀── removing ◀──remove ok── ours / adding
//	                 │ still reported after confirmWait: remove again
//
// ours and then not reported by the kernel, while held: removed behind our
// back (restore). Reported while absent and never added: not ours
// (unexpected).
type vipState uint8

const (
	stAbsent vipState = iota
	stAdding
	stOurs
	stRemoving
)

func (s vipState) String() string {
	switch s {
	case stAbsent:
		return "absent"
	case stAdding:
		return "adding"
	case stOurs:
		return "ours"
	case stRemoving:
		return "removing"
	}
	return "?"
}

// confirmWait is how long an add or remove may go unreported by the
// kernel's events before it is done again (idempotent either way).
const confirmWait = 2 * time.Second

type vip struct {
	state vipState
	at    time.Time // when state was entered (adding, removing)
	// unexpected: reported as present while not ours.
	unexpected bool
	// recorded: in the ledger of added addresses.
	recorded bool
	// unreported: removing an add the kernel had not reported. Its
	// events may still be on their way, so not seeing the address is no
	// proof that it is gone until confirmWait has passed.
	unreported bool
}

// plan is what one reconciliation does, decided by decide from the
// desired state, the VIPs' states and the kernel's addresses.
type plan struct {
	add      []netip.Prefix // to add (ours from then on)
	restored []netip.Prefix // of add: removed behind our back
	remove   []netip.Prefix // ours, to remove
	adopt    []netip.Prefix // present already when a takeover wants them
	// unexpected: present, not ours, not wanted; newly seen.
	unexpected []netip.Prefix
	// confirmed: adds the kernel has now reported.
	confirmed []netip.Prefix
	// gone: removes the kernel has now reported (or never needed).
	gone []netip.Prefix
	// wake is when a pending add or remove must be looked at again.
	wake time.Time
}

// decide compares the desired state with the actual one. vips are the
// configured VIPs; held says whether they should be present; extra are
// VIPs no longer configured whose state is still tracked (to remove what is
// ours). It does not change states: apply does, once the actions ran.
func decide(now time.Time, held, linkUp bool, vips []netip.Prefix, states map[netip.Prefix]*vip, actual map[netip.Prefix]bool) plan {
	var p plan
	soon := func(t time.Time) {
		if p.wake.IsZero() || t.Before(p.wake) {
			p.wake = t
		}
	}
	wanted := make(map[netip.Prefix]bool, len(vips))
	for _, v := range vips {
		wanted[v] = true
	}
	for pfx, s := range states {
		if wanted[pfx] {
			continue
		}
		// No longer configured: remove if ours, forget otherwise. An add
		// the kernel has not reported yet is removed all the same (see
		// below).
		switch {
		case s.state == stAdding || (s.state == stOurs && actual[pfx]):
			p.remove = append(p.remove, pfx)
		case s.state == stRemoving && actual[pfx] && now.Sub(s.at) >= confirmWait:
			p.remove = append(p.remove, pfx)
		case s.state == stRemoving && (actual[pfx] || s.unreported && now.Sub(s.at) < confirmWait):
			soon(s.at.Add(confirmWait))
		default:
			p.gone = append(p.gone, pfx)
		}
	}
	for _, pfx := range vips {
		s := states[pfx]
		if s == nil {
			s = &vip{}
		}
		a := actual[pfx]
		if held {
			switch s.state {
			case stAbsent, stRemoving:
				if a && s.state == stAbsent {
					p.adopt = append(p.adopt, pfx)
				} else {
					p.add = append(p.add, pfx)
				}
			case stAdding:
				switch {
				case a:
					p.confirmed = append(p.confirmed, pfx)
				case now.Sub(s.at) >= confirmWait && linkUp:
					p.add = append(p.add, pfx)
				default:
					soon(s.at.Add(confirmWait))
				}
			case stOurs:
				if !a && linkUp {
					// An `ip addr del`, a network manager's flush. With
					// the link down the instance is about to go to Fault
					// (and IPv6 addresses are flushed on admin down).
					p.add = append(p.add, pfx)
					p.restored = append(p.restored, pfx)
				}
			}
			continue
		}
		switch s.state {
		case stOurs:
			if a {
				p.remove = append(p.remove, pfx)
			} else {
				p.gone = append(p.gone, pfx)
			}
		case stAdding:
			// The add succeeded but its event may not be in yet: not
			// reported is no proof of absence. Remove it (removing an
			// absent address is no error); else it shows up a moment
			// later as present on a backup, not ours, and stays.
			p.remove = append(p.remove, pfx)
		case stRemoving:
			switch {
			case !a && s.unreported && now.Sub(s.at) < confirmWait:
				soon(s.at.Add(confirmWait))
			case !a:
				p.gone = append(p.gone, pfx)
			case now.Sub(s.at) >= confirmWait:
				p.remove = append(p.remove, pfx)
			default:
				soon(s.at.Add(confirmWait))
			}
		case stAbsent:
			if a && !s.unexpected {
				p.unexpected = append(p.unexpected, pfx)
			}
		}
	}
	return p
}
