package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestVMACRecord(t *testing.T) {
	dir := t.TempDir()
	if r, err := LoadVMAC(dir); err != nil || !r.Empty() {
		t.Fatalf("empty dir: %+v, %v", r, err)
	}
	want := VMACRecord{
		Links:   []VMACLink{{Name: "vrrp4-42", MAC: "00:00:5e:00:01:2a"}},
		Sysctls: map[string]string{"net/ipv4/conf/eth0/arp_ignore": "0", "net/ipv4/conf/eth0/arp_announce": "0"},
	}
	if err := SaveVMAC(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadVMAC(dir)
	if err != nil || len(got.Links) != 1 || got.Links[0] != want.Links[0] || got.Sysctls["net/ipv4/conf/eth0/arp_ignore"] != "0" {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	old := bootID
	bootID = func() string { return "another-boot" }
	if r, err := LoadVMAC(dir); err != nil || !r.Empty() {
		t.Errorf("a record of another boot: %+v, %v", r, err)
	}
	bootID = old
	if err := SaveVMAC(dir, VMACRecord{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, vmacName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file left after saving nothing: %v", err)
	}
	var ce *CorruptError
	for _, bad := range []string{"{", `{"links":[{"name":""}]}`, "[1]"} {
		if err := os.WriteFile(filepath.Join(dir, vmacName), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadVMAC(dir); !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a CorruptError", bad, err)
		}
	}
}
