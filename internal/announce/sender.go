package announce

import "io"

// Sender writes complete Ethernet frames on one interface. On Linux,
// OpenSender returns one backed by an AF_PACKET socket; tests use
// announcetest.Recorder.
type Sender interface {
	Send(frame []byte) error
}

// SenderCloser is a Sender that owns a socket.
type SenderCloser interface {
	Sender
	io.Closer
}
