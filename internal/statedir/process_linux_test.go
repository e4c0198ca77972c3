package statedir_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/statedir"
	"github.com/vipd/vipd/internal/testutil"
)

// The tests below run the test binary again as a helper process: to hold
// the lock from another process, to meet permissions as an unprivileged user,
// and to see a read-only file system in a mount namespace of its own.
const (
	helperModeEnv = "VIPD_STATEDIR_HELPER" // hold, probe or readonly
	helperDirEnv  = "VIPD_STATEDIR_DIR"
	resultPrefix  = "RESULT "
)

func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	switch os.Getenv(helperModeEnv) {
	case "":
		return // only a helper process of the tests below (not a skip: CI counts skips)
	case "hold":
		// Take the lock, say so, and hold it until stdin closes or the
		// process is killed.
		l, err := statedir.Lock(dir)
		if err != nil {
			fmt.Println("ERROR", err)
			return
		}
		fmt.Println("LOCKED")
		io.Copy(io.Discard, os.Stdin)
		l.Close()
	case "probe":
		report(probeUnprivileged(dir))
	case "readonly":
		// A read-only bind mount of dir over itself, in this process'
		// mount namespace only (exec.Cmd made it private).
		if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
			fmt.Println("ERROR bind mount:", err)
			return
		}
		if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			fmt.Println("ERROR remount read-only:", err)
			return
		}
		report(probeReadOnly(dir))
	}
}

// probeResult is the outcome of one call of a helper process.
type probeResult struct {
	Err      string // "" when the call succeeded
	Perm     bool   // errors.Is(err, fs.ErrPermission)
	ReadOnly bool   // errors.Is(err, syscall.EROFS)
	Locked   bool   // a *LockedError
}

func result(err error) probeResult {
	if err == nil {
		return probeResult{}
	}
	var le *statedir.LockedError
	return probeResult{
		Err:      err.Error(),
		Perm:     errors.Is(err, fs.ErrPermission),
		ReadOnly: errors.Is(err, syscall.EROFS),
		Locked:   errors.As(err, &le),
	}
}

func report(r map[string]probeResult) {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	fmt.Println(resultPrefix + string(b))
}

// helperCmd is the test binary as a helper process in mode on dir.
func helperCmd(exe, mode, dir string) *exec.Cmd {
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperDirEnv+"="+dir)
	return cmd
}

// runProbe runs cmd and returns the results it reports.
func runProbe(t *testing.T, cmd *exec.Cmd) map[string]probeResult {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s%s", err, out, stderr.String())
	}
	for line := range strings.Lines(string(out)) {
		if js, ok := strings.CutPrefix(line, resultPrefix); ok {
			var r map[string]probeResult
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("helper reported nothing:\n%s%s", out, stderr.String())
	return nil
}

// The parent's error names the pid of the process that holds the lock;
// once that process is killed (a crash), the lock is free again although
// the file still names the dead pid.
func TestLockOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := helperCmd(os.Args[0], "hold", dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "LOCKED\n" {
		t.Fatalf("helper said %q (%v), want LOCKED", line, err)
	}

	_, err = statedir.Lock(dir)
	var le *statedir.LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("Lock() error = %v, want a *LockedError with the helper's pid %d", err, cmd.Process.Pid)
	}
	want := fmt.Sprintf("another vipd (pid %d) is running: it holds %s", cmd.Process.Pid, filepath.Join(dir, "vipd.lock"))
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if got := lockFilePID(t, dir); got != fmt.Sprintf("%d\n", cmd.Process.Pid) {
		t.Errorf("lock file holds %q, want the dead helper's pid", got)
	}
	lockDir(t, dir)
	if got := lockFilePID(t, dir); got != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Errorf("lock file holds %q, want our pid", got)
	}
}

// unprivilegedLayout builds, under root, what an unprivileged user may not
// write or read:
//
//	root/ro/                    0555, empty
//	root/files/                 0555
//	root/files/vipd.lock        0000
//	root/files/addresses.json   0000
//	root/files/maintenance.json 0000
func unprivilegedLayout(t *testing.T, root string) {
	t.Helper()
	ro, files := filepath.Join(root, "ro"), filepath.Join(root, "files")
	for _, d := range []string{ro, files} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		"vipd.lock":        "1\n",
		"addresses.json":   `{"version":1,"entries":[]}`,
		"maintenance.json": `{"all":true,"instances":null}`,
	} {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{ro, files} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(d, 0o755) }) // before TempDir's RemoveAll
	}
}

func probeUnprivileged(root string) map[string]probeResult {
	ro, files := filepath.Join(root, "ro"), filepath.Join(root, "files")
	r := make(map[string]probeResult)
	_, err := statedir.Lock(ro)
	r["lock"] = result(err)
	_, err = statedir.Lock(filepath.Join(ro, "sub"))
	r["mkdir"] = result(err)
	_, err = statedir.Lock(files)
	r["lockfile"] = result(err)
	_, err = statedir.OpenLedger(files)
	r["ledger"] = result(err)
	_, err = statedir.LoadMaintenance(files)
	r["maintenance"] = result(err)
	r["save"] = result(statedir.SaveMaintenance(ro, statedir.Maintenance{All: true}))
	return r
}

// A state directory or file the daemon's user may not write or read is a
// clear error, never "no lock" or "nothing recorded". As root (which
// permissions do not stop) the probe runs in a helper process as uid/gid
// 65534; as another user it runs in the test itself.
func TestUnprivileged(t *testing.T) {
	root := t.TempDir()
	unprivilegedLayout(t, root)
	var got map[string]probeResult
	if os.Geteuid() != 0 {
		got = probeUnprivileged(root)
	} else {
		// The helper must reach the test binary and the layout.
		for _, d := range []string{filepath.Dir(root), root} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		exe := filepath.Join(root, "statedir.test")
		copyFile(t, os.Args[0], exe, 0o755)
		cmd := helperCmd(exe, "probe", root)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		got = runProbe(t, cmd)
	}
	ro, files := filepath.Join(root, "ro"), filepath.Join(root, "files")
	want := map[string]string{
		"lock":        "statedir: open lock file " + filepath.Join(ro, "vipd.lock") + ": permission denied",
		"mkdir":       "statedir: create state directory " + filepath.Join(ro, "sub") + ": permission denied",
		"lockfile":    "statedir: open lock file " + filepath.Join(files, "vipd.lock") + ": permission denied",
		"ledger":      "statedir: read " + filepath.Join(files, "addresses.json") + ": permission denied",
		"maintenance": "statedir: read " + filepath.Join(files, "maintenance.json") + ": permission denied",
		"save":        "statedir: save maintenance: write " + filepath.Join(ro, "maintenance.json") + ": permission denied",
	}
	for k, w := range want {
		if r := got[k]; r.Err != w || !r.Perm || r.Locked {
			t.Errorf("%s: %+v, want %q wrapping fs.ErrPermission", k, r, w)
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

func probeReadOnly(dir string) map[string]probeResult {
	r := make(map[string]probeResult)
	_, err := statedir.Lock(dir)
	r["lock"] = result(err)
	_, err = statedir.Lock(filepath.Join(dir, "sub"))
	r["mkdir"] = result(err)
	l, err := statedir.OpenLedger(dir)
	r["ledger-open"] = result(err)
	if l != nil {
		r["ledger-record"] = result(l.Record("web", "eth0", 2, []netip.Prefix{netip.MustParsePrefix("192.0.2.101/24")}))
		if n := len(l.Entries()); n != 1 {
			r["ledger-entries"] = probeResult{Err: fmt.Sprintf("%d entries after a failed Record, want 1", n)}
		}
	}
	m, err := statedir.LoadMaintenance(dir)
	if err == nil && !m.All {
		err = errors.New("maintenance not read")
	}
	r["maintenance"] = result(err)
	r["save"] = result(statedir.SaveMaintenance(dir, statedir.Maintenance{}))
	return r
}

// A state directory on a read-only file system (a read-only bind mount in
// a mount namespace of the helper's own): the lock cannot be taken, the
// state is read, writes fail and change nothing.
func TestIntegrationReadOnlyFileSystem(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"vipd.lock":        "1\n",
		"addresses.json":   `{"version":1,"entries":[{"instance":"web","interface":"eth0","ifindex":2,"prefixes":["192.0.2.100/24"]}]}`,
		"maintenance.json": `{"all":true,"instances":null}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := helperCmd(os.Args[0], "readonly", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	got := runProbe(t, cmd)
	want := map[string]string{
		"lock":          "statedir: open lock file " + filepath.Join(dir, "vipd.lock") + ": read-only file system",
		"mkdir":         "statedir: create state directory " + filepath.Join(dir, "sub") + ": read-only file system",
		"ledger-record": "statedir: record 1 addresses of web on eth0: write " + filepath.Join(dir, "addresses.json") + ": read-only file system",
		"save":          "statedir: save maintenance: write " + filepath.Join(dir, "maintenance.json") + ": read-only file system",
	}
	for k, w := range want {
		if r := got[k]; r.Err != w || !r.ReadOnly {
			t.Errorf("%s: %+v, want %q wrapping EROFS", k, r, w)
		}
	}
	for _, k := range []string{"ledger-open", "ledger-entries", "maintenance"} {
		if r := got[k]; r.Err != "" {
			t.Errorf("%s: %s", k, r.Err)
		}
	}
	// Nothing changed outside the helper's namespace.
	if got := lockFilePID(t, dir); got != "1\n" {
		t.Errorf("lock file holds %q, want the old content", got)
	}
}
