package lab

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// The nodes' VRRP parameters: A wins the election, B takes over.
const (
	vrid         = 42
	priorityA    = 200
	priorityB    = 100
	instanceName = "lab"
)

// nodeConfig is what both implementations need to know about one node.
type nodeConfig struct {
	Node      string // "a" or "b"
	Iface     string
	Priority  int
	Advert    time.Duration
	VIPs      []netip.Addr
	Bits      int // prefix length the VIPs are installed with (vipd)
	Socket    string
	StateDir  string  // vipd's state_dir (its lock, its record of added VIPs)
	Rate      float64 // vipd's announce_rate
	VIPsLabel string  // the router behaviour, for the header comment
	// VirtualMAC: vipd's virtual_mac, keepalived's use_vmac.
	VirtualMAC bool
}

// vipdConfig renders the vipd configuration of a lab node.
func vipdConfig(c nodeConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# vipd lab, node %s (generated; %s)\n", c.Node, c.VIPsLabel)
	fmt.Fprintf(&b, "node: %s\ncontrol_socket: %s\n", c.Node, c.Socket)
	if c.StateDir != "" {
		fmt.Fprintf(&b, "state_dir: %s\n", c.StateDir)
	}
	if c.Rate > 0 {
		fmt.Fprintf(&b, "# A fixed rate (--announce-rate); the daemon's default adapts.\n")
		fmt.Fprintf(&b, "announce_rate: %s\n", strconv.FormatFloat(c.Rate, 'f', -1, 64))
	}
	fmt.Fprintf(&b, "instances:\n  - name: %s\n    interface: %s\n    vrid: %d\n    priority: %d\n    advert_interval: %s\n",
		instanceName, c.Iface, vrid, c.Priority, c.Advert)
	if c.VirtualMAC {
		b.WriteString("    virtual_mac: true\n")
	}
	b.WriteString("    vips:\n")
	for _, v := range c.VIPs {
		fmt.Fprintf(&b, "      - %s\n", netip.PrefixFrom(v, c.Bits))
	}
	return b.String()
}

// keepalivedConfig is keepalived's configuration of a lab node, with
// keepalived's own defaults for everything else (gratuitous ARP: five at
// the takeover, five more 5 s later).
func keepalivedConfig(c nodeConfig) labnet.KeepalivedConfig {
	var extra []string
	if c.VirtualMAC {
		extra = []string{"use_vmac"}
	}
	return labnet.KeepalivedConfig{
		InstanceExtra: extra,
		RouterID:      "lab-" + c.Node,
		Instance:      "VI_LAB",
		Interface:     c.Iface,
		VRID:          vrid,
		Priority:      c.Priority,
		AdvertInt:     c.Advert,
		VIPs:          c.VIPs,
	}
}
