package statedir

import (
	"net/netip"
	"testing"
)

// One call is one write, however many prefixes; a call that changes
// nothing does not write.
func TestLedgerOneWritePerCall(t *testing.T) {
	l, err := OpenLedger(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	vips := make([]netip.Prefix, 4096)
	for i := range vips {
		vips[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 24)
	}
	steps := []struct {
		what   string
		do     func() error
		writes int
	}{
		{"Record 4096", func() error { return l.Record("web", "eth0", 2, vips) }, 1},
		{"Record again", func() error { return l.Record("web", "eth0", 2, vips) }, 1},
		{"Record none", func() error { return l.Record("web", "eth0", 2, nil) }, 1},
		{"Forget half", func() error { return l.Forget("web", 2, vips[:2048]) }, 2},
		{"Forget them again", func() error { return l.Forget("web", 2, vips[:2048]) }, 2},
		{"Forget unknown instance", func() error { return l.Forget("db", 2, vips) }, 2},
		{"ForgetInstance", func() error { return l.ForgetInstance("web") }, 3},
		{"ForgetInstance again", func() error { return l.ForgetInstance("web") }, 3},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if l.writes != s.writes {
			t.Fatalf("after %s: %d writes, want %d", s.what, l.writes, s.writes)
		}
	}
}
