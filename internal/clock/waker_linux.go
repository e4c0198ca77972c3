package clock

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdWaker is a Waker on a timerfd (CLOCK_MONOTONIC, non-blocking), read
// by one goroutine through the runtime's poller.
//
// Both the read and timerfd_settime are raw system calls: neither can
// block (the fd is non-blocking, the poller waits for it), and a raw call
// does not enter the scheduler's syscall state, whose entry wakes the
// runtime's monitor thread (sysmon) from its idle sleep. With Go timers
// sysmon also sleeps only until the next timer. Either way an idle daemon
// paid two or three thread wake-ups per advertisement instead of one.
type fdWaker struct {
	f    *os.File
	rc   syscall.RawConn
	ch   chan time.Time
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

func newFDWaker() (Waker, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("clock: timerfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("clock: timerfd: %w", err)
	}
	w := &fdWaker{f: f, rc: rc, ch: make(chan time.Time, 1), done: make(chan struct{})}
	go w.read()
	return w, nil
}

// read forwards each expiry to ch until the fd is closed.
func (w *fdWaker) read() {
	defer close(w.done)
	var buf [8]byte // the expiry count
	for {
		var errno syscall.Errno
		err := w.rc.Read(func(fd uintptr) bool {
			_, _, errno = unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
			return errno != unix.EAGAIN
		})
		if err != nil {
			return // closed
		}
		if errno != 0 {
			// ECANCELED and the like: the timer is re-armed by the
			// loop; a spurious firing is allowed.
			continue
		}
		select {
		case w.ch <- time.Now():
		default:
		}
	}
}

func (w *fdWaker) C() <-chan time.Time { return w.ch }

func (w *fdWaker) Set(d time.Duration) {
	// A zero it_value disarms a timerfd: at once means one nanosecond.
	w.settime(unix.NsecToTimespec(int64(max(d, time.Nanosecond))))
}

func (w *fdWaker) Stop() { w.settime(unix.Timespec{}) }

func (w *fdWaker) settime(v unix.Timespec) {
	select {
	case <-w.ch:
	default:
	}
	spec := unix.ItimerSpec{Value: v}
	// Control holds the fd open for the call; settime on a valid timerfd
	// with a valid spec cannot fail.
	_ = w.rc.Control(func(fd uintptr) {
		unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	})
	runtime.KeepAlive(&spec)
}

func (w *fdWaker) Close() error {
	w.closeOnce.Do(func() {
		w.closeErr = w.f.Close()
		<-w.done
		if w.closeErr != nil && !errors.Is(w.closeErr, os.ErrClosed) {
			w.closeErr = fmt.Errorf("clock: close timerfd: %w", w.closeErr)
		}
	})
	return w.closeErr
}
