package sysctl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReadWrite(t *testing.T) {
	old := Root
	Root = t.TempDir()
	t.Cleanup(func() { Root = old })
	dir := filepath.Join(Root, "net/ipv4/conf/eth0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "arp_ignore"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := Read("net/ipv4/conf/eth0/arp_ignore"); err != nil || v != "0" {
		t.Fatalf("Read = %q, %v", v, err)
	}
	if err := Write("net/ipv4/conf/eth0/arp_ignore", "1"); err != nil {
		t.Fatal(err)
	}
	if v, _ := Read("net/ipv4/conf/eth0/arp_ignore"); v != "1" {
		t.Errorf("after Write: %q", v)
	}
	if err := Write("net/ipv4/conf/eth1/arp_ignore", "1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing sysctl: %v", err)
	}
}
