package health

import (
	"context"
	"fmt"

	"github.com/vipd/vipd/internal/config"
	"github.com/vishvananda/netlink"
)

// ProbeInterface passes if the link c.Target is up: administratively up,
// and operationally up (see linkUp). It asks the kernel over netlink, in
// the network namespace of the calling thread.
func ProbeInterface(ctx context.Context, c config.Check) error {
	link, err := netlink.LinkByName(c.Target)
	if err != nil {
		return fmt.Errorf("interface %s: %w", c.Target, err)
	}
	a := link.Attrs()
	return linkUp(c.Target, a.Flags, a.OperState.String())
}
