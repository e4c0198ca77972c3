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
		// the kernel has not reported yet may well be there: removed too
		// (Remove is idempotent), never forgotten while on the interface.
		switch {
		case s.state == stOurs && actual[pfx], s.state == stAdding:
			p.remove = append(p.remove, pfx)
		case s.state == stRemoving && actual[pfx] && now.Sub(s.at) >= confirmWait:
			p.remove = append(p.remove, pfx)
		case s.state == stRemoving && actual[pfx]:
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
			// Added, and released before the kernel's event for the add
			// reached the snapshot: absent from it proves nothing. Remove
			// it (idempotent); forgetting it would leave it on the
			// interface — and out of the ledger — for good.
			p.remove = append(p.remove, pfx)
		case stRemoving:
			switch {
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
