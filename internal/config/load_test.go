package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("node: a\n"+base), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("node: a\n"+base+"    vrid: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(good)
	if err != nil || cfg.Node != "a" || len(cfg.Instances) != 1 {
		t.Fatalf("Load(good) = %+v, %v", cfg, err)
	}

	_, err = Load(bad)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("Load(bad) error %v is not one Errors", err)
	}
	if want := "config: " + bad + ": line 8: instances[0].vrid: duplicate key"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load(bad) = %q, want prefix %q", err, want)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "config: "+dir) {
		t.Errorf("Load(missing) = %v", err)
	}

	_, err = Load(dir)
	if err == nil || !strings.HasPrefix(err.Error(), "config: "+dir+": ") {
		t.Errorf("Load(directory) = %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk, but reads as MaxFileSize+1 zero bytes.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(path); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Load(huge) = %v, want ErrTooLarge", err)
	}
	_, err = Parse(make([]byte, MaxFileSize+1))
	checkErrors(t, err, []wantErr{{1, "file too large"}})
}

func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"vipd.yaml": false, "ipv6.yaml": false, "bgp.yaml": false}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := testOpts.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			want[filepath.Base(f)] = true
			checkConfig(t, cfg)
		})
	}
	for f, seen := range want {
		if !seen {
			t.Errorf("examples/%s missing or not loaded", f)
		}
	}

	cfg, err := testOpts.Load("../../examples/vipd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Instances) != 2 {
		t.Fatalf("vipd.yaml: %d instances, want 2", len(cfg.Instances))
	}
	web, api := cfg.Instances[0], cfg.Instances[1]
	if web.Interface != "eth0" || api.Interface != "eth0" || web.Priority <= api.Priority || web.IPv6() || api.IPv6() {
		t.Errorf("vipd.yaml is not active/active IPv4 on eth0: %+v, %+v", web, api)
	}
	doc := netip.MustParsePrefix("192.0.2.0/24")
	for _, in := range cfg.Instances {
		for _, p := range in.VIPs {
			if !doc.Contains(p.Addr()) {
				t.Errorf("vipd.yaml: VIP %v outside 192.0.2.0/24", p)
			}
		}
	}

	cfg, err = testOpts.Load("../../examples/ipv6.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Instances[0].IPv6() {
		t.Errorf("ipv6.yaml: first instance is not IPv6")
	}
}

// vipList renders n IPv6 VIPs (2001:db8::/32 has room) as a YAML list.
func vipList(n int) string {
	var b strings.Builder
	b.WriteString("instances:\n  - name: big\n    interface: eth0\n    vrid: 1\n    vips:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - 2001:db8::%x:%x/64\n", i>>16, i&0xffff)
	}
	return b.String()
}

func TestHuge(t *testing.T) {
	in := vipList(MaxVIPs)
	start := time.Now()
	cfg, err := parse(t, in)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d VIPs, %d bytes: %v", MaxVIPs, len(in), took)
	// A guard against quadratic work (65536² steps would take minutes),
	// not a benchmark: it takes well under a second, even with -race.
	if took > 10*time.Second {
		t.Errorf("parsing %d VIPs took %v", MaxVIPs, took)
	}
	if n := len(cfg.Instances[0].VIPs); n != MaxVIPs {
		t.Errorf("%d VIPs, want %d", n, MaxVIPs)
	}

	_, err = parse(t, vipList(MaxVIPs+1))
	checkErrors(t, err, []wantErr{{6 + MaxVIPs, fmt.Sprintf("instances[0].vips[%d]: too many VIPs: at most %d per instance", MaxVIPs, MaxVIPs)}})

	// A file full of mistakes reports them all and stays readable.
	bad := strings.ReplaceAll(vipList(5000), "/64", "")
	_, err = parse(t, bad)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 5000 {
		t.Fatalf("got %d errors, want 5000", len(errs))
	}
	if n := strings.Count(err.Error(), "\n"); n != maxListed {
		t.Errorf("error text has %d lines", n+1)
	}
}

func TestOddInputsDoNotPanic(t *testing.T) {
	inputs := []string{
		"[", "{", "]", ":", "-", "?", "&a", "*a", "!", "!!", "%YAML 1.2\n---\n", "%TAG ! tag:x,2000:\n---\na: 1\n",
		"instances: &a [*a]\n",
		"a: &a [*a, *a]\nb: &b [*a, *a]\n",
		strings.Repeat("[", 20000),
		strings.Repeat("- ", 5000) + "a\n",
		"instances:\n" + strings.Repeat("  ", 1000) + "- a\n",
		"instances: !!binary aGVsbG8=\n",
		"instances: [!!binary aGVsbG8=]\n",
		"instances: [{name: !!binary aGVsbG8=, interface: eth0, vrid: 1, vips: [192.0.2.1/24]}]\n",
		"instances: [{name: 2001-12-14, interface: 1.5, vrid: !!int 1, vips: [!!str 192.0.2.1/24]}]\n",
		"instances: [{vrid: !!float 1}]\n",
		"instances: [{name: a, interface: eth0, vrid: 1, vips: [192.0.2.1/24], announce: [1]}]\n",
		"\x00", "\xef\xbb\xbf", "\xfe\xff\x00a", "a: \"\\x\"\n", "a: 'unterminated\n",
	}
	for _, in := range inputs {
		cfg, err := parse(t, in)
		if err == nil {
			checkConfig(t, cfg)
			continue
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Errorf("Parse(%.40q): error %v is not a non-empty Errors", in, err)
		}
	}
}

func BenchmarkParse4096(b *testing.B) {
	in := []byte(vipList(4096))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := testOpts.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}
