package control

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The commands of the daemon's control socket that have no data type of
// their own here ([CommandStatus] and [CommandEvents] sit next to theirs).
const (
	// CommandReload re-reads the configuration; the response is empty or
	// the reason it was rejected.
	CommandReload = "reload"
	// CommandMaintenance turns maintenance mode on or off; its Args are
	// daemon.MaintenanceArgs.
	CommandMaintenance = "maintenance"
)

// Request is one command sent to the daemon, encoded as a single JSON line.
type Request struct {
	// Command names what to do, e.g. "status".
	Command string `json:"command"`
	// Args holds the command's arguments, if it takes any.
	Args json.RawMessage `json:"args,omitempty"`
}

// NewRequest builds a request whose Args is args encoded as JSON. A nil args
// leaves Args empty.
func NewRequest(command string, args any) (Request, error) {
	req := Request{Command: command}
	if args == nil {
		return req, nil
	}
	b, err := json.Marshal(args)
	if err != nil {
		return Request{}, fmt.Errorf("control: encode %s args: %w", command, err)
	}
	req.Args = b
	return req, nil
}

// DecodeArgs decodes the request's Args into v. A request without Args
// leaves v untouched and returns nil, so v should hold the defaults.
func (r Request) DecodeArgs(v any) error {
	if len(r.Args) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Args, v); err != nil {
		return fmt.Errorf("control: decode %s args: %w", r.Command, err)
	}
	return nil
}

// Response is one answer from the daemon, encoded as a single JSON line.
type Response struct {
	// OK is true when the command succeeded.
	OK bool `json:"ok"`
	// Error says why the command failed; empty when OK.
	Error string `json:"error,omitempty"`
	// Data is the command's result, if it has one.
	Data json.RawMessage `json:"data,omitempty"`
}

// NewResponse builds a successful response whose Data is data encoded as
// JSON. A nil data leaves Data empty.
func NewResponse(data any) (Response, error) {
	resp := Response{OK: true}
	if data == nil {
		return resp, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return Response{}, fmt.Errorf("control: encode response: %w", err)
	}
	resp.Data = b
	return resp, nil
}

// ErrorResponse builds a failed response carrying err's message.
func ErrorResponse(err error) Response {
	if err == nil {
		err = errors.New("control: unspecified error")
	}
	return Response{Error: err.Error()}
}

// Err returns nil for a successful response and a *RemoteError for a
// failed one.
func (r Response) Err() error {
	if r.OK {
		return nil
	}
	msg := r.Error
	if msg == "" {
		msg = "control: request failed without a reason"
	}
	return &RemoteError{Message: msg}
}

// Decode decodes the response's Data into v. For a failed response it
// returns r.Err() instead.
func (r Response) Decode(v any) error {
	if err := r.Err(); err != nil {
		return err
	}
	if len(r.Data) == 0 {
		return errors.New("control: response has no data")
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("control: decode response: %w", err)
	}
	return nil
}

// RemoteError is a failure reported by the daemon in a Response, as
// opposed to an error reaching or talking to it.
type RemoteError struct {
	// Message is the daemon's error text.
	Message string
}

func (e *RemoteError) Error() string { return e.Message }
