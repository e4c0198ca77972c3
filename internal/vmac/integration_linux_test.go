package vmac

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/testutil"
)

// TestIntegrationLink creates, brings up and down, and deletes a virtual
// MAC interface in a namespace of its own, and prepares and restores the
// parent's sysctls.
func TestIntegrationLink(t *testing.T) {
	testutil.RequireRoot(t)
	ns := testutil.NewNS(t, "vmx")
	testutil.AddVeth(t, testutil.Veth{NS: ns, Name: "vmx0"}, testutil.Veth{NS: ns, Name: "vmx0p"})
	testutil.Run(t, "ip", "-n", ns, "link", "set", "vmx0", "up")
	testutil.Run(t, "ip", "-n", ns, "link", "set", "vmx0p", "up")
	sysctl := func(path string) string {
		return strings.TrimSpace(testutil.Run(t, "ip", "netns", "exec", ns, "cat", "/proc/sys/"+path))
	}
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.vmx0.arp_ignore=2", "net.ipv4.conf.vmx0.arp_announce=0")

	err := testutil.InNS(ns, func() error {
		parent, err := net.InterfaceByName("vmx0")
		if err != nil {
			return err
		}
		for _, v6 := range []bool{false, true} {
			s := For(parent, 42, v6)
			idx, err := Ensure(s)
			if err != nil {
				return err
			}
			ifi, err := net.InterfaceByIndex(idx)
			if err != nil || ifi.Name != s.Name || ifi.HardwareAddr.String() != s.MAC.String() || ifi.Flags&net.FlagUp != 0 {
				t.Errorf("%s: created %+v (%v), want it down with %s", s.Name, ifi, err, s.MAC)
			}
			if again, err := Ensure(s); err != nil || again != idx {
				t.Errorf("%s: Ensure again = %d, %v; want %d", s.Name, again, err, idx)
			}
			if err := SetUp(s, true); err != nil {
				return err
			}
			if ifi, _ := net.InterfaceByIndex(idx); ifi.Flags&net.FlagUp == 0 {
				t.Errorf("%s: not up", s.Name)
			}
			addrs, _ := ifi.Addrs()
			var lls int
			for _, a := range addrs {
				if ip := a.(*net.IPNet).IP; ip.IsLinkLocalUnicast() {
					lls++
				}
			}
			if want := map[bool]int{false: 0, true: 1}[v6]; lls != want {
				t.Errorf("%s: %d link-local addresses (%v), want %d (the parent's for IPv6)", s.Name, lls, addrs, want)
			}
			left, err := Leftovers()
			if err != nil || len(left) != 1 || left[0].Name != s.Name || left[0].Parent != parent.Index {
				t.Errorf("Leftovers = %+v, %v", left, err)
			}
			if err := Delete(s); err != nil {
				return err
			}
			if _, err := net.InterfaceByName(s.Name); err == nil {
				t.Errorf("%s: still there after Delete", s.Name)
			}
			if err := Delete(s); err != nil {
				t.Errorf("Delete of a missing link: %v", err)
			}
		}
		// A link of the name that is not ours is left alone.
		s := For(parent, 7, false)
		testutil.Run(t, "ip", "-n", ns, "link", "add", s.Name, "type", "veth", "peer", "name", "vmx7p")
		if _, err := Ensure(s); !errors.Is(err, ErrNotOurs) {
			t.Errorf("Ensure over a veth: %v, want ErrNotOurs", err)
		}
		if err := Delete(s); !errors.Is(err, ErrNotOurs) {
			t.Errorf("Delete of a veth: %v, want ErrNotOurs", err)
		}
		if left, _ := Leftovers(); len(left) != 0 {
			t.Errorf("Leftovers counts a veth: %+v", left)
		}

		r, err := PrepareParent("vmx0")
		if err != nil {
			return err
		}
		if got := sysctl("net/ipv4/conf/vmx0/arp_ignore"); got != "2" {
			t.Errorf("arp_ignore %s: a stricter value was changed", got)
		}
		if got := sysctl("net/ipv4/conf/vmx0/arp_announce"); got != "2" {
			t.Errorf("arp_announce %s, want 2", got)
		}
		if len(r.Old) != 1 {
			t.Errorf("changed %v, want arp_announce only", r.Old)
		}
		if err := r.Restore(); err != nil {
			return err
		}
		if got := sysctl("net/ipv4/conf/vmx0/arp_announce"); got != "0" {
			t.Errorf("arp_announce %s after Restore, want 0", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
