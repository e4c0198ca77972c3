// Package control implements vipd's control socket: the Unix socket the
// daemon listens on, the client the vipd CLI uses to talk to it, and the
// status types (and their human rendering) behind `vipd status`.
//
// The control protocol is vipd's own, not an RFC. It is newline-delimited
// JSON over a Unix stream socket that only root can use (mode 0600):
//
//	client → daemon   {"command":"status","args":{...}}\n      exactly one request
//	daemon → client   {"ok":true,"data":{...}}\n                one or more responses
//	                  {"ok":false,"error":"..."}\n
//
// A connection carries one request. The request ends at a newline (or at
// EOF when the client half-closes its side) and may be at most
// [DefaultMaxRequestBytes] long. The daemon answers with one response for an
// ordinary command; a streaming command (such as `vipd events`) keeps writing
// responses until it is done, the client hangs up or the daemon stops. After
// its request a client must keep the connection open until it has read what
// it wants: the read side going EOF tells the daemon the client hung up, and
// cancels the handler's context.
//
// The daemon side is [Listen] (create the socket, refusing to take over one
// that a running vipd still answers on, and replacing a stale one) and
// [Serve] with a [Handler], typically a [Mux] of commands. The CLI side is
// [Call] for one answer and [Stream] for many.
//
// [Status] is the data of the "status" command. Its JSON encoding is a
// contract for `vipd status --json`: snake_case keys, RFC 3339 times and
// durations as Go duration strings ("100ms"). [RenderStatus] draws the view
// an operator reads.
package control
