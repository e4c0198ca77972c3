package kaconf

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// samplesDir is where Debian's keepalived package installs its sample
// configurations (dpkg -L keepalived | grep samples/).
const samplesDir = "/usr/share/doc/keepalived/samples"

// TestDebianSamples imports every sample configuration of Debian's
// keepalived package that has a vrrp_instance: the result must pass vipd
// check and hold every virtual address of the file. CI installs keepalived
// (.ci/run) and sets CI=true: there a missing samples directory fails.
func TestDebianSamples(t *testing.T) {
	ents, err := os.ReadDir(samplesDir)
	if err != nil || len(ents) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("keepalived's samples are missing in CI (%v): .ci/run installs keepalived", err)
		}
		t.Skipf("keepalived's samples are not installed (%v): apt-get install keepalived", err)
	}
	tested := 0
	for _, e := range ents {
		path := filepath.Join(samplesDir, e.Name())
		if e.IsDir() || !strings.HasPrefix(e.Name(), "keepalived.conf") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("vrrp_instance")) {
			continue
		}
		tested++
		t.Run(e.Name(), func(t *testing.T) {
			tree, err := Loader{}.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			res := Convert(tree, Options{Source: path})
			if res.Instances == 0 {
				t.Fatalf("no instance converted; notes:\n%v", res.Notes)
			}
			held := validate(t, res.YAML)
			want := sampleVIPs(tree.Nodes)
			if len(want) == 0 {
				t.Fatal("found no virtual address in the sample")
			}
			for a, where := range want {
				if !held[a] {
					t.Errorf("%s: virtual address %s is not in the converted configuration", where, a)
				}
			}
			t.Logf("%d instance(s), %d VIP(s), %d note(s)", res.Instances, len(want), len(res.Notes))
		})
	}
	if tested < 5 {
		t.Errorf("only %d samples with a vrrp_instance in %s; Debian's keepalived 2.2 ships 12", tested, samplesDir)
	}
}

// sampleVIPs returns every address in the virtual_ipaddress and
// virtual_ipaddress_excluded blocks of the vrrp_instances, with where it
// is.
func sampleVIPs(nodes []*Node) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for _, n := range nodes {
		if n.Keyword != "vrrp_instance" {
			continue
		}
		for _, b := range n.Children {
			if b.Keyword != "virtual_ipaddress" && b.Keyword != "virtual_ipaddress_excluded" {
				continue
			}
			for _, v := range b.Children {
				s, _, _ := strings.Cut(v.Keyword, "/")
				if a, err := netip.ParseAddr(s); err == nil {
					out[a] = v.Where()
				}
			}
		}
	}
	return out
}
