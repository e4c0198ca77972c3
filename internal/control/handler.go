package control

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ResponseWriter sends responses to the client of one request. A handler
// may call Write any number of times (streaming); Write is safe for
// concurrent use. Once Write fails (the client hung up, or a write timed
// out) every later Write fails too, and the handler should return.
type ResponseWriter interface {
	Write(Response) error
}

// Handler answers one request. It writes at least one response to w; if it
// writes none, the server answers with an error on its behalf. ctx is
// cancelled when the client hangs up or the server stops, and a streaming
// handler must return when it is.
type Handler interface {
	ServeControl(ctx context.Context, req Request, w ResponseWriter)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, req Request, w ResponseWriter)

// ServeControl calls f(ctx, req, w).
func (f HandlerFunc) ServeControl(ctx context.Context, req Request, w ResponseWriter) {
	f(ctx, req, w)
}

// Reply writes one successful response carrying data. If data cannot be
// encoded it writes an error response instead and returns the encoding
// error.
func Reply(w ResponseWriter, data any) error {
	resp, err := NewResponse(data)
	if err != nil {
		_ = w.Write(ErrorResponse(err))
		return err
	}
	return w.Write(resp)
}

// Mux dispatches requests to a handler per command and answers unknown
// commands with an error listing the known ones. The zero value is an empty
// Mux ready to use.
type Mux struct {
	mu       sync.RWMutex       // guards handlers
	handlers map[string]Handler // by command
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{} }

// Handle registers h for command. It panics if command is empty, h is nil
// or command already has a handler: those are programming errors.
func (m *Mux) Handle(command string, h Handler) {
	if command == "" || h == nil {
		panic("control: Mux.Handle with empty command or nil handler")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.handlers[command]; dup {
		panic(fmt.Sprintf("control: command %q registered twice", command))
	}
	if m.handlers == nil {
		m.handlers = make(map[string]Handler)
	}
	m.handlers[command] = h
}

// HandleFunc registers f for command.
func (m *Mux) HandleFunc(command string, f func(ctx context.Context, req Request, w ResponseWriter)) {
	m.Handle(command, HandlerFunc(f))
}

// ServeControl dispatches req to the handler registered for req.Command.
func (m *Mux) ServeControl(ctx context.Context, req Request, w ResponseWriter) {
	m.mu.RLock()
	h, ok := m.handlers[req.Command]
	var known []string
	if !ok {
		for c := range m.handlers {
			known = append(known, c)
		}
	}
	m.mu.RUnlock()
	if !ok {
		slices.Sort(known)
		_ = w.Write(ErrorResponse(fmt.Errorf("control: unknown command %q (known: %s)", req.Command, strings.Join(known, ", "))))
		return
	}
	h.ServeControl(ctx, req, w)
}
