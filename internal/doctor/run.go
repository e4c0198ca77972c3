package doctor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vipd/vipd/internal/control"
)

// Defaults of Options.
const (
	// DefaultAnswerWait is how long answers to the ARP requests and
	// neighbor solicitations are collected after the last one.
	DefaultAnswerWait = time.Second
	// DefaultStatusTimeout bounds each call to the daemon.
	DefaultStatusTimeout = 2 * time.Second
)

// ErrNothingToCheck: no instance was given and no daemon answered to
// list them.
var ErrNothingToCheck = errors.New("doctor: no configuration and no running vipd to take the VIPs from")

// Options configure Run.
type Options struct {
	// Node is the node's name for the report; empty takes the daemon's.
	Node string
	// Instances are the instances to examine; nil takes them from the
	// running daemon's status.
	Instances []Instance
	// Socket is the daemon's control socket; "" leaves the daemon out.
	Socket string
	// AnswerWait: DefaultAnswerWait when zero.
	AnswerWait time.Duration
	// CheckTimeout bounds verify.Check; verify.DefaultCheckTimeout when
	// zero.
	CheckTimeout time.Duration
}

// daemonStatus asks the daemon at socket for its status. A missing daemon
// is not an error of the doctor run: it is reported in DaemonInfo.
func daemonStatus(ctx context.Context, socket string) (*control.Status, DaemonInfo) {
	info := DaemonInfo{Socket: socket}
	if socket == "" {
		return nil, info
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultStatusTimeout)
	defer cancel()
	req, err := control.NewRequest(control.CommandStatus, nil)
	if err != nil {
		info.Error = err.Error()
		return nil, info
	}
	resp, err := control.Call(ctx, socket, req)
	if err != nil {
		if errors.Is(err, control.ErrUnreachable) {
			info.Error = "not running"
		} else {
			info.Error = err.Error()
		}
		return nil, info
	}
	var st control.Status
	if err := resp.Decode(&st); err != nil {
		info.Error = fmt.Sprintf("status: %v", err)
		return nil, info
	}
	info.Running, info.PID, info.Version = true, st.PID, st.Version
	return &st, info
}
