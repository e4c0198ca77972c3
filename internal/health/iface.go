package health

import (
	"fmt"
	"net"
)

// linkUp decides an interface check from the link's flags and its RFC 2863
// operational state as netlink names it ("up", "down", "unknown", ...).
// Drivers that do not report an operational state ("unknown": loopback,
// dummy, some tunnels) pass when the link is administratively up and
// running (IFF_RUNNING, which follows the carrier).
func linkUp(name string, flags net.Flags, oper string) error {
	switch {
	case flags&net.FlagUp == 0:
		return fmt.Errorf("%w: %s is administratively down", ErrLinkDown, name)
	case oper == "up":
		return nil
	case oper == "unknown" && flags&net.FlagRunning != 0:
		return nil
	case oper == "unknown":
		return fmt.Errorf("%w: %s is up but not running (no carrier)", ErrLinkDown, name)
	}
	return fmt.Errorf("%w: %s is %s", ErrLinkDown, name, oper)
}
