package testutil

import (
	"bytes"
	"net"
	"os"
	"strings"
	"testing"
)

// TestIntegrationNamespace checks the scaffolding itself: NewNS makes a
// namespace with loopback up, AddVeth joins two, InNS runs code inside one,
// and the namespaces are gone once the test that made them ends.
func TestIntegrationNamespace(t *testing.T) {
	RequireRoot(t)
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var a, b string
	t.Run("inside", func(t *testing.T) {
		a, b = NewNS(t, "testutil"), NewNS(t, "testutil")
		if a == b || !strings.HasPrefix(a, "vt-testutil-") {
			t.Fatalf("names %q and %q", a, b)
		}
		mac := net.HardwareAddr{2, 0, 0, 0, 0, 0x21}
		AddVeth(t, Veth{NS: a, Name: "ta", MAC: mac}, Veth{NS: b, Name: "tb"})
		err := InNS(a, func() error {
			inside, err := os.Readlink("/proc/thread-self/ns/net")
			if err != nil {
				return err
			}
			if inside == hostNS {
				t.Errorf("InNS ran in the host's namespace %s", inside)
			}
			lo, err := net.InterfaceByName("lo")
			if err != nil {
				return err
			}
			if lo.Flags&net.FlagUp == 0 {
				t.Errorf("lo is down in %s", a)
			}
			ta, err := net.InterfaceByName("ta")
			if err != nil {
				return err
			}
			if !bytes.Equal(ta.HardwareAddr, mac) {
				t.Errorf("ta has MAC %v, want %v", ta.HardwareAddr, mac)
			}
			if _, err := net.InterfaceByName("tb"); err == nil {
				t.Errorf("tb is in %s, want it in %s", a, b)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := InNS(b, func() error { _, err := net.InterfaceByName("tb"); return err }); err != nil {
			t.Errorf("tb in %s: %v", b, err)
		}
	})
	if after, err := os.Readlink("/proc/thread-self/ns/net"); err != nil || after != hostNS {
		t.Errorf("test thread in namespace %s (%v) after InNS, want %s", after, err, hostNS)
	}
	list := Run(t, "ip", "netns", "list")
	for _, ns := range []string{a, b} {
		if ns == "" || strings.Contains(list, ns) {
			t.Errorf("namespace %q left behind:\n%s", ns, list)
		}
	}
	if err := InNS("vt-testutil-nosuch", func() error { return nil }); err == nil {
		t.Error("InNS entered a namespace that does not exist")
	}
}
