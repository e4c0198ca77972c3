package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/netmon"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vipaddr"
	"github.com/vipd/vipd/internal/vmac"
	"github.com/vipd/vipd/internal/watch"
)

// LinuxEnv is the real Env: netlink, AF_PACKET and raw IP sockets.
type LinuxEnv struct {
	addrs  *vipaddr.Netlink
	kernel *netmon.Monitor
	log    *slog.Logger

	mu   sync.Mutex // guards icmp
	icmp *verify.ICMP
}

// NewLinuxEnv opens the netlink handle used for addresses and the monitor
// of the kernel's links and addresses (it returns once the monitor holds a
// first full dump).
func NewLinuxEnv(log *slog.Logger) (*LinuxEnv, error) {
	a, err := vipaddr.NewNetlink()
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	m, err := netmon.Open(netmon.Options{Logger: log})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return &LinuxEnv{addrs: a, kernel: m, log: log}, nil
}

// Kernel implements Env.
func (e *LinuxEnv) Kernel() Kernel { return monitorKernel{e.kernel} }

func (e *LinuxEnv) InterfaceByName(name string) (*net.Interface, error) {
	return net.InterfaceByName(name)
}

func (e *LinuxEnv) SourceAddr(ifi *net.Interface, ipv6 bool, exclude []netip.Prefix) (netip.Addr, error) {
	ex := make([]netip.Addr, len(exclude))
	for i, p := range exclude {
		ex[i] = p.Addr()
	}
	return transport.PrimaryAddr(ifi, ipv6, ex...)
}

func (e *LinuxEnv) PrepareInterface(ifi *net.Interface) error {
	return vipaddr.PrepareInterface(ifi.Name)
}

func (e *LinuxEnv) ListenVRRP(ifi *net.Interface, ipv6 bool) (transport.PacketConn, error) {
	return transport.Listen(ifi, ipv6)
}

func (e *LinuxEnv) OpenSender(ifi *net.Interface) (announce.SenderCloser, error) {
	return announce.OpenSender(ifi)
}

func (e *LinuxEnv) Addresses() vipaddr.Addresses { return e.addrs }

// Prober opens the daemon's ICMP sockets on first use.
func (e *LinuxEnv) Prober() (verify.Prober, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.icmp == nil {
		p, err := verify.ListenICMP(verify.DefaultReplyWindow, e.log)
		if err != nil {
			return nil, err
		}
		e.icmp = p
	}
	return e.icmp, nil
}

func (e *LinuxEnv) Neighbors() verify.Neighbors { return &verify.NetlinkNeighbors{} }

func (e *LinuxEnv) Targets(ifindex int, vips []netip.Prefix, configured []netip.Addr) ([]netip.Addr, error) {
	return verify.Targets(ifindex, vips, configured)
}

func (e *LinuxEnv) OpenWatcher(ifi *net.Interface, deps watch.Deps) (*watch.Watcher, error) {
	return watch.Open(ifi, deps)
}

// Close releases the shared sockets.
func (e *LinuxEnv) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.icmp != nil {
		e.icmp.Close()
		e.icmp = nil
	}
	e.kernel.Close()
	return e.addrs.Close()
}

// VirtualMACs are package vmac's netlink operations.
func (e *LinuxEnv) VirtualMACs() VirtualMACs { return linuxVMACs{} }

type linuxVMACs struct{}

func (linuxVMACs) Ensure(s vmac.Spec) (int, error)  { return vmac.Ensure(s) }
func (linuxVMACs) SetUp(s vmac.Spec, up bool) error { return vmac.SetUp(s, up) }
func (linuxVMACs) Delete(s vmac.Spec) error         { return vmac.Delete(s) }
func (linuxVMACs) Leftovers() ([]vmac.Spec, error)  { return vmac.Leftovers() }
func (linuxVMACs) PrepareParent(ifname string) (vmac.Restore, error) {
	return vmac.PrepareParent(ifname)
}
func (linuxVMACs) OpenWriter(name string, ipv6 bool) (transport.Writer, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("daemon: %s is down", name)
	}
	return transport.OpenWriter(ifi, ipv6)
}
