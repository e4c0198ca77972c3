package vmac

import (
	"net"
	"testing"
)

func TestMACAndName(t *testing.T) {
	for _, tt := range []struct {
		vrid uint8
		v6   bool
		mac  string
		name string
	}{
		{1, false, "00:00:5e:00:01:01", "vrrp4-1"},
		{42, false, "00:00:5e:00:01:2a", "vrrp4-42"},
		{255, true, "00:00:5e:00:02:ff", "vrrp6-255"},
	} {
		if got := MAC(tt.vrid, tt.v6).String(); got != tt.mac {
			t.Errorf("MAC(%d, %v) = %s, want %s", tt.vrid, tt.v6, got, tt.mac)
		}
		name := Name(tt.vrid, tt.v6)
		if name != tt.name || len(name) >= 16 {
			t.Errorf("Name(%d, %v) = %q, want %q", tt.vrid, tt.v6, name, tt.name)
		}
		vrid, v6, ok := ParseName(name)
		if !ok || vrid != tt.vrid || v6 != tt.v6 {
			t.Errorf("ParseName(%q) = %d %v %v", name, vrid, v6, ok)
		}
	}
	for _, bad := range []string{"", "vrrp4-", "vrrp4-0", "vrrp4-256", "vrrp4-042", "vrrp5-1", "vrrp.42", "vrrp4-1x", "eth0"} {
		if _, _, ok := ParseName(bad); ok {
			t.Errorf("ParseName(%q) accepted", bad)
		}
	}
	s := For(&net.Interface{Index: 3, Name: "eth0"}, 7, true)
	if s.Name != "vrrp6-7" || s.MAC.String() != "00:00:5e:00:02:07" || s.Parent != 3 || !s.IPv6 {
		t.Errorf("For: %+v", s)
	}
}
