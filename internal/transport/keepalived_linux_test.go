package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/testutil"
)

const keepalivedConf = `global_defs {
    router_id vt-transport
    vrrp_version 3
}
vrrp_instance V4 {
    state MASTER
    interface va
    virtual_router_id 51
    priority 200
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/32
    }
}
vrrp_instance V6 {
    state MASTER
    interface va
    virtual_router_id 52
    priority 200
    advert_int 1
    virtual_ipaddress {
        2001:db8::100/128
    }
}
`

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startKeepalived runs keepalived in namespace ns until the test ends.
func startKeepalived(t *testing.T, ns, conf string) {
	t.Helper()
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived is not installed")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs keepalived in place, so cmd.Process is keepalived
	// itself; -n keeps it in the foreground, and it stops its VRRP child
	// when it gets SIGTERM.
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-n", "-l", "-D", "-f", cfg,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start keepalived: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("keepalived ignored SIGTERM for 10s")
		}
		if t.Failed() {
			t.Logf("keepalived output:\n%s", out.String())
		}
	})
}

func TestIntegrationKeepalived(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := newLink(t)
	b.open(t, "vb")
	var src4, src6 netip.Addr
	err := testutil.InNS(a.ns, func() error {
		ifi, err := net.InterfaceByName("va")
		if err != nil {
			return err
		}
		if src4, err = PrimaryAddr(ifi, false); err != nil {
			return err
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			src6, err = PrimaryAddr(ifi, true)
			if !errors.Is(err, ErrNoAddress) || time.Now().After(deadline) {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	startKeepalived(t, a.ns, keepalivedConf)

	tests := []struct {
		name     string
		ipv6     bool
		vrid     byte
		src, dst netip.Addr
	}{
		{"ipv4", false, 51, src4, IPv4Group},
		{"ipv6", true, 52, src6, IPv6Group},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// keepalived starts in BACKUP and takes over after its
			// Master_Down_Interval (about 3s with advert_int 1).
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p, err := b.conn(tt.ipv6).ReadPacket(ctx)
			if err != nil {
				t.Fatalf("no advert from keepalived: %v", err)
			}
			if p.Src != tt.src || p.Dst != tt.dst || p.TTL != 255 {
				t.Errorf("src, dst, TTL = %v, %v, %d; want %v, %v, 255", p.Src, p.Dst, p.TTL, tt.src, tt.dst)
			}
			if p.SrcMAC.String() != a.mac.String() {
				t.Errorf("SrcMAC = %v, want %v", p.SrcMAC, a.mac)
			}
			// VRRPv3 advertisement (version 3, type 1) for the VRID, one
			// address: 8 bytes of header and the address.
			addrLen := 4
			if tt.ipv6 {
				addrLen = 16
			}
			if len(p.Payload) != 8+addrLen || p.Payload[0] != 0x31 || p.Payload[1] != tt.vrid || p.Payload[2] != 200 || p.Payload[3] != 1 {
				t.Errorf("payload = %x, want a VRRPv3 advert for VRID %d, priority 200, 1 address", p.Payload, tt.vrid)
			}
			// The VRRPv3 checksum (RFC 5798 §5.2.8) covers a pseudo-header
			// and the whole message: it verifies only if the payload arrived
			// byte for byte, with no padding left on.
			if sum := checksum(append(pseudoHeader(p.Src, p.Dst, len(p.Payload)), p.Payload...)); sum != 0 {
				t.Errorf("VRRP checksum does not verify (%#04x): payload %x", sum, p.Payload)
			}
		})
	}
}

// pseudoHeader is the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1) pseudo-header
// for protocol 112.
func pseudoHeader(src, dst netip.Addr, length int) []byte {
	b := append(src.AsSlice(), dst.AsSlice()...)
	if src.Is4() {
		return append(b, 0, ProtocolVRRP, byte(length>>8), byte(length))
	}
	return append(b, 0, 0, byte(length>>8), byte(length), 0, 0, 0, ProtocolVRRP)
}
