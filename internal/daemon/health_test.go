package daemon

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/transport/transporttest"
)

func healthConfig(t *testing.T, prio int, check, hooks string) *config.Config {
	t.Helper()
	return mustParse(t, `
node: test
instances:
  - name: web
    interface: eth0
    vrid: 42
    priority: `+itoaT(prio)+`
    advert_interval: 100ms
    vips: [192.0.2.100/24]
`+check+hooks)
}

func itoaT(i int) string { return strconv.Itoa(i) }

// TestHealthFaultHandsOverAndHooksRun: a failing tcp check with fault: true
// takes the master out (priority 0, the backup takes over); when it passes
// again the master preempts back. A notify hook records every transition.
func TestHealthFaultHandsOverAndHooksRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dir := t.TempDir()
	hookLog := filepath.Join(dir, "hooks")
	check := `
    checks:
      - name: svc
        type: tcp
        target: ` + addr + `
        interval: 100ms
        timeout: 50ms
        rise: 1
        fall: 1
        fault: true
`
	hooks := `
    notify:
      any: echo "$2" >> ` + hookLog + `
`
	seg := transporttest.NewNetwork(nil)
	a := startNode(t, newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11"), healthConfig(t, 200, check, hooks))
	b := startNode(t, newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12"), healthConfig(t, 100, "", ""))
	waitFor(t, "a master", 3*time.Second, func() bool { return a.state(t) == "MASTER" })
	waitFor(t, "b backup", 3*time.Second, func() bool { return b.state(t) == "BACKUP" })

	ln.Close() // the service stops
	waitFor(t, "a fault", 3*time.Second, func() bool { return a.state(t) == "FAULT" })
	waitFor(t, "b master", 3*time.Second, func() bool { return b.state(t) == "MASTER" })

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer ln2.Close()
	go func() {
		for {
			c, err := ln2.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	waitFor(t, "a master again", 3*time.Second, func() bool { return a.state(t) == "MASTER" })
	waitFor(t, "b backup again", 3*time.Second, func() bool { return b.state(t) == "BACKUP" })
	want := "backup\nmaster\nfault\nbackup\nmaster\n"
	var got []byte
	deadline := time.Now().Add(3 * time.Second)
	for string(got) != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		got, _ = os.ReadFile(hookLog)
	}
	if string(got) != want {
		t.Fatalf("hooks ran for %q, want %q", got, want)
	}
}
