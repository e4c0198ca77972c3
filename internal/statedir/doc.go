// Package statedir keeps the state that outlives a vipd process, in the
// state directory (state_dir, default /var/lib/vipd):
//
//	vipd.lock         one daemon per host: an flock(2) held for the process' lifetime ([Lock])
//	addresses.json    the ledger of the VIPs this host's vipd added ([Ledger])
//	maintenance.json  the instances in maintenance mode ([LoadMaintenance], [SaveMaintenance])
//
// # One daemon per host
//
// [Lock] creates the directory if needed, opens vipd.lock and takes an
// exclusive, non-blocking flock(2) on it, then writes its pid into the file.
// The daemon calls it before it touches anything else (sockets, addresses,
// the other files here): a second `vipd run` — with the same configuration
// but another control socket, say — fails with a [*LockedError] that names
// the pid of the daemon holding the lock, instead of removing that daemon's
// VIPs as leftovers. The kernel releases an flock when the last descriptor of
// its open file description closes, so a daemon that crashed or was killed
// never blocks the next one: the file and the pid in it stay behind, but only
// the lock counts. The descriptor is opened close-on-exec, so health checks
// and notify hooks started by the daemon do not inherit the lock.
//
// # The address ledger
//
// Cleanup at start must remove only the addresses that an earlier vipd on
// this host added — not a configured VIP an operator added by hand. The
// daemon records the VIPs of an instance with [Ledger.Record] before it adds
// them (so a crash in the middle of adding leaves the record behind), drops
// them with [Ledger.Forget] after it removed them, and at start reads
// [Ledger.Entries] to remove what a crashed run left. addresses.json reads:
//
//	{
//	  "version": 1,
//	  "entries": [
//	    {
//	      "instance": "web",
//	      "interface": "eth0",
//	      "ifindex": 2,
//	      "prefixes": ["192.0.2.100/24", "192.0.2.101/24"]
//	    }
//	  ]
//	}
//
// An entry is keyed by instance and interface index (the name is what the
// interface was called when the addresses were recorded; an interface
// recreated under the same name gets a new index). Entries are sorted by
// instance and index, prefixes by address then length; an entry is never
// empty. A prefix is the address as configured, host bits included
// ("192.0.2.100/24"), compared exactly. A reader refuses any other version.
//
// # Maintenance
//
// maintenance.json keeps the format vipd has always written:
//
//	{"all":false,"instances":["web"]}
//
// "all" puts every instance in maintenance; "instances" (possibly null)
// names single ones.
//
// # Failing closed
//
// A missing file means "nothing recorded". A file that exists but cannot be
// read, or does not parse, is an error — never "nothing recorded": a node in
// maintenance must not rejoin the election after a restart because of a
// permission problem, and a ledger that cannot be read must not be mistaken
// for an empty one. Read errors wrap the operating system's error
// (errors.Is(err, fs.ErrPermission)); a file that does not parse is a
// [*CorruptError] naming it; a ledger of an unknown version wraps
// [ErrUnsupportedVersion].
//
// Every write replaces the whole file atomically: a temporary file in the
// same directory (NAME.tmp), written, fsynced, renamed over NAME, and the
// directory fsynced, so that a crash or power loss leaves the old or the new
// content, never a mix. The ledger is the exception: it is written on a
// takeover's critical path (before the adds) and is not fsynced, because
// what it records does not survive a power loss either. A crash of vipd
// leaves its old or new content (the rename is atomic in the page cache); a
// power loss may tear it, and a ledger that does not parse and was last
// written before this boot began (btime in /proc/stat) is void like one of
// another boot, not corrupt. One call is one write, however many prefixes it
// carries. Writers in one process are serialized; across processes the
// [Lock] is what keeps a second writer away, so the files are opened and
// written only by the holder of the lock.
package statedir
