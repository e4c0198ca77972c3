package vipaddr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// batchSize is how many address requests go into one write to the kernel.
// Every request is acknowledged on its own; with NETLINK_CAP_ACK an
// acknowledgement is a small datagram, and a batch's worth of them fits the
// receive buffer many times over (see openBatchSock), so none is dropped.
const batchSize = 128

// batchSock is a raw rtnetlink socket that sends address requests in
// batches: one sendto carries up to batchSize RTM_NEWADDR or RTM_DELADDR
// messages, each with NLM_F_ACK and a sequence number of its own, and the
// kernel answers each in order, carrying on after a failed one. The caller
// serializes its use.
type batchSock struct {
	fd   int
	seq  uint32
	req  []byte // the batch being built, reused
	resp []byte // receive buffer
}

// openBatchSock opens the socket in the network namespace of the calling
// thread. Sends and receives that take longer than timeout fail.
func openBatchSock(timeout time.Duration) (*batchSock, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	s := &batchSock{fd: fd, seq: uint32(time.Now().UnixNano()), resp: make([]byte, 64<<10)}
	if err := s.setup(timeout); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return s, nil
}

func (s *batchSock) setup(timeout time.Duration) error {
	if err := unix.Bind(s.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	// Acknowledgements of failed requests without a copy of the request.
	if err := unix.SetsockoptInt(s.fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1); err != nil {
		return fmt.Errorf("NETLINK_CAP_ACK: %w", err)
	}
	// Each acknowledgement takes about 1 KiB of the buffer (its skb's
	// truesize); room for several batches. Best effort: the default
	// (rmem_default, usually 208 KiB) holds one batch.
	if unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 1<<20) != nil {
		_ = unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	}
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("SO_RCVTIMEO: %w", err)
	}
	if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("SO_SNDTIMEO: %w", err)
	}
	return nil
}

func (s *batchSock) close() error { return unix.Close(s.fd) }

// errNoAnswer is the result of a request the kernel did not answer before
// the socket's timeout (or whose answer it dropped).
var errNoAnswer = errors.New("no answer from the kernel")

// do sends one RTM_NEWADDR (with NLM_F_CREATE|NLM_F_EXCL) or RTM_DELADDR
// per prefix, all on ifindex, in one write, and stores the kernel's answer
// to the request for vips[i] in errs[i]: nil, a unix.Errno, or errNoAnswer
// wrapped with why. vips holds at most batchSize prefixes; the kernel
// handles the requests in their order.
func (s *batchSock) do(typ uint16, ifindex int, vips []netip.Prefix, errs []error) {
	flags := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK)
	if typ == unix.RTM_NEWADDR {
		flags |= unix.NLM_F_CREATE | unix.NLM_F_EXCL
	}
	first := s.seq + 1
	s.req = s.req[:0]
	for _, p := range vips {
		s.seq++
		s.req = appendAddrMsg(s.req, typ, flags, s.seq, ifindex, p)
	}
	answered := make([]bool, len(vips))
	left := len(vips)
	fail := func(err error) {
		for i := range errs {
			if !answered[i] {
				errs[i] = err
			}
		}
	}
	if err := unix.Sendto(s.fd, s.req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		fail(fmt.Errorf("send: %w", err))
		return
	}
	for left > 0 {
		n, from, err := unix.Recvfrom(s.fd, s.resp, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			fail(fmt.Errorf("%w within the socket timeout", errNoAnswer))
			return
		case err == unix.ENOBUFS:
			// The receive buffer overflowed and answers were dropped.
			fail(fmt.Errorf("%w: %w", errNoAnswer, err))
			return
		case err != nil:
			fail(fmt.Errorf("receive: %w", err))
			return
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // not from the kernel
		}
		for b := s.resp[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := binary.NativeEndian.Uint32(b[0:4])
			if l < unix.NLMSG_HDRLEN || int(l) > len(b) {
				break
			}
			mtype := binary.NativeEndian.Uint16(b[4:6])
			i := binary.NativeEndian.Uint32(b[8:12]) - first
			if mtype == unix.NLMSG_ERROR && l >= unix.NLMSG_HDRLEN+4 && i < uint32(len(vips)) && !answered[i] {
				// struct nlmsgerr starts with the negated errno (0: done).
				if e := int32(binary.NativeEndian.Uint32(b[16:20])); e != 0 {
					errs[i] = unix.Errno(-e)
				} else {
					errs[i] = nil
				}
				answered[i] = true
				left--
			}
			b = b[min(nlmAlign(int(l)), len(b)):]
		}
	}
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// appendAddrMsg appends one address request: struct nlmsghdr, struct
// ifaddrmsg, IFA_LOCAL, IFA_ADDRESS and, for IPv4 prefixes shorter than
// /31, IFA_BROADCAST. These are the attributes vishvananda/netlink's
// AddrAdd and AddrDel send for the same address, so the kernel sees the
// same requests as before batching. IPv6 gets IFA_F_NODAD.
func appendAddrMsg(b []byte, typ, flags uint16, seq uint32, ifindex int, p netip.Prefix) []byte {
	a := p.Addr()
	ip := a.AsSlice()
	family, ifaFlags := uint8(unix.AF_INET), uint8(0)
	if a.Is6() {
		family, ifaFlags = unix.AF_INET6, unix.IFA_F_NODAD
	}
	start := len(b)
	b = binary.NativeEndian.AppendUint32(b, 0) // nlmsg_len, set below
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // nlmsg_pid: the kernel's
	b = append(b, family, uint8(p.Bits()), ifaFlags, 0 /* scope universe */)
	b = binary.NativeEndian.AppendUint32(b, uint32(ifindex))
	b = appendAttr(b, unix.IFA_LOCAL, ip)
	b = appendAttr(b, unix.IFA_ADDRESS, ip)
	if a.Is4() && p.Bits() < 31 {
		brd := a.As4()
		host := ^uint32(0) >> p.Bits()
		binary.BigEndian.PutUint32(brd[:], binary.BigEndian.Uint32(brd[:])|host)
		b = appendAttr(b, unix.IFA_BROADCAST, brd[:])
	}
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// appendAttr appends a route attribute with a 4- or 16-byte payload (no
// padding needed).
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(unix.SizeofRtAttr+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	return append(b, data...)
}
