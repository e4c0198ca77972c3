package vmac

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vipd/vipd/internal/sysctl"
)

// The sysctls of a parent that PrepareParent raises (see the package
// documentation), with the least value it needs.
var parentSysctls = []struct {
	key  string
	want int
}{
	{"arp_ignore", 1},
	{"arp_announce", 2},
}

// Restore is what PrepareParent changed on a parent: Restore puts it back.
type Restore struct {
	Parent string
	// Old maps a sysctl path (under /proc/sys) to the value it had.
	Old map[string]string
}

// PrepareParent raises arp_ignore to 1 and arp_announce to 2 on the
// parent ifname where they are lower, and returns what it changed. A
// value already stricter (arp_ignore 2, say) is left alone.
func PrepareParent(ifname string) (Restore, error) {
	r := Restore{Parent: ifname, Old: map[string]string{}}
	for _, s := range parentSysctls {
		path := filepath.Join("net/ipv4/conf", ifname, s.key)
		old, err := sysctl.Read(path)
		if err != nil {
			return r, fmt.Errorf("vmac: prepare %s: %w", ifname, err)
		}
		if n, err := strconv.Atoi(old); err == nil && n >= s.want {
			continue
		}
		if err := sysctl.Write(path, strconv.Itoa(s.want)); err != nil {
			return r, fmt.Errorf("vmac: prepare %s: %w", ifname, err)
		}
		r.Old[path] = old
	}
	return r, nil
}

// Restore writes back the values PrepareParent changed. A parent that is
// gone is nothing to restore.
func (r Restore) Restore() error {
	var errs []string
	for path, old := range r.Old {
		if err := sysctl.Write(path, old); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("vmac: restore the sysctls of %s: %s", r.Parent, strings.Join(errs, "; "))
	}
	return nil
}

// prepareLink sets the sysctls of a macvlan vipd created, before it is up.
func prepareLink(s Spec) error {
	for _, kv := range [][2]string{
		{"net/ipv4/conf/" + s.Name + "/arp_ignore", "1"},
		{"net/ipv4/conf/" + s.Name + "/arp_announce", "2"},
		{"net/ipv4/conf/" + s.Name + "/rp_filter", "0"},
		{"net/ipv4/conf/" + s.Name + "/accept_local", "1"},
		{"net/ipv4/conf/" + s.Name + "/promote_secondaries", "1"},
	} {
		if err := sysctl.Write(kv[0], kv[1]); err != nil {
			return err
		}
	}
	// No IPv6 address of its own (no DAD, no router solicitation from
	// the virtual MAC): an IPv6 instance gets the parent's link-local.
	// Without IPv6 in the kernel there is nothing to configure.
	err := sysctl.Write("net/ipv6/conf/"+s.Name+"/addr_gen_mode", "1")
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// StrictRPFilter reports whether net.ipv4.conf.all.rp_filter is 1: the
// kernel then drops what arrives on a macvlan whose route leaves by the
// parent, whatever the macvlan's own setting.
func StrictRPFilter() bool {
	v, err := sysctl.Read("net/ipv4/conf/all/rp_filter")
	return err == nil && v == "1"
}
