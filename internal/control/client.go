package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"syscall"
)

// maxResponseBytes bounds one response line read by the client.
const maxResponseBytes = 16 << 20

// ErrUnreachable reports that Call or Stream found no daemon at the socket
// path: the socket is missing or nothing listens on it. Test for it with
// errors.Is.
var ErrUnreachable = errors.New("control: vipd is unreachable")

// ErrStop, returned by a Stream callback, ends the stream without error.
var ErrStop = errors.New("control: stop the stream")

type unreachableError struct {
	path string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("control: cannot reach vipd at %s: is the daemon running? (%v)", e.path, e.err)
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// Call sends req to the daemon listening at path and returns its first
// response. A command the daemon refused is not an error here: check
// resp.OK, or use resp.Err or resp.Decode. ctx bounds the whole exchange.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	var resp Response
	err := Stream(ctx, path, req, func(r Response) error {
		resp = r
		return ErrStop
	})
	if err != nil {
		return Response{}, err
	}
	return resp, nil
}

// Stream sends req to the daemon listening at path and calls fn with each
// response, in order, until the daemon closes the connection (Stream then
// returns nil), fn returns an error (Stream returns it, or nil for ErrStop)
// or ctx is done (Stream returns an error wrapping ctx.Err()). Failed
// responses are passed to fn like any other. It is an error if the daemon
// closes the connection without any response.
func Stream(ctx context.Context, path string, req Request, fn func(Response) error) error {
	if err := checkSocketPath(path); err != nil {
		return err
	}
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("control: encode request: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("control: %s: %w", req.Command, ctx.Err())
		}
		return dialError(path, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	// A write error is reported only if no response explains it: the daemon
	// may have refused the request (too large) before reading all of it.
	_, werr := conn.Write(append(line, '\n'))

	br := bufio.NewReader(conn)
	n := 0
	for {
		b, _, err := readLine(br, maxResponseBytes)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return fmt.Errorf("control: %s: %w", req.Command, ctx.Err())
			case errors.Is(err, io.EOF) && n > 0:
				return nil
			case errors.Is(err, io.EOF) && werr != nil:
				return fmt.Errorf("control: send request: %w", werr)
			case errors.Is(err, io.EOF):
				return fmt.Errorf("control: vipd closed the connection without answering %q", req.Command)
			case errors.Is(err, errLineTooLong):
				return fmt.Errorf("control: response exceeds %d bytes", maxResponseBytes)
			}
			return fmt.Errorf("control: read response: %w", err)
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		var resp Response
		if err := json.Unmarshal(b, &resp); err != nil {
			return fmt.Errorf("control: malformed response: %w", err)
		}
		n++
		if err := fn(resp); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
}

func dialError(path string, err error) error {
	// Report the syscall error, not the *net.OpError that repeats the path.
	cause := err
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Err != nil {
		cause = op.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return &unreachableError{path: path, err: cause}
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("control: permission denied on %s: the control socket is for root only (%w)", path, cause)
	}
	return fmt.Errorf("control: connect to %s: %w", path, cause)
}
