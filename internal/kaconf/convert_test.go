package kaconf

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// validate parses out as `vipd check` does and returns the VIPs of every
// instance.
func validate(t testing.TB, out []byte) map[netip.Addr]bool {
	t.Helper()
	cfg, err := config.Options{Hostname: func() (string, error) { return "test", nil }}.Parse(out)
	if err != nil {
		t.Fatalf("converted configuration does not pass vipd check:\n%v\n%s", err, out)
	}
	vips := map[netip.Addr]bool{}
	for _, in := range cfg.Instances {
		for _, p := range in.VIPs {
			vips[p.Addr()] = true
		}
	}
	return vips
}

// TestConvertGolden converts the hand-written configurations of testdata
// and compares the YAML and the notes with the .golden files (go test
// -update rewrites them).
func TestConvertGolden(t *testing.T) {
	for _, tc := range []struct {
		file      string
		id        string
		vmac      bool
		instances int
	}{
		{file: "v2-pass.conf", instances: 1},
		{file: "mixed.conf", instances: 4},
		{file: "mixed.conf", id: "backup", vmac: true, instances: 5},
		{file: "lvs-only.conf", instances: 0},
	} {
		name := strings.TrimSuffix(tc.file, ".conf")
		if tc.id != "" {
			name += "-id-" + tc.id
		}
		t.Run(name, func(t *testing.T) {
			tree, err := Loader{ID: tc.id}.Load(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			res := Convert(tree, Options{VirtualMAC: tc.vmac, Source: tc.file})
			if res.Instances != tc.instances {
				t.Errorf("%d instances, want %d", res.Instances, tc.instances)
			}
			switch {
			case res.Instances == 0:
			case tc.vmac && !VirtualMACSupported():
				// This vipd's config does not know virtual_mac yet.
				if !strings.Contains(string(res.YAML), "    virtual_mac: true\n") {
					t.Error("use_vmac did not become virtual_mac: true")
				}
				validate(t, []byte(strings.ReplaceAll(string(res.YAML), "    virtual_mac: true\n", "")))
			default:
				validate(t, res.YAML)
			}
			var got strings.Builder
			got.Write(res.YAML)
			got.WriteString("---- notes\n")
			for _, n := range res.Notes {
				got.WriteString(n.String() + "\n")
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, got.String())
			}
		})
	}
}

// TestEveryKeywordAccounted: every keyword of the v2-pass.conf sample is
// either converted (it shows in the YAML) or named by a note at its line.
func TestEveryKeywordAccounted(t *testing.T) {
	tree, err := Loader{}.Load(filepath.Join("testdata", "v2-pass.conf"))
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(tree, Options{})
	noted := map[int]bool{}
	for _, n := range res.Notes {
		noted[n.Line] = true
	}
	// Keywords whose conversion shows in the YAML, as the key or value it
	// became.
	converted := map[string]string{
		"vrrp_garp_master_repeat": "count: 3", "vrrp_garp_master_refresh": "refresh: 1m",
		"script": "target:", "interval": "interval:", "timeout": "timeout:", "weight": "weight:", "rise": "rise:", "fall": "fall:",
		"interface": "interface: eth0", "virtual_router_id": "vrid: 51", "priority": "priority: 150",
		"advert_int": "advert_interval:", "nopreempt": "preempt: false", "preempt_delay": "preempt_delay: 30s",
		"unicast_peer": "unicast_peers:", "192.0.2.12": "- 192.0.2.12", "2001:db8::12": "",
		"authentication": "auth_pass:", "auth_type": "auth_pass:", "auth_pass": "auth_pass:",
		"virtual_ipaddress": "vips:", "192.0.2.100/24": "192.0.2.100/24", "192.0.2.101/24": "192.0.2.101/24",
		"192.0.2.102": "192.0.2.102/32", "198.51.100.10/24": "198.51.100.10/24",
		"track_script": "checks:", "chk_nginx": "name: chk_nginx", "chk_port": "name: chk_port",
		"track_interface": "interface_eth1", "eth1": "interface_eth1", "eth2": "interface_eth2",
		"notify_master": "master:", "notify_backup": "backup:", "notify": "any:",
		"global_defs": "", "vrrp_script": "", "vrrp_instance": "# from", "group": "", "VI_web": "",
		"lb_algo": "", "real_server": "", "weight 1": "",
	}
	var walk func(ns []*Node)
	walk = func(ns []*Node) {
		for _, n := range ns {
			want, ok := converted[n.Keyword]
			if !noted[n.Line] && (!ok || !strings.Contains(string(res.YAML), want)) {
				t.Errorf("%s: %s is neither converted nor noted", n.Where(), n.Keyword)
			}
			walk(n.Children)
		}
	}
	walk(tree.Nodes)
}
