package statedir

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ledgerName is the address ledger in the state directory.
const ledgerName = "addresses.json"

// ledgerVersion is the format version of addresses.json this package
// writes and reads.
const ledgerVersion = 1

// Entry is what the ledger holds for one instance on one interface: the
// VIPs vipd added there (or was about to add) and did not remove yet.
type Entry struct {
	Instance  string         `json:"instance"`
	Interface string         `json:"interface"` // the name at the time of the record
	Ifindex   int            `json:"ifindex"`
	Prefixes  []netip.Prefix `json:"prefixes"` // sorted, not empty
}

// ledgerFile is the content of addresses.json.
type ledgerFile struct {
	Version int `json:"version"`
	// BootID is the kernel's boot_id when the file was written: the
	// addresses recorded do not survive a reboot, so a ledger of another
	// boot is void (and the interface indexes may name other interfaces).
	BootID  string  `json:"boot_id,omitempty"`
	Entries []Entry `json:"entries"`
}

// bootID returns this boot's id, "" when unknown. A variable for tests.
var bootID = func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// bootTime returns when this boot began (btime of /proc/stat), the zero
// time when unknown. A variable for tests.
var bootTime = func() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
}

// writtenBeforeBoot tells whether the file at path was last written before
// this boot began. Unknown is false.
func writtenBeforeBoot(path string) bool {
	boot := bootTime()
	fi, err := os.Stat(path)
	return err == nil && !boot.IsZero() && fi.ModTime().Before(boot)
}

// Ledger is the record of the addresses vipd added on this host, kept in
// addresses.json in the state directory (see the package documentation for
// the format). Its methods are safe for concurrent use; each call that
// changes the record writes the file once, atomically, before it returns,
// and a call that changes nothing does not write. When the write fails the
// record stays as it was, so the Ledger always holds what the file holds.
//
// Only the holder of the directory's [Lock] should open a Ledger.
type Ledger struct {
	path string
	boot string // this boot's id

	// Stale is true when the file was of an earlier boot: its records
	// were dropped.
	Stale bool

	mu     sync.Mutex      // guards recs and writes; held during the write, so the file follows the calls' order
	recs   map[key]*record // never holds an empty record
	writes int             // number of writes of the file, for tests
}

type key struct {
	instance string
	ifindex  int
}

type record struct {
	ifname string
	set    map[netip.Prefix]struct{}
}

// OpenLedger reads dir/addresses.json. A missing file (or directory) is an
// empty ledger; a file that cannot be read is an error wrapping the
// operating system's error; one that does not parse, or holds entries that
// make no sense, is a [*CorruptError] naming the file.
func OpenLedger(dir string) (*Ledger, error) {
	l := &Ledger{path: filepath.Join(dir, ledgerName), boot: bootID(), recs: make(map[key]*record)}
	b, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statedir: read %s: %w", l.path, cause(err))
	}
	var f ledgerFile
	if err := decodeObject(b, &f); err != nil {
		if writtenBeforeBoot(l.path) {
			// Written without fsync (writeLocked) and torn by the power
			// loss or crash that ended that boot: what it recorded went
			// with it.
			l.Stale = true
			return l, nil
		}
		return nil, &CorruptError{Path: l.path, Err: err}
	}
	switch {
	case f.Version == 0:
		return nil, &CorruptError{Path: l.path, Err: errors.New(`no "version"`)}
	case f.Version != ledgerVersion:
		return nil, &CorruptError{Path: l.path, Err: fmt.Errorf("version %d: %w", f.Version, ErrUnsupportedVersion)}
	}
	if f.BootID != "" && l.boot != "" && f.BootID != l.boot {
		l.Stale = true
		return l, nil
	}
	for i, e := range f.Entries {
		if err := checkEntry(e); err != nil {
			return nil, &CorruptError{Path: l.path, Err: fmt.Errorf("entry %d: %w", i, err)}
		}
		k := key{e.Instance, e.Ifindex}
		if _, dup := l.recs[k]; dup {
			return nil, &CorruptError{Path: l.path, Err: fmt.Errorf("entry %d: instance %q on ifindex %d appears twice", i, e.Instance, e.Ifindex)}
		}
		r := &record{ifname: e.Interface, set: make(map[netip.Prefix]struct{}, len(e.Prefixes))}
		for _, p := range e.Prefixes {
			r.set[p] = struct{}{}
		}
		l.recs[k] = r
	}
	return l, nil
}

func checkEntry(e Entry) error {
	if e.Instance == "" {
		return errors.New("no instance")
	}
	if e.Ifindex <= 0 {
		return fmt.Errorf("instance %q: ifindex %d", e.Instance, e.Ifindex)
	}
	if len(e.Prefixes) == 0 {
		return fmt.Errorf("instance %q: no prefixes", e.Instance)
	}
	for _, p := range e.Prefixes {
		if !p.IsValid() {
			return fmt.Errorf("instance %q: invalid prefix %q", e.Instance, p)
		}
	}
	return nil
}

// checkArgs validates the arguments of Record and Forget.
func checkArgs(instance string, ifindex int, vips []netip.Prefix) error {
	if instance == "" {
		return errors.New("no instance name")
	}
	if ifindex <= 0 {
		return fmt.Errorf("ifindex %d", ifindex)
	}
	for _, p := range vips {
		if !p.IsValid() {
			return fmt.Errorf("invalid prefix %q", p)
		}
	}
	return nil
}

// Path is the ledger's file.
func (l *Ledger) Path() string { return l.path }

// Record notes that instance is about to add vips on the interface ifname
// (index ifindex). The daemon calls it before adding them, so that a crash
// in the middle leaves the record and the next start removes what was
// added. Prefixes already recorded are fine; the interface name of the entry
// becomes ifname. When the write fails nothing is recorded and the caller
// should not add the addresses.
func (l *Ledger) Record(instance, ifname string, ifindex int, vips []netip.Prefix) error {
	if err := checkArgs(instance, ifindex, vips); err != nil {
		return fmt.Errorf("statedir: record addresses of %s: %w", instance, err)
	}
	if len(vips) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := key{instance, ifindex}
	r, existed := l.recs[k]
	if !existed {
		r = &record{set: make(map[netip.Prefix]struct{}, len(vips))}
	}
	oldName := r.ifname
	var added []netip.Prefix
	for _, p := range vips {
		if _, ok := r.set[p]; !ok {
			r.set[p] = struct{}{}
			added = append(added, p)
		}
	}
	if len(added) == 0 && oldName == ifname {
		return nil
	}
	r.ifname = ifname
	l.recs[k] = r
	if err := l.writeLocked(); err != nil {
		for _, p := range added {
			delete(r.set, p)
		}
		r.ifname = oldName
		if !existed {
			delete(l.recs, k)
		}
		return fmt.Errorf("statedir: record %d addresses of %s on %s: %w", len(vips), instance, ifname, err)
	}
	return nil
}

// Forget notes that instance removed vips from the interface with index
// ifindex; the daemon calls it after removing them. Prefixes that are not
// recorded are fine. When the write fails the record stays (the next start
// tries to remove addresses that are gone, which is harmless).
func (l *Ledger) Forget(instance string, ifindex int, vips []netip.Prefix) error {
	if err := checkArgs(instance, ifindex, vips); err != nil {
		return fmt.Errorf("statedir: forget addresses of %s: %w", instance, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := key{instance, ifindex}
	r, ok := l.recs[k]
	if !ok {
		return nil
	}
	var removed []netip.Prefix
	for _, p := range vips {
		if _, ok := r.set[p]; ok {
			delete(r.set, p)
			removed = append(removed, p)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	if len(r.set) == 0 {
		delete(l.recs, k)
	}
	if err := l.writeLocked(); err != nil {
		for _, p := range removed {
			r.set[p] = struct{}{}
		}
		l.recs[k] = r
		return fmt.Errorf("statedir: forget %d addresses of %s: %w", len(vips), instance, err)
	}
	return nil
}

// ForgetInstance drops every entry of the instance name, on any interface:
// for an instance removed by a reload after its addresses were removed, or
// after the cleanup at start.
func (l *Ledger) ForgetInstance(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dropped := make(map[key]*record)
	for k, r := range l.recs {
		if k.instance == name {
			dropped[k] = r
			delete(l.recs, k)
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	if err := l.writeLocked(); err != nil {
		maps.Copy(l.recs, dropped)
		return fmt.Errorf("statedir: forget instance %s: %w", name, err)
	}
	return nil
}

// Entries returns what the ledger holds, sorted by instance and interface
// index; the caller owns the result.
func (l *Ledger) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.entriesLocked()
}

func (l *Ledger) entriesLocked() []Entry {
	es := make([]Entry, 0, len(l.recs))
	for k, r := range l.recs {
		ps := slices.SortedFunc(maps.Keys(r.set), comparePrefix)
		es = append(es, Entry{Instance: k.instance, Interface: r.ifname, Ifindex: k.ifindex, Prefixes: ps})
	}
	slices.SortFunc(es, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.Ifindex, b.Ifindex))
	})
	return es
}

func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// writeLocked writes the whole ledger to its file; l.mu is held.
func (l *Ledger) writeLocked() error {
	b, err := json.MarshalIndent(ledgerFile{Version: ledgerVersion, BootID: l.boot, Entries: l.entriesLocked()}, "", "  ")
	if err != nil {
		return err
	}
	l.writes++
	// No fsync: the addresses recorded do not outlive a power loss either,
	// and OpenLedger voids a file of an earlier boot, even a torn one.
	return writeReplace(l.path, append(b, '\n'))
}
