package labnet

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/testutil"
)

func skipUnlessRoot(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
}

// newLab builds a lab and registers its Close, asserting that no namespace
// survives it.
func newLab(t *testing.T, o Options) *Lab {
	t.Helper()
	skipUnlessRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	l, err := New(ctx, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Logf("lab %s built in %v", l.Prefix, time.Since(start))
	names := l.Namespaces()
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		out, err := exec.Command("ip", "netns", "list").CombinedOutput()
		if err != nil {
			t.Fatalf("ip netns list: %v: %s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			for _, n := range names {
				if len(f) > 0 && f[0] == n {
					t.Errorf("namespace %s still listed after Close", n)
				}
			}
		}
	})
	return l
}

func ping(t *testing.T, h *Host, dst string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Up to 5 s, one echo every 200 ms, until one is answered.
	if out, err := h.Run(ctx, "ping", "-n", "-c", "1", "-i", "0.2", "-w", "5", dst); err != nil {
		t.Fatalf("ping %s from %s: %v\n%s", dst, h.Name, err, out)
	}
}

func TestIntegrationTopology(t *testing.T) {
	l := newLab(t, Options{Extra: []string{"injector"}})
	a := l.Nodes[0]
	ping(t, l.Client, l.Router.Addr4.Addr().String())
	ping(t, l.Client, l.Router.Addr6.Addr().String())
	ping(t, l.Client, a.Addr4.Addr().String())
	ping(t, l.Client, a.Addr6.Addr().String())
	ping(t, l.Client, l.Host("injector").Addr4.Addr().String())
	v4, _ := l.VIPs4(1)
	v6, _ := l.VIPs6(1)
	ctx := context.Background()
	for _, v := range []string{HostPrefix(v4[0]).String(), HostPrefix(v6[0]).String()} {
		if out, err := a.Run(ctx, "ip", "addr", "add", v, "dev", a.Iface, "nodad"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	ping(t, l.Client, v4[0].String())
	ping(t, l.Client, v6[0].String())
}
