package statedir_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/statedir"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// manyPrefixes returns n distinct IPv4 /24 prefixes from 10.0.0.0/8.
func manyPrefixes(n int) []netip.Prefix {
	ps := make([]netip.Prefix, n)
	for i := range ps {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		ps[i] = netip.PrefixFrom(a, 24)
	}
	return ps
}

func openLedger(t *testing.T, dir string) *statedir.Ledger {
	t.Helper()
	l, err := statedir.OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestLedgerMissingIsEmpty(t *testing.T) {
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "not", "there")} {
		l := openLedger(t, dir)
		if es := l.Entries(); len(es) != 0 {
			t.Errorf("%s: Entries() = %v, want none", dir, es)
		}
	}
}

func TestLedgerRoundTrip(t *testing.T) {
	defer statedir.SetBootID("test-boot")()
	dir := t.TempDir()
	l := openLedger(t, dir)
	// Out of order, with a duplicate and an IPv6 instance.
	if err := l.Record("web", "eth0", 2, prefixes(t, "192.0.2.101/24", "192.0.2.100/24", "192.0.2.101/24")); err != nil {
		t.Fatal(err)
	}
	if err := l.Record("db", "eth1", 3, prefixes(t, "2001:db8::10/64")); err != nil {
		t.Fatal(err)
	}
	if err := l.Record("web", "eth0", 2, prefixes(t, "192.0.2.102/24")); err != nil {
		t.Fatal(err)
	}
	// The same instance on a recreated interface is another entry.
	if err := l.Record("web", "eth0", 7, prefixes(t, "192.0.2.100/24")); err != nil {
		t.Fatal(err)
	}
	if err := l.Forget("web", 2, prefixes(t, "192.0.2.102/24", "198.51.100.1/24")); err != nil {
		t.Fatal(err)
	}
	want := []statedir.Entry{
		{Instance: "db", Interface: "eth1", Ifindex: 3, Prefixes: prefixes(t, "2001:db8::10/64")},
		{Instance: "web", Interface: "eth0", Ifindex: 2, Prefixes: prefixes(t, "192.0.2.100/24", "192.0.2.101/24")},
		{Instance: "web", Interface: "eth0", Ifindex: 7, Prefixes: prefixes(t, "192.0.2.100/24")},
	}
	if got := l.Entries(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Entries() = %v\nwant %v", got, want)
	}
	if got := openLedger(t, dir).Entries(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen: Entries() = %v\nwant %v", got, want)
	}

	// Forgetting the last prefix drops the entry; ForgetInstance drops all.
	if err := l.Forget("db", 3, prefixes(t, "2001:db8::10/64")); err != nil {
		t.Fatal(err)
	}
	if err := l.ForgetInstance("web"); err != nil {
		t.Fatal(err)
	}
	if got := openLedger(t, dir).Entries(); len(got) != 0 {
		t.Fatalf("after forgetting everything: Entries() = %v", got)
	}
	b, err := os.ReadFile(filepath.Join(dir, "addresses.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"version\": 1,\n  \"boot_id\": \"test-boot\",\n  \"entries\": []\n}\n"; string(b) != want {
		t.Errorf("empty ledger file = %q, want %q", b, want)
	}
}

func TestLedgerFormat(t *testing.T) {
	defer statedir.SetBootID("test-boot")()
	dir := t.TempDir()
	l := openLedger(t, dir)
	if err := l.Record("web", "eth0", 2, prefixes(t, "192.0.2.101/24", "192.0.2.100/24")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "addresses.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 1,
  "boot_id": "test-boot",
  "entries": [
    {
      "instance": "web",
      "interface": "eth0",
      "ifindex": 2,
      "prefixes": [
        "192.0.2.100/24",
        "192.0.2.101/24"
      ]
    }
  ]
}
`
	if string(b) != want {
		t.Errorf("addresses.json =\n%s\nwant\n%s", b, want)
	}
}

func TestLedgerRenamedInterface(t *testing.T) {
	dir := t.TempDir()
	l := openLedger(t, dir)
	if err := l.Record("web", "eth0", 2, prefixes(t, "192.0.2.100/24")); err != nil {
		t.Fatal(err)
	}
	if err := l.Record("web", "lan0", 2, prefixes(t, "192.0.2.100/24")); err != nil {
		t.Fatal(err)
	}
	es := openLedger(t, dir).Entries()
	if len(es) != 1 || es[0].Interface != "lan0" {
		t.Errorf("Entries() = %v, want one entry on lan0", es)
	}
}

func TestLedgerBadArguments(t *testing.T) {
	l := openLedger(t, t.TempDir())
	for _, tc := range []struct {
		instance string
		ifindex  int
		vips     []netip.Prefix
	}{
		{"", 2, prefixes(t, "192.0.2.100/24")},
		{"web", 0, prefixes(t, "192.0.2.100/24")},
		{"web", 2, []netip.Prefix{{}}},
	} {
		if err := l.Record(tc.instance, "eth0", tc.ifindex, tc.vips); err == nil {
			t.Errorf("Record(%q, %d, %v) = nil, want an error", tc.instance, tc.ifindex, tc.vips)
		}
		if err := l.Forget(tc.instance, tc.ifindex, tc.vips); err == nil {
			t.Errorf("Forget(%q, %d, %v) = nil, want an error", tc.instance, tc.ifindex, tc.vips)
		}
	}
	if es := l.Entries(); len(es) != 0 {
		t.Errorf("Entries() = %v, want none", es)
	}
}

// A crash between Record and the add (or before Forget) leaves the record
// for the next start; a crash during a write leaves the temporary file,
// which the next open ignores and the next write replaces.
func TestLedgerCrash(t *testing.T) {
	dir := t.TempDir()
	l := openLedger(t, dir)
	if err := l.Record("web", "eth0", 2, prefixes(t, "192.0.2.100/24", "192.0.2.101/24")); err != nil {
		t.Fatal(err)
	}
	if err := l.Record("db", "eth0", 2, prefixes(t, "192.0.2.200/24")); err != nil {
		t.Fatal(err)
	}
	if err := l.Forget("db", 2, prefixes(t, "192.0.2.200/24")); err != nil {
		t.Fatal(err)
	}
	// "Crash": l is dropped without further calls; a write was cut short.
	if err := os.WriteFile(filepath.Join(dir, "addresses.json.tmp"), []byte(`{"version":1,"entr`), 0o644); err != nil {
		t.Fatal(err)
	}
	l2 := openLedger(t, dir)
	want := []statedir.Entry{{Instance: "web", Interface: "eth0", Ifindex: 2, Prefixes: prefixes(t, "192.0.2.100/24", "192.0.2.101/24")}}
	if got := l2.Entries(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the crash: Entries() = %v, want %v", got, want)
	}
	// The cleanup at start removes them and forgets the instance.
	if err := l2.ForgetInstance("web"); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, dir); !reflect.DeepEqual(got, []string{"addresses.json"}) {
		t.Errorf("files after a write: %v, want only addresses.json", got)
	}
}

func TestLedgerCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"empty":         "",
		"truncated":     `{"version":1,"entries":[{"instance":"web"`,
		"not an object": `[]`,
		"null":          `null`,
		"garbage after": `{"version":1,"entries":[]} x`,
		"no version":    `{"entries":[]}`,
		"bad prefix":    `{"version":1,"entries":[{"instance":"web","interface":"eth0","ifindex":2,"prefixes":["192.0.2.300/24"]}]}`,
		"empty prefix":  `{"version":1,"entries":[{"instance":"web","interface":"eth0","ifindex":2,"prefixes":[""]}]}`,
		"no prefixes":   `{"version":1,"entries":[{"instance":"web","interface":"eth0","ifindex":2,"prefixes":[]}]}`,
		"no instance":   `{"version":1,"entries":[{"interface":"eth0","ifindex":2,"prefixes":["192.0.2.1/24"]}]}`,
		"no ifindex":    `{"version":1,"entries":[{"instance":"web","interface":"eth0","prefixes":["192.0.2.1/24"]}]}`,
		"twice":         `{"version":1,"entries":[{"instance":"web","interface":"eth0","ifindex":2,"prefixes":["192.0.2.1/24"]},{"instance":"web","interface":"eth0","ifindex":2,"prefixes":["192.0.2.2/24"]}]}`,
		"wrong type":    `{"version":"1","entries":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "addresses.json")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := statedir.OpenLedger(dir)
			var ce *statedir.CorruptError
			if !errors.As(err, &ce) || ce.Path != path {
				t.Fatalf("OpenLedger() error = %v, want a *CorruptError for %s", err, path)
			}
			t.Log(err)
		})
	}
}

func TestLedgerNewerVersion(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "addresses.json"), []byte(`{"version":2,"entries":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := statedir.OpenLedger(dir)
	if !errors.Is(err, statedir.ErrUnsupportedVersion) {
		t.Fatalf("OpenLedger() error = %v, want ErrUnsupportedVersion", err)
	}
	t.Log(err)
}

// A file that exists but cannot be read is an error, never "empty". (Here a
// directory, which root cannot read either; permissions are tested by
// TestIntegrationUnprivileged.)
func TestLedgerUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "addresses.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := statedir.OpenLedger(dir)
	if err == nil {
		t.Fatal("OpenLedger() of an unreadable file succeeded")
	}
	var ce *statedir.CorruptError
	if errors.As(err, &ce) {
		t.Errorf("OpenLedger() error = %v, a read error and not a *CorruptError", err)
	}
	t.Log(err)
}

// A write that fails leaves the record as it was, in memory and on disk, and
// no temporary file.
func TestLedgerFailedWrite(t *testing.T) {
	dir := t.TempDir()
	l := openLedger(t, dir)
	if err := l.Record("web", "eth0", 2, prefixes(t, "192.0.2.100/24")); err != nil {
		t.Fatal(err)
	}
	before := l.Entries()
	// A non-empty directory where the file is: the rename fails.
	path := filepath.Join(dir, "addresses.json")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s succeeded with a directory in the way", what)
		}
		t.Log(err)
		if got := l.Entries(); !reflect.DeepEqual(got, before) {
			t.Errorf("after a failed %s: Entries() = %v, want %v", what, got, before)
		}
		if got := dirNames(t, dir); !reflect.DeepEqual(got, []string{"addresses.json"}) {
			t.Errorf("after a failed %s: files %v, want only addresses.json", what, got)
		}
	}
	check("Record of a new instance", l.Record("db", "eth0", 2, prefixes(t, "192.0.2.200/24")))
	check("Record of more prefixes", l.Record("web", "eth0", 2, prefixes(t, "192.0.2.101/24")))
	check("Record on a renamed interface", l.Record("web", "lan0", 2, prefixes(t, "192.0.2.100/24")))
	check("Forget", l.Forget("web", 2, prefixes(t, "192.0.2.100/24")))
	check("ForgetInstance", l.ForgetInstance("web"))
}

// Instances record and forget concurrently (run with -race); the file
// follows.
func TestLedgerConcurrent(t *testing.T) {
	dir := t.TempDir()
	l := openLedger(t, dir)
	const instances, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, instances*rounds*3)
	for i := range instances {
		wg.Go(func() {
			name := fmt.Sprintf("vi%d", i)
			for r := range rounds {
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, byte(i), byte(r)}), 24)
				errs <- l.Record(name, "eth0", 2, []netip.Prefix{p})
				l.Entries()
				if r%2 == 1 { // keep the even ones
					errs <- l.Forget(name, 2, []netip.Prefix{p})
				}
			}
			// The one shared name, on its own index per goroutine.
			errs <- l.Record("shared", "eth1", 10+i, prefixes(t, "198.51.100.1/24"))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := l.Entries()
	if len(got) != 2*instances {
		t.Fatalf("%d entries, want %d: %v", len(got), 2*instances, got)
	}
	for _, e := range got {
		want := rounds / 2
		if e.Instance == "shared" {
			want = 1
		}
		if len(e.Prefixes) != want {
			t.Errorf("%s on %d: %d prefixes, want %d", e.Instance, e.Ifindex, len(e.Prefixes), want)
		}
	}
	if reopened := openLedger(t, dir).Entries(); !reflect.DeepEqual(reopened, got) {
		t.Errorf("the file differs from memory:\n%v\n%v", reopened, got)
	}
}

// TestLedgerOfAnotherBootIsVoid: addresses do not survive a reboot, and
// after one an ifindex may name another interface: the records go.
func TestLedgerOfAnotherBootIsVoid(t *testing.T) {
	dir := t.TempDir()
	restore := statedir.SetBootID("boot-1")
	l := openLedger(t, dir)
	if err := l.Record("web", "eth0", 2, prefixes(t, "192.0.2.100/24")); err != nil {
		t.Fatal(err)
	}
	if l2 := openLedger(t, dir); l2.Stale || len(l2.Entries()) != 1 {
		t.Fatalf("same boot: stale %v, %v", l2.Stale, l2.Entries())
	}
	restore()
	defer statedir.SetBootID("boot-2")()
	l3 := openLedger(t, dir)
	if !l3.Stale || len(l3.Entries()) != 0 {
		t.Fatalf("after a reboot: stale %v, entries %v", l3.Stale, l3.Entries())
	}
}

// TestLedgerTornBeforeBootIsVoid: the ledger is written without fsync, so a
// power loss can leave it torn. Written before this boot, it is void like
// any ledger of an earlier boot; torn during this boot, it is still corrupt
// (failing closed: vipd itself wrote it, and something is wrong).
func TestLedgerTornBeforeBootIsVoid(t *testing.T) {
	for name, content := range map[string]string{
		"empty":     "",
		"truncated": `{"version":1,"boot_id":"x","entries":[{"instance":"web"`,
		"zeros":     "\x00\x00\x00\x00",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "addresses.json")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			written := time.Now()
			defer statedir.SetBootTime(written.Add(time.Hour))()
			l, err := statedir.OpenLedger(dir)
			if err != nil {
				t.Fatalf("OpenLedger() of a file torn before this boot: %v", err)
			}
			if !l.Stale || len(l.Entries()) != 0 {
				t.Fatalf("stale %v, entries %v; want void", l.Stale, l.Entries())
			}
			// The next write replaces it whole.
			if err := l.Record("web", "eth0", 2, prefixes(t, "192.0.2.100/24")); err != nil {
				t.Fatal(err)
			}
			statedir.SetBootTime(written.Add(-time.Hour))
			if got := openLedger(t, dir).Entries(); len(got) != 1 {
				t.Fatalf("after the next write: %v", got)
			}
		})
	}
	t.Run("torn during this boot", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "addresses.json"), []byte(`{"version":1,`), 0o644); err != nil {
			t.Fatal(err)
		}
		defer statedir.SetBootTime(time.Now().Add(-time.Hour))()
		var ce *statedir.CorruptError
		if _, err := statedir.OpenLedger(dir); !errors.As(err, &ce) {
			t.Fatalf("OpenLedger() error = %v, want a *CorruptError", err)
		}
	})
}

// TestBootTimeIsKnown: the real reading of /proc/stat gives a time in the
// past, else a torn ledger would never be voided.
func TestBootTimeIsKnown(t *testing.T) {
	bt := statedir.BootTime()
	if bt.IsZero() || !bt.Before(time.Now()) {
		t.Fatalf("boot time %v", bt)
	}
}
