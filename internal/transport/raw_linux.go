package transport

import (
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// The steady-state path of VRRP — a master's advert every interval, a
// backup reading it — uses raw system calls through the runtime poller's
// syscall.RawConn. Neither call can block (the sockets are non-blocking;
// the poller waits for them), and a raw call does not enter the
// scheduler's syscall state, whose entry wakes the runtime's monitor
// thread from its idle sleep: the plain calls cost an idle daemon two or
// three thread wake-ups per advert instead of one (see
// clock/waker_linux.go and docs/benchmarks.md, "Idle CPU").

// rawFrames is the packet socket, read with raw recvfrom calls.
type rawFrames struct {
	*packet.Conn
	rc     syscall.RawConn
	closed atomic.Bool
}

func newRawFrames(c *packet.Conn) (*rawFrames, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &rawFrames{Conn: c, rc: rc}, nil
}

// ReadFrom reads one frame into b (truncated to len(b)). It does not
// report the sender's address. After Close it returns an error wrapping
// net.ErrClosed; a read deadline gives os.ErrDeadlineExceeded.
func (f *rawFrames) ReadFrom(b []byte) (int, net.Addr, error) {
	if len(b) == 0 {
		return 0, nil, nil
	}
	var (
		n     uintptr
		errno syscall.Errno
	)
	err := f.rc.Read(func(fd uintptr) bool {
		n, _, errno = unix.RawSyscall6(unix.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
		return errno != unix.EAGAIN && errno != unix.EINTR
	})
	switch {
	case err != nil && f.closed.Load():
		return 0, nil, &net.OpError{Op: "read", Net: "packet", Err: net.ErrClosed}
	case err != nil:
		return 0, nil, err
	case errno != 0:
		return 0, nil, &net.OpError{Op: "read", Net: "packet", Err: os.NewSyscallError("recvfrom", errno)}
	}
	return int(n), nil, nil
}

func (f *rawFrames) Close() error {
	f.closed.Store(true)
	return f.Conn.Close()
}

// sendmsg sends b with the control message oob to the socket address sa
// (salen bytes) with one raw sendmsg call, waiting in the poller while the
// socket's buffer is full.
func sendmsg(rc syscall.RawConn, b, oob []byte, sa unsafe.Pointer, salen uint32) error {
	var msg unix.Msghdr
	var iov unix.Iovec
	if len(b) > 0 {
		iov.Base = &b[0]
		iov.SetLen(len(b))
	}
	msg.Name = (*byte)(sa)
	msg.Namelen = salen
	msg.Iov = &iov
	msg.SetIovlen(1)
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	var errno syscall.Errno
	err := rc.Write(func(fd uintptr) bool {
		_, _, errno = unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
		return errno != unix.EAGAIN && errno != unix.EINTR
	})
	runtime.KeepAlive(b)
	runtime.KeepAlive(oob)
	if err != nil {
		return err
	}
	if errno != 0 {
		return os.NewSyscallError("sendmsg", errno)
	}
	return nil
}
