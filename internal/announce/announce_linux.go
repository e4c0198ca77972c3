//go:build linux

package announce

import (
	"fmt"
	"net"
	"time"

	"github.com/mdlayher/packet"
)

// sendTimeout bounds one write, so that a stuck queue cannot hold the
// pacer (and a Cancel waiting for it) for long.
const sendTimeout = 200 * time.Millisecond

// OpenSender opens an AF_PACKET SOCK_RAW socket on ifi for writing whole
// Ethernet frames. It is bound to protocol 0, so it receives nothing; the
// kernel takes each frame's protocol from its EtherType. It needs
// CAP_NET_RAW in the network namespace of ifi, and must be opened in that
// namespace.
func OpenSender(ifi *net.Interface) (SenderCloser, error) {
	c, err := packet.Listen(ifi, packet.Raw, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("announce: open packet socket on %s: %w", ifi.Name, err)
	}
	return &packetSender{c: c, name: ifi.Name}, nil
}

type packetSender struct {
	c    *packet.Conn
	name string
}

// Send writes frame as is. It is safe for concurrent use.
func (s *packetSender) Send(frame []byte) error {
	if len(frame) < ethHeaderLen {
		return fmt.Errorf("announce: send on %s: %d-byte frame: %w", s.name, len(frame), ErrPacket)
	}
	if err := s.c.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return fmt.Errorf("announce: send on %s: %w", s.name, err)
	}
	// For SOCK_RAW the kernel ignores the address's MAC; the frame's own
	// destination is what goes on the wire.
	if _, err := s.c.WriteTo(frame, &packet.Addr{HardwareAddr: net.HardwareAddr(frame[0:6])}); err != nil {
		return fmt.Errorf("announce: send on %s: %w", s.name, err)
	}
	return nil
}

func (s *packetSender) Close() error {
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("announce: close packet socket on %s: %w", s.name, err)
	}
	return nil
}
