package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSysctls(t *testing.T) {
	dir := t.TempDir()
	if m, err := LoadSysctls(dir); err != nil || m != nil {
		t.Fatalf("empty dir: %v, %v", m, err)
	}
	want := map[string]string{"net/ipv4/conf/eth0/arp_ignore": "0", "net/ipv4/conf/eth0/arp_announce": "0"}
	if err := SaveSysctls(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSysctls(dir)
	if err != nil || len(got) != 2 || got["net/ipv4/conf/eth0/arp_ignore"] != "0" {
		t.Fatalf("loaded %v, %v", got, err)
	}
	old := bootID
	bootID = func() string { return "another-boot" }
	if m, err := LoadSysctls(dir); err != nil || m != nil {
		t.Errorf("a record of another boot: %v, %v", m, err)
	}
	bootID = old
	if err := SaveSysctls(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, sysctlsName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file left after saving nothing: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, sysctlsName), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := LoadSysctls(dir); !errors.As(err, &ce) {
		t.Errorf("corrupt file: %v", err)
	}
}
