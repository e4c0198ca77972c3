package vipaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/vipd/vipd/internal/sysctl"
)

func TestCheckPrefixes(t *testing.T) {
	tests := []struct {
		prefix netip.Prefix
		ok     bool
	}{
		{netip.MustParsePrefix("192.0.2.100/24"), true},
		{netip.MustParsePrefix("192.0.2.100/32"), true},
		{netip.MustParsePrefix("2001:db8::100/64"), true},
		{netip.MustParsePrefix("2001:db8::100/128"), true},
		{netip.Prefix{}, false},
		{netip.MustParsePrefix("0.0.0.0/0"), false},
		{netip.MustParsePrefix("::/0"), false},
		{netip.MustParsePrefix("224.0.0.18/32"), false},
		{netip.MustParsePrefix("ff02::12/128"), false},
		{netip.MustParsePrefix("::ffff:192.0.2.1/128"), false},
		// Link-local VIPs are allowed: IPv6 virtual routers advertise one.
		{netip.MustParsePrefix("fe80::1/64"), true},
	}
	for _, tt := range tests {
		t.Run(tt.prefix.String(), func(t *testing.T) {
			err := CheckPrefixes([]netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), tt.prefix})
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidPrefix)) {
				t.Errorf("CheckPrefixes = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRemoveOrder(t *testing.T) {
	p := netip.MustParsePrefix
	a, b, c, d := p("192.0.2.1/24"), p("192.0.2.2/24"), p("192.0.2.3/24"), p("198.51.100.1/32")
	tests := []struct {
		name      string
		vips      []netip.Prefix
		secondary map[netip.Prefix]bool
		want      []netip.Prefix
	}{
		{"no flags: reversed", []netip.Prefix{a, b, c, d}, nil, []netip.Prefix{d, c, b, a}},
		{"secondaries first", []netip.Prefix{a, b, c, d}, map[netip.Prefix]bool{b: true, c: true}, []netip.Prefix{c, b, d, a}},
		// The caller listed the primary last; flags still put it last.
		{"primary listed last", []netip.Prefix{c, b, a}, map[netip.Prefix]bool{b: true, c: true}, []netip.Prefix{b, c, a}},
		{"empty", nil, nil, []netip.Prefix{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := removeOrder(tt.vips, tt.secondary); !slices.Equal(got, tt.want) {
				t.Errorf("removeOrder = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsPermission(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{opError("add", netip.MustParsePrefix("192.0.2.100/24"), "eth0", syscall.EPERM), true},
		{fmt.Errorf("x: %w", syscall.EACCES), true},
		{opError("add", netip.MustParsePrefix("2001:db8::1/64"), "eth0", fmt.Errorf("%w (%v)", ErrIPv6Disabled, syscall.EACCES)), false},
		{syscall.EEXIST, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsPermission(tt.err); got != tt.want {
			t.Errorf("IsPermission(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	err := opError("add", netip.MustParsePrefix("192.0.2.100/24"), "eth0", syscall.EPERM)
	if want := "vipaddr: add 192.0.2.100/24 on eth0: operation not permitted"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestPrepareInterface(t *testing.T) {
	dir := t.TempDir()
	old := sysctl.Root
	sysctl.Root = dir
	t.Cleanup(func() { sysctl.Root = old })
	conf := filepath.Join(dir, "net/ipv4/conf/eth0")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(conf, "promote_secondaries")
	if err := os.WriteFile(file, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := PrepareInterface("eth0"); err != nil {
		t.Fatalf("PrepareInterface: %v", err)
	}
	// A plain file keeps the old tail ("1\n"); a sysctl takes the value.
	if b, _ := os.ReadFile(file); len(b) == 0 || b[0] != '1' {
		t.Errorf("promote_secondaries = %q, want 1", b)
	}
	// A missing interface has no sysctl directory.
	if err := PrepareInterface("eth1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PrepareInterface(eth1) = %v, want ErrNotExist", err)
	}
	for _, bad := range []string{"", ".", "..", "../../x", "a/b", "eth0 ", "abcdefghijklmnop"} {
		if err := PrepareInterface(bad); !errors.Is(err, ErrInterfaceName) {
			t.Errorf("PrepareInterface(%q) = %v, want ErrInterfaceName", bad, err)
		}
	}
}
