package statedir_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vipd/vipd/internal/statedir"
)

// BenchmarkLedgerRecord4096 measures one Record of 4096 prefixes into an
// empty ledger: one write of the whole file (temp file, rename; no fsync),
// on the file system of $TMPDIR.
func BenchmarkLedgerRecord4096(b *testing.B) { benchmarkLedgerRecord(b, 4096) }

// BenchmarkLedgerRecord1 is the same for a single VIP: a takeover of one VIP
// waits for it before the add.
func BenchmarkLedgerRecord1(b *testing.B) { benchmarkLedgerRecord(b, 1) }

func benchmarkLedgerRecord(b *testing.B, n int) {
	dir := b.TempDir()
	l, err := statedir.OpenLedger(dir)
	if err != nil {
		b.Fatal(err)
	}
	vips := manyPrefixes(n)
	for b.Loop() {
		if err := l.Record("web", "eth0", 2, vips); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := l.Forget("web", 2, vips); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	if err := l.Record("web", "eth0", 2, vips); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "addresses.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size()), "file-bytes")
}
