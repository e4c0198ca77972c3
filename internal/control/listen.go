package control

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// maxSocketPath is the longest path a Unix socket can have: sun_path is 108
// bytes on Linux, including the terminating NUL.
const maxSocketPath = 107

// probeTimeout bounds the connect that tells a live socket from a stale one.
const probeTimeout = time.Second

// ErrSocketInUse reports that Listen found another running vipd answering
// on the socket path. Test for it with errors.Is.
var ErrSocketInUse = errors.New("control: socket is in use by a running vipd")

type inUseError struct{ path string }

func (e *inUseError) Error() string {
	return fmt.Sprintf("control: socket %s is in use by a running vipd", e.path)
}

func (e *inUseError) Is(target error) bool { return target == ErrSocketInUse }

// Listen creates the control socket at path, readable and writable by its
// owner only (mode 0600), and returns its listener.
//
// It creates the parent directory (mode 0755) if needed. If path is a socket
// that something still answers on, Listen fails with an error matching
// ErrSocketInUse and leaves it alone; if nothing answers, the stale file is
// removed. A path that exists but is not a socket is never touched.
//
// The socket is bound under a temporary name in the same directory, chmod'ed
// and then hard-linked to path, so it never appears at path with a looser
// mode, and a socket another process creates meanwhile is never replaced.
// When the temporary name would be too long for a socket address, Listen
// binds path directly and chmods it right after.
//
// Closing the listener removes path, unless it no longer names this socket.
func Listen(path string) (net.Listener, error) {
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control: create socket directory: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ul, err := bindPrivate(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		ul.Close()
		return nil, fmt.Errorf("control: stat socket: %w", err)
	}
	return &listener{UnixListener: ul, path: path, fi: fi}, nil
}

func checkSocketPath(path string) error {
	if path == "" {
		return errors.New("control: empty socket path")
	}
	if len(path) > maxSocketPath {
		return fmt.Errorf("control: socket path %s is too long (%d bytes, at most %d)", path, len(path), maxSocketPath)
	}
	return nil
}

// removeStale makes path free for a new socket: it removes a socket nothing
// answers on and refuses a live socket or a file that is not a socket.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: stat %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control: %s exists and is not a socket; not replacing it", path)
	}
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	switch {
	case err == nil:
		conn.Close()
		return &inUseError{path: path}
	case errors.Is(err, fs.ErrNotExist):
		return nil // removed since the Lstat
	case !errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("control: probe existing socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control: remove stale socket %s: %w", path, err)
	}
	return nil
}

// bindPrivate binds a Unix socket at path with mode 0600.
func bindPrivate(path string) (*net.UnixListener, error) {
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".ctl%08x", rand.Uint32()))
	if len(tmp) > maxSocketPath {
		return bindChmod(path)
	}
	ul, err := bindChmod(tmp)
	if err != nil {
		return nil, err
	}
	err = os.Link(tmp, path)
	os.Remove(tmp)
	if err != nil {
		ul.Close()
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("control: socket %s was created by another process while vipd was starting: %w", path, err)
		}
		return nil, fmt.Errorf("control: publish socket %s: %w", path, err)
	}
	return ul, nil
}

func bindChmod(path string) (*net.UnixListener, error) {
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: listen on %s: %w", path, err)
	}
	// The listener wrapper removes the published path; the name bound here
	// may be a temporary one.
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ul.Close()
		os.Remove(path)
		return nil, fmt.Errorf("control: chmod socket %s: %w", path, err)
	}
	return ul, nil
}

// listener is the control socket's listener: it reports the published path
// as its address and removes that path on Close if it is still this socket.
type listener struct {
	*net.UnixListener
	path   string
	fi     fs.FileInfo // the socket file, to recognise it on Close
	remove sync.Once
}

func (l *listener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func (l *listener) Close() error {
	err := l.UnixListener.Close()
	l.remove.Do(func() {
		if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.fi) {
			os.Remove(l.path)
		}
	})
	return err
}
