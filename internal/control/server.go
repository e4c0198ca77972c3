package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// Defaults for the zero fields of a Server.
const (
	// DefaultMaxRequestBytes is the largest request line accepted.
	DefaultMaxRequestBytes = 64 << 10
	// DefaultReadTimeout bounds the wait for a client's request.
	DefaultReadTimeout = 5 * time.Second
	// DefaultWriteTimeout bounds each response write, so a client that stops
	// reading cannot hold a handler forever.
	DefaultWriteTimeout = 10 * time.Second
)

// Bounds of the back-off after a temporary Accept error (such as EMFILE).
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// Server serves control requests on a listener. The zero value of each
// optional field selects its default.
type Server struct {
	// Handler answers requests. Required.
	Handler Handler
	// Log receives the server's messages; nil discards them.
	Log *slog.Logger
	// MaxRequestBytes is the largest request line accepted, newline excluded.
	MaxRequestBytes int
	// ReadTimeout bounds the time from connect to a complete request.
	ReadTimeout time.Duration
	// WriteTimeout bounds each response write.
	WriteTimeout time.Duration
}

// Serve serves requests on ln with h until ctx is cancelled, using the
// defaults of Server. See Server.Serve.
func Serve(ctx context.Context, ln net.Listener, h Handler, log *slog.Logger) error {
	s := &Server{Handler: h, Log: log}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln and answers each in its own goroutine
// until ctx is cancelled. Cancelling ctx closes ln and every open
// connection, cancels the handlers' contexts and waits for the handlers to
// return; Serve then returns nil. Serve always closes ln. Temporary accept
// errors (out of file descriptors) are logged and retried with back-off;
// other accept errors end Serve with that error.
//
// A request that is malformed, too large or not complete within ReadTimeout
// gets an error response and the connection is closed; it never reaches the
// handler. A handler that panics is answered with an error response; the
// panic is logged and does not stop the server.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Handler == nil {
		ln.Close()
		return errors.New("control: Serve without a handler")
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	var conns sync.WaitGroup
	defer func() {
		cancel()
		ln.Close()
		conns.Wait()
	}()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !temporaryAcceptError(err) {
				return fmt.Errorf("control: accept: %w", err)
			}
			backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
			log.Warn("control accept failed, retrying", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		backoff = 0
		conns.Go(func() { s.serveConn(ctx, conn, log) })
	}
}

func temporaryAcceptError(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// serveConn reads the connection's one request and hands it to the handler.
func (s *Server) serveConn(ctx context.Context, conn net.Conn, log *slog.Logger) {
	ctx, cancel := context.WithCancel(ctx)
	// Cancelling ctx (server stop, client hang-up, handler done) closes conn,
	// which unblocks any read or write on it.
	stopClose := context.AfterFunc(ctx, func() { conn.Close() })
	var hangup sync.WaitGroup
	defer func() {
		cancel()
		stopClose()
		conn.Close()
		hangup.Wait()
	}()

	w := &connWriter{conn: conn, timeout: orDefault(s.WriteTimeout, DefaultWriteTimeout)}
	br := bufio.NewReader(conn)
	limit := s.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	if err := conn.SetReadDeadline(time.Now().Add(orDefault(s.ReadTimeout, DefaultReadTimeout))); err != nil {
		return // closed already
	}
	line, atEOF, err := readLine(br, limit)
	if errors.Is(err, io.EOF) {
		log.Debug("control client left without a request")
		return
	}
	var req Request
	if err == nil {
		req, err = parseRequest(line)
	}
	if err != nil {
		err = requestError(err, limit)
		log.Warn("control bad request", "err", err)
		_ = w.Write(ErrorResponse(err))
		return
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return
	}
	if !atEOF {
		// The client sends nothing after its request, so the read side ending
		// means it hung up. (A request ended by EOF instead of a newline came
		// from a client that half-closed: nothing more to learn from reading.)
		hangup.Go(func() {
			_, _ = io.Copy(io.Discard, br)
			cancel()
		})
	}

	log.Debug("control request", "command", req.Command)
	s.dispatch(ctx, req, w, log)
	if w.count() == 0 {
		_ = w.Write(ErrorResponse(fmt.Errorf("control: command %q sent no response", req.Command)))
	}
}

func (s *Server) dispatch(ctx context.Context, req Request, w ResponseWriter, log *slog.Logger) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("control handler panicked", "command", req.Command, "panic", p, "stack", string(debug.Stack()))
			_ = w.Write(ErrorResponse(fmt.Errorf("control: internal error while handling %q", req.Command)))
		}
	}()
	s.Handler.ServeControl(ctx, req, w)
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line of at most limit bytes, newline excluded, and
// returns it without the newline. A final line ended by EOF instead of a
// newline is returned with atEOF set; io.EOF alone means there was nothing
// left to read.
func readLine(br *bufio.Reader, limit int) (line []byte, atEOF bool, err error) {
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		content := len(line)
		if err == nil {
			content-- // the newline
		}
		if content > limit {
			return nil, false, errLineTooLong
		}
		switch {
		case err == nil:
			return line[:content], false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, true, nil
		default:
			return nil, false, err
		}
	}
}

// requestError turns a failure to read or parse a request into the message
// the client gets.
func requestError(err error, limit int) error {
	switch {
	case errors.Is(err, errLineTooLong):
		return fmt.Errorf("control: request exceeds %d bytes", limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errors.New("control: timed out waiting for the request")
	}
	return err
}

// parseRequest decodes one request line.
func parseRequest(line []byte) (Request, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return Request{}, errors.New("control: empty request")
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Request{}, fmt.Errorf("control: malformed request: %w", err)
	}
	if req.Command == "" {
		return Request{}, errors.New("control: request has no command")
	}
	return req, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// connWriter writes responses as JSON lines to one connection.
type connWriter struct {
	conn    net.Conn
	timeout time.Duration

	mu  sync.Mutex // guards the conn's write side, n and err
	n   int        // responses written
	err error      // first write error; sticky
}

func (w *connWriter) Write(resp Response) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("control: encode response: %w", err)
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	err = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	if err == nil {
		_, err = w.conn.Write(b)
	}
	if err != nil {
		w.err = fmt.Errorf("control: write response: %w", err)
		return w.err
	}
	w.n++
	return nil
}

func (w *connWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}
