package daemon

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/present"
	"github.com/vipd/vipd/internal/statedir"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/vmac"
)

// VirtualMACs is what virtual_mac needs from the operating system
// (package vmac on Linux). Env.VirtualMACs returns nil where there is
// none: an instance with virtual_mac then fails to start.
type VirtualMACs interface {
	Ensure(s vmac.Spec) (int, error)
	SetUp(s vmac.Spec, up bool) error
	Delete(s vmac.Spec) error
	// Leftovers are the virtual MAC interfaces in the namespace.
	Leftovers() ([]vmac.Spec, error)
	// PrepareParent sets a parent's sysctls (see package vmac).
	PrepareParent(ifname string) (vmac.Restore, error)
	// OpenWriter opens a send-only VRRP socket on the interface name.
	OpenWriter(name string, ipv6 bool) (transport.Writer, error)
}

// vlink is an instance's virtual MAC interface as its Presenter sees it:
// the kernel's view from netmon's events, the changes through ops.
type vlink struct {
	spec vmac.Spec
	k    Kernel
	ops  VirtualMACs
}

var _ present.VirtualLink = (*vlink)(nil)

func (l *vlink) State() (int, bool, bool) {
	lk, ok := l.k.Link(l.spec.Name)
	return lk.Index, ok, lk.Up
}
func (l *vlink) Ensure() (int, error)  { return l.ops.Ensure(l.spec) }
func (l *vlink) SetUp(up bool) error   { return l.ops.SetUp(l.spec, up) }
func (l *vlink) Delete() error         { return l.ops.Delete(l.spec) }
func (l *vlink) Name() string          { return l.spec.Name }
func (l *vlink) MAC() net.HardwareAddr { return l.spec.MAC }

// parentPrep is what the daemon changed on a parent of virtual MAC
// interfaces, restored when its last instance with virtual_mac stops.
type parentPrep struct {
	restore vmac.Restore
	users   int
}

// attachVMAC prepares an instance's virtual MAC: the parent's sysctls
// (shared by the instances on it) and the link its Presenter owns.
// Callers hold d.mu.
func (d *Daemon) attachVMAC(ic config.Instance, ifi *net.Interface, in *instance) (*vlink, error) {
	ops := d.env.VirtualMACs()
	if ops == nil {
		return nil, fmt.Errorf("daemon: instance %s: virtual_mac: %w", ic.Name, errors.ErrUnsupported)
	}
	pp := d.parents[ifi.Index]
	if pp == nil {
		r, err := ops.PrepareParent(ifi.Name)
		if err != nil {
			if rerr := r.Restore(); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return nil, fmt.Errorf("daemon: instance %s: virtual_mac: %w", ic.Name, err)
		}
		if len(r.Old) > 0 {
			d.log.Info("sysctls set for virtual MAC interfaces; restored when vipd stops", "iface", ifi.Name, "changed", len(r.Old))
		}
		pp = &parentPrep{restore: r}
		d.parents[ifi.Index] = pp
	}
	pp.users++
	spec := vmac.For(ifi, ic.VRID, ic.IPv6())
	// Recorded before the Presenter may create it: a crash leaves it to
	// the next start to remove.
	d.vmacLinks[spec.Name] = spec
	d.saveVMAC()
	if !ic.VMACXmitBase {
		in.vtx = &vmacSender{name: spec.Name, ipv6: ic.IPv6(), open: ops.OpenWriter}
	}
	return &vlink{spec: spec, k: d.kernel, ops: ops}, nil
}

// detachVMAC restores the parent's sysctls once no instance with
// virtual_mac uses it. Callers hold d.mu.
func (d *Daemon) detachVMAC(in *instance) {
	if !in.cfg.VirtualMAC {
		return
	}
	if in.vtx != nil {
		in.vtx.close()
	}
	// The Presenter deleted the interface as it closed.
	delete(d.vmacLinks, vmac.Name(in.cfg.VRID, in.cfg.IPv6()))
	defer d.saveVMAC()
	pp := d.parents[in.ifi.Index]
	if pp == nil {
		return
	}
	if pp.users--; pp.users > 0 {
		return
	}
	delete(d.parents, in.ifi.Index)
	if err := pp.restore.Restore(); err != nil {
		d.log.Error("cannot restore the interface's sysctls; the next start tries again", "iface", in.ifi.Name, "err", err)
		d.unrestored = append(d.unrestored, pp.restore)
		return
	}
	if len(pp.restore.Old) > 0 {
		d.log.Info("sysctls restored", "iface", in.ifi.Name)
	}
}

// saveVMAC records in the state directory the virtual MAC interfaces the
// instances may create and the original values of the sysctls changed for
// them, so that the start after a crash removes and restores them.
// Callers hold d.mu.
func (d *Daemon) saveVMAC() {
	dir := d.cfg.StateDir
	if dir == "" {
		return
	}
	var r statedir.VMACRecord
	for _, s := range d.vmacLinks {
		r.Links = append(r.Links, statedir.VMACLink{Name: s.Name, MAC: s.MAC.String()})
	}
	slices.SortFunc(r.Links, func(a, b statedir.VMACLink) int { return strings.Compare(a.Name, b.Name) })
	r.Sysctls = map[string]string{}
	for _, rs := range d.unrestored {
		maps.Copy(r.Sysctls, rs.Old)
	}
	for _, pp := range d.parents {
		maps.Copy(r.Sysctls, pp.restore.Old)
	}
	if err := statedir.SaveVMAC(dir, r); err != nil {
		d.log.Error("cannot record the virtual MAC interfaces and the sysctls changed for them; a restart after a crash would not undo them", "err", err)
	}
}

// undoVMACLeftovers removes the virtual MAC interfaces an earlier run
// recorded and left (it was killed: none is in use before the instances
// start, and their VIPs go with them) and restores the sysctls it changed.
// It returns the names of the interfaces removed.
func (d *Daemon) undoVMACLeftovers() map[string]bool {
	ops, dir := d.env.VirtualMACs(), d.cfg.StateDir
	if ops == nil || dir == "" {
		return nil
	}
	rec, err := statedir.LoadVMAC(dir)
	if err != nil {
		d.log.Error("cannot read what an earlier run changed for virtual MAC interfaces", "err", err)
		return nil
	}
	if rec.Empty() {
		return nil
	}
	recorded := map[string]string{}
	for _, l := range rec.Links {
		recorded[l.Name] = l.MAC
	}
	left, err := ops.Leftovers()
	if err != nil {
		d.log.Error("cannot look for virtual MAC interfaces left by an earlier run", "err", err)
	}
	gone := map[string]bool{}
	for _, s := range left {
		if recorded[s.Name] != s.MAC.String() {
			continue // not recorded by vipd: not touched
		}
		if err := ops.Delete(s); err != nil {
			d.log.Error("cannot delete a virtual MAC interface left by an earlier run", "iface", s.Name, "err", err)
			continue
		}
		d.log.Warn("deleted a virtual MAC interface left by an earlier run", "iface", s.Name, "mac", s.MAC.String())
		gone[s.Name] = true
	}
	if len(rec.Sysctls) > 0 {
		if err := (vmac.Restore{Parent: "interfaces of an earlier run", Old: rec.Sysctls}).Restore(); err != nil {
			d.log.Error("cannot restore the sysctls an earlier run changed", "err", err)
		} else {
			d.log.Warn("restored the sysctls an earlier run changed and did not restore", "count", len(rec.Sysctls))
		}
	}
	if err := statedir.SaveVMAC(dir, statedir.VMACRecord{}); err != nil {
		d.log.Error("cannot update the record of virtual MAC interfaces", "err", err)
	}
	return gone
}

// vmacSender sends a master's adverts from its virtual MAC interface
// (RFC 5798 §7.2). It is used on the instance's goroutine only. The
// socket is opened on first use and again after a failure (the interface
// was down, or deleted and created again).
type vmacSender struct {
	name string
	ipv6 bool
	open func(name string, ipv6 bool) (transport.Writer, error)
	w    transport.Writer
	// fallbacks counts adverts sent from the interface's own MAC because
	// the virtual MAC interface was not ready (the first ones of a
	// takeover, while the Presenter brings it up).
	fallbacks uint64
}

func (s *vmacSender) writeTo(b []byte, src, dst netip.Addr) error {
	if s.w == nil {
		w, err := s.open(s.name, s.ipv6)
		if err != nil {
			return err
		}
		s.w = w
	}
	err := s.w.WriteTo(b, src, dst)
	if err != nil {
		s.close()
	}
	return err
}

func (s *vmacSender) close() {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
}
