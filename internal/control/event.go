package control

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// CommandEvents streams Events until the client hangs up.
const CommandEvents = "events"

// Event types.
const (
	EventState       = "state"       // a VRRP state transition
	EventVerify      = "verify"      // a VIP's verification state changed
	EventRemediation = "remediation" // a repair step was sent for a stale VIP
	EventConflict    = "conflict"    // another host answers for a VIP we hold
	EventMisdirected = "misdirected" // traffic for a VIP we do not hold arrives here
	EventHealth      = "health"      // a health check changed
	EventReload      = "reload"      // the configuration was reloaded (or rejected)
	EventMaintenance = "maintenance" // maintenance mode changed
	// EventAddress: a VIP changed behind vipd's back. Message "restored":
	// it was removed from a master and vipd put it back; "unexpected": it
	// appeared on a node that is not master (vipd did not add it).
	EventAddress = "address"
	// EventLink: an interface lost or regained its link, or a socket on it
	// failed and was resumed or reopened.
	EventLink = "link"
	// EventBGP: a BGP session changed state (routed mode).
	EventBGP = "bgp"
)

// Event is one line of `vipd events --json`.
type Event struct {
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Instance string            `json:"instance,omitempty"`
	VIP      string            `json:"vip,omitempty"`
	Message  string            `json:"message"`
	Fields   map[string]string `json:"fields,omitempty"`
}

// RenderEvent writes e as one human-readable line.
func RenderEvent(w io.Writer, e Event) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-11s", e.Time.Local().Format("15:04:05.000"), e.Type)
	if e.Instance != "" {
		fmt.Fprintf(&b, " %s", e.Instance)
	}
	if e.VIP != "" {
		fmt.Fprintf(&b, " %s", e.VIP)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, e.Fields[k])
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}
