package daemon

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/transport/transporttest"
	"github.com/vipd/vipd/internal/vrrp"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustAdvert(t *testing.T, vrid, prio uint8, src, dst netip.Addr) []byte {
	t.Helper()
	a := vrrp.Advertisement{VRID: vrid, Priority: prio, MaxAdvertInterval: 2,
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}}
	b, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// advertise sends adverts from c every 20 ms until stopped.
func advertise(t *testing.T, c *transporttest.Conn, src string, prio uint8) func() {
	s, dst := netip.MustParseAddr(src), netip.MustParseAddr("224.0.0.18")
	b := mustAdvert(t, 42, prio, s, dst)
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			c.WriteTo(b, s, dst)
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() { close(done) }
}

// TestMain fails the package when a test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
