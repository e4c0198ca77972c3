package daemon

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"

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
		d.saveSysctls()
	}
	pp.users++
	spec := vmac.For(ifi, ic.VRID, ic.IPv6())
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
	pp := d.parents[in.ifi.Index]
	if pp == nil {
		return
	}
	if pp.users--; pp.users > 0 {
		return
	}
	delete(d.parents, in.ifi.Index)
	if err := pp.restore.Restore(); err != nil {
		d.log.Error("cannot restore the interface's sysctls", "iface", in.ifi.Name, "err", err)
		return // still recorded: the next start restores them
	}
	if len(pp.restore.Old) > 0 {
		d.log.Info("sysctls restored", "iface", in.ifi.Name)
	}
	d.saveSysctls()
}

// saveSysctls records in the state directory the original values of the
// sysctls changed for virtual MAC interfaces, so that the start after a
// crash restores them. Callers hold d.mu.
func (d *Daemon) saveSysctls() {
	dir := d.cfg.StateDir
	if dir == "" {
		return
	}
	old := map[string]string{}
	for _, pp := range d.parents {
		maps.Copy(old, pp.restore.Old)
	}
	if err := statedir.SaveSysctls(dir, old); err != nil {
		d.log.Error("cannot record the sysctls changed for virtual MAC interfaces; a restart after a crash would not restore them", "err", err)
	}
}

// restoreSysctlLeftovers puts back the sysctls an earlier run changed and
// did not restore (it was killed): the instances then change them again
// from their true values.
func (d *Daemon) restoreSysctlLeftovers() {
	dir := d.cfg.StateDir
	if dir == "" || d.env.VirtualMACs() == nil {
		return
	}
	old, err := statedir.LoadSysctls(dir)
	if err != nil {
		d.log.Error("cannot read the sysctls an earlier run changed", "err", err)
		return
	}
	if len(old) == 0 {
		return
	}
	if err := (vmac.Restore{Parent: "interfaces of an earlier run", Old: old}).Restore(); err != nil {
		d.log.Error("cannot restore the sysctls an earlier run changed", "err", err)
		return
	}
	d.log.Warn("restored the sysctls an earlier run changed and did not restore", "count", len(old))
	if err := statedir.SaveSysctls(dir, nil); err != nil {
		d.log.Error("cannot update the record of changed sysctls", "err", err)
	}
}

// removeVMACLeftovers deletes the virtual MAC interfaces an earlier run
// left (it crashed, or was killed): none is in use before the instances
// start, and their VIPs go with them.
func (d *Daemon) removeVMACLeftovers() map[string]bool {
	ops := d.env.VirtualMACs()
	if ops == nil {
		return nil
	}
	left, err := ops.Leftovers()
	if err != nil {
		d.log.Error("cannot look for virtual MAC interfaces left by an earlier run", "err", err)
		return nil
	}
	gone := map[string]bool{}
	for _, s := range left {
		if err := ops.Delete(s); err != nil {
			d.log.Error("cannot delete a virtual MAC interface left by an earlier run", "iface", s.Name, "err", err)
			continue
		}
		d.log.Warn("deleted a virtual MAC interface left by an earlier run", "iface", s.Name, "mac", s.MAC)
		gone[s.Name] = true
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
