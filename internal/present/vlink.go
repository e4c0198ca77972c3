package present

import "net/netip"

// The virtual MAC interface (Deps.VMAC), owned by the Presenter like the
// VIPs on it: present and up while held, down otherwise (a backup never
// answers for the VIPs), deleted on Close, created again if deleted
// behind vipd's back while held.

// syncLink brings the virtual MAC interface to the desired state before
// the VIPs are reconciled. While held it creates the interface if missing
// and brings it up; if it cannot, the add fails (AddFailed: the instance
// resigns and retries). Otherwise it brings it down first: one netlink
// call stops the node answering for every VIP at once, the removes follow.
func (p *L2) syncLink(w desired) {
	vm := p.deps.VMAC
	if vm == nil {
		return
	}
	idx, exists, up := vm.State()
	known := int(p.link.Load())
	if exists && idx == known && known != 0 {
		p.linkSeen = true
	}
	if !w.held {
		if !exists && !w.closing {
			// A backup has it ready, down: a takeover only brings it up.
			if err := p.ensureLink(known); err != nil {
				if !p.linkErr {
					p.log.Error("cannot create the virtual MAC interface; retrying on takeover", "vmac_iface", vm.Name(), "err", err)
				}
				p.linkErr = true
				return
			}
			p.linkErr = false
			return
		}
		if (p.linkUp || (exists && up)) && known != 0 {
			if err := vm.SetUp(false); err != nil {
				p.log.Error("cannot bring the virtual MAC interface down; retrying", "vmac_iface", vm.Name(), "err", err)
				return
			}
			p.log.Info("virtual MAC interface down", "vmac_iface", vm.Name())
			p.linkUp = false
		}
		return
	}
	if p.addFailed == w.takeover {
		return
	}
	fail := func(what string, err error) {
		p.addFailed = w.takeover
		p.deps.Announcer.Cancel(p.cfg.Instance)
		p.log.Error("cannot "+what+" the virtual MAC interface", "vmac_iface", vm.Name(), "err", err)
		p.deps.Report(AddFailed{Err: err})
	}
	if !exists || idx != known {
		if err := p.ensureLink(known); err != nil {
			fail("create", err)
			return
		}
	}
	if !p.linkUp || (exists && !up) {
		err := vm.SetUp(true)
		if err != nil {
			// Deleted since the kernel last reported it: create it again.
			if err = p.ensureLink(int(p.link.Load())); err == nil {
				err = vm.SetUp(true)
			}
		}
		if err != nil {
			fail("bring up", err)
			return
		}
		p.linkUp = true
	}
}

// ensureLink creates the virtual MAC interface if it is missing and
// notes its index; known is the index it had.
func (p *L2) ensureLink(known int) error {
	vm := p.deps.VMAC
	n, err := vm.Ensure()
	if err != nil {
		return err
	}
	if n == known {
		return nil
	}
	if known != 0 {
		if p.linkSeen {
			p.log.Warn("virtual MAC interface deleted behind vipd's back; created again", "vmac_iface", vm.Name())
		}
		p.moveLink(known)
	} else {
		p.log.Info("virtual MAC interface ready", "vmac_iface", vm.Name(), "mac", vm.MAC().String())
	}
	p.link.Store(int64(n))
	p.linkSeen, p.linkUp = false, false
	return nil
}

// linkBeforeAdd makes sure, before VIPs are added, that the virtual MAC
// interface the kernel last reported is still there: one deleted by hand
// takes its addresses with it, and the kernel may report the addresses
// gone before the link. It is created again and brought up if not.
func (p *L2) linkBeforeAdd() error {
	vm := p.deps.VMAC
	if vm == nil {
		return nil
	}
	old := int(p.link.Load())
	if err := p.ensureLink(old); err != nil {
		return err
	}
	if int(p.link.Load()) == old && p.linkUp {
		return nil
	}
	if err := vm.SetUp(true); err != nil {
		return err
	}
	p.linkUp = true
	return nil
}

// moveLink forgets the ledger's record of VIPs on the interface's old
// index old: they went with it, and are recorded again on the new one as
// they are added there.
func (p *L2) moveLink(old int) {
	var vips []netip.Prefix
	for pfx, s := range p.states {
		if s.recorded {
			vips = append(vips, pfx)
			s.recorded = false
		}
	}
	if len(vips) > 0 && p.deps.Ledger != nil {
		if err := p.deps.Ledger.Forget(p.cfg.Instance, old, vips); err != nil {
			p.log.Error("cannot update the record of added VIPs in the state directory", "err", err)
		}
	}
}

// closeLink deletes the virtual MAC interface as the Presenter stops.
func (p *L2) closeLink() {
	vm := p.deps.VMAC
	if vm == nil {
		return
	}
	if err := vm.Delete(); err != nil {
		p.log.Error("cannot delete the virtual MAC interface", "vmac_iface", vm.Name(), "err", err)
		return
	}
	p.link.Store(0)
	p.log.Info("virtual MAC interface deleted", "vmac_iface", vm.Name())
}
