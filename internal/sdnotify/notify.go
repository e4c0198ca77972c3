package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// ErrUnsupportedSocket is wrapped in the error returned for a $NOTIFY_SOCKET that is neither an
// absolute path nor an abstract socket name ('@…'), such as systemd's
// vsock: addresses for virtual machines.
var ErrUnsupportedSocket = errors.New("unsupported NOTIFY_SOCKET address")

// sendTimeout bounds a send, should the manager's socket queue be full.
const sendTimeout = 2 * time.Second

// Notify sends state, one or more newline-separated VARIABLE=value
// assignments, to the service manager at $NOTIFY_SOCKET. It reports whether
// the message was sent: false with a nil error when $NOTIFY_SOCKET is unset.
func Notify(state string) (bool, error) {
	return send(os.Getenv("NOTIFY_SOCKET"), state)
}

// Ready tells the service manager that start-up is finished (READY=1), and
// after a reload that the reload is.
func Ready() (bool, error) { return Notify("READY=1") }

// Stopping tells the service manager that the service is shutting down
// (STOPPING=1).
func Stopping() (bool, error) { return Notify("STOPPING=1") }

// Reloading tells the service manager that the service is reloading its
// configuration (RELOADING=1), with the CLOCK_MONOTONIC time in
// microseconds (MONOTONIC_USEC) that systemd ≥ 253 uses to match the
// message with the reload it asked for. Send [Ready] when the reload is
// done, whether or not it succeeded.
func Reloading() (bool, error) { return Notify(reloadingState()) }

func reloadingState() string {
	if us, ok := monotonicUsec(); ok {
		return fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", us)
	}
	return "RELOADING=1"
}

// Status sets the one-line status that `systemctl status` shows
// (STATUS=msg). Newlines in msg, which would end the assignment, become
// spaces.
func Status(msg string) (bool, error) {
	return Notify("STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg))
}

// send sends state to socket, a $NOTIFY_SOCKET value; see Notify.
func send(socket, state string) (bool, error) {
	if socket == "" {
		return false, nil
	}
	if err := write(socket, state); err != nil {
		return false, fmt.Errorf("sdnotify: notify: %w", err)
	}
	return true, nil
}

// write sends state to socket as one datagram.
func write(socket, state string) error {
	addr, err := socketAddr(socket)
	if err != nil {
		return err
	}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return err
	}
	_, err = conn.Write([]byte(state))
	return err
}

// socketAddr parses a $NOTIFY_SOCKET value. Go's net package turns a
// leading '@' into the NUL byte of a Linux abstract socket address.
func socketAddr(socket string) (*net.UnixAddr, error) {
	switch {
	case strings.HasPrefix(socket, "/"):
	case strings.HasPrefix(socket, "@") && len(socket) > 1:
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedSocket, socket)
	}
	return &net.UnixAddr{Name: socket, Net: "unixgram"}, nil
}
