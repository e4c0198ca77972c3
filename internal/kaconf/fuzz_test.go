package kaconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/config"
)

// FuzzParse feeds the reader and the converter arbitrary text: neither may
// panic, and whatever the converter writes with at least one instance must
// pass vipd's configuration loader.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata", samplesDir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.conf*"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(string(data))
			}
		}
	}
	f.Add("vrrp_instance a { interface e virtual_router_id 1 virtual_ipaddress { 192.0.2.1 } }")
	f.Add("vrrp_instance \"x y\" {\n interface eth0\n virtual_router_id 9\n advert_int 0.001\n virtual_ipaddress {\n ::1\n 2001:db8::1/0\n }\n}\n")
	f.Fuzz(func(t *testing.T, in string) {
		tree, err := Parse("fuzz.conf", []byte(in))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.conf:") {
				t.Fatalf("error without a place: %v", err)
			}
			return
		}
		res := Convert(tree, Options{})
		if res.Instances == 0 {
			return
		}
		if _, err := (config.Options{Hostname: func() (string, error) { return "fuzz", nil }}).Parse(res.YAML); err != nil {
			t.Fatalf("converted configuration does not pass vipd check:\n%v\ninput:\n%s\noutput:\n%s", err, in, res.YAML)
		}
	})
}
