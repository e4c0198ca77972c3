package daemon

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/vipaddr"
)

// LinuxEnv is the real Env: netlink, AF_PACKET and raw IP sockets.
type LinuxEnv struct {
	addrs *vipaddr.Netlink
}

// NewLinuxEnv opens the netlink handle used for addresses.
func NewLinuxEnv() (*LinuxEnv, error) {
	a, err := vipaddr.NewNetlink()
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return &LinuxEnv{addrs: a}, nil
}

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
