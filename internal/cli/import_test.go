package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImport: vipd import writes vipd's YAML to stdout and the notes to
// stderr; the output passes vipd check; exit 0 with an instance, 1 without.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	ka := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(ka, []byte(`vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.100 80 {
    lb_algo rr
}
`), 0o644)
	code, stdout, stderr := runCLI(t, "import", ka)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"# from " + ka + ":1 vrrp_instance VI_1", "version: 2", `auth_pass: s3cret`, "- 192.0.2.100/24"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{ka + ":2: state: not supported (", ka + ":14: virtual_server: LVS is out of scope", "1 instance(s) converted"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	out := filepath.Join(dir, "vipd.yaml")
	os.WriteFile(out, []byte("node: a\n"+stdout), 0o644)
	if code, stdout, stderr := runCLI(t, "check", "-c", out); code != 0 {
		t.Errorf("vipd check of the import: exit %d\n%s%s", code, stdout, stderr)
	}

	lvs := filepath.Join(dir, "lvs.conf")
	os.WriteFile(lvs, []byte("virtual_server 192.0.2.100 80 {\n}\n"), 0o644)
	code, stdout, stderr = runCLI(t, "import", lvs)
	if code != 1 || !strings.Contains(stderr, "no vrrp_instance converted") || strings.Contains(stdout, "instances:\n  -") {
		t.Errorf("LVS only: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "import", filepath.Join(dir, "absent.conf"))
	if code != 1 || !strings.Contains(stderr, "absent.conf: no such file") {
		t.Errorf("missing file: exit %d: %s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("vrrp_instance x {\n"), 0o644)
	code, _, stderr = runCLI(t, "import", bad)
	if code != 1 || !strings.Contains(stderr, "bad.conf:1: block of vrrp_instance is not closed") {
		t.Errorf("syntax error: exit %d: %s", code, stderr)
	}
}
