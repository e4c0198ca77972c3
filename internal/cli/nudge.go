package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/doctor"
	"github.com/vipd/vipd/internal/verify"
)

// defaultNudgeTimeout is verify.DefaultNudgeTimeout (declared for Linux
// only).
const defaultNudgeTimeout = 10 * time.Second

func newNudgeCmd() *cobra.Command {
	var (
		iface         string
		vips, targets []string
		timeout       time.Duration
		asJSON        bool
		verbose       bool
	)
	cmd := &cobra.Command{
		Use:   "nudge --interface IF --vip A.B.C.D[,...] [--target IP[,...]] [--timeout 10s] [--json]",
		Short: "make the upstream router deliver VIPs to this node, once, without a daemon",
		Long: `nudge repairs, once and without a running daemon, upstream devices (routers,
firewalls, load balancers) whose neighbour entry for a VIP still points at the
old owner's MAC after a failover: the VIP is on this node, every local check is
green, and its traffic goes elsewhere. It is what the daemon does after every
takeover, for an operator who moved addresses by hand or runs another failover
tool (keepalived, Pacemaker).

The VIPs (--vip, comma-separated or repeated, IPv4 and IPv6 mixed) must be
addresses of --interface on this node. The targets are the gateways that the
routing table gives inside each VIP's prefix on that interface (the default
route's gateway among them; for IPv6 also link-local gateways), plus --target
addresses, which must be on-link.

Proof. For each (VIP, target) nudge sends an ICMP echo request from the VIP to
the target. The target routes its reply with its own neighbour table, so a
reply that arrives here proves that its entry for the VIP holds this node's MAC:
verified. A second echo, from the interface's primary address, tells the other
cases apart: the target answers the primary but not the VIP: stale; it answers
neither (down, ICMP filtered): unverifiable.

Repair: the ladder. A stale pair climbs, one rung at a time, with an echo after
each rung, until the VIP is verified or --timeout passes:
  1. gratuitous   ARP request and ARP reply for the VIP, both broadcast (the
                  two forms of gratuitous ARP, since devices honour one or the
                  other); IPv6: unsolicited Neighbor Advertisement with the
                  Override flag to all-nodes
  2. directed     an ARP request "who-has TARGET tell VIP" sent to the target's
                  MAC: a host asked about its own address creates or overrides
                  its entry for the asker, whatever it does with gratuitous ARP
                  (what "nmap --spoof-mac" towards a sticky upstream does by
                  accident); IPv6: a Neighbor Solicitation for the target
                  from the VIP, with this node's MAC as source link-layer
                  address
  3. unicast      an ARP reply "VIP is-at our MAC" to the target only; IPv6: an
                  unsolicited Neighbor Advertisement with Override to the
                  target only
After the third rung the pair waits and climbs again, with a backoff. Two rungs
for the same pair are never sent within 1 s of each other (the ARP locktime of
Linux neighbours, which ignore a second update within it) unless an echo in
between showed that the first one changed nothing. nudge sends nothing for a
VIP that is verified at the first echo.

Output: one row per (VIP, target): the target's MAC (from this node's neighbour
table), the final state (verified, stale, unverifiable), the rung that fixed it
("fixed by": gratuitous_arp, directed_request, unicast_reply; for IPv6
unsolicited_na, neighbor_solicit, unicast_na; "-" when nothing was needed) and
the number of rungs sent; then a summary. -v logs every rung on stderr. --json
prints one JSON document instead.

Examples:
  vipd nudge --interface eth0 --vip 192.0.2.101
  vipd nudge -i eth0 --vip 192.0.2.101,192.0.2.103,2001:db8::101 --target 192.0.2.254

Needs CAP_NET_RAW (raw ICMP and packet sockets). Exit status: 0 when no VIP is
stale at the end (verified or unverifiable), 1 when one still is or on error,
2 on bad usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if iface == "" {
				return usageError(cmd, "--interface is required")
			}
			if len(vips) == 0 {
				return usageError(cmd, "--vip is required")
			}
			if timeout <= 0 {
				return usageError(cmd, "--timeout %v: want a positive duration", timeout)
			}
			addrs, err := parseAddrList(vips, true)
			if err != nil {
				return usageError(cmd, "--vip: %v", err)
			}
			tgts, err := parseAddrList(targets, false)
			if err != nil {
				return usageError(cmd, "--target: %v", err)
			}
			ifi, err := net.InterfaceByName(iface)
			if err != nil {
				return fmt.Errorf("nudge: interface %s: %w", iface, err)
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			start := time.Now()
			sts, err := verify.Nudge(ctx, ifi, addrs, tgts, log)
			if err != nil {
				return fmt.Errorf("nudge: %w", err)
			}
			res := doctor.NudgeResult{Interface: iface, Statuses: sts, Elapsed: time.Since(start)}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else if err := res.Render(cmd.OutOrStdout()); err != nil {
				return err
			}
			if len(res.Stale()) > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&iface, "interface", "i", "", "interface the VIPs are on (required)")
	cmd.Flags().StringSliceVar(&vips, "vip", nil, "VIPs to repair, comma-separated or repeated; A.B.C.D or A.B.C.D/LEN (required)")
	cmd.Flags().StringSliceVar(&targets, "target", nil, "extra on-link targets besides the gateways, comma-separated or repeated")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultNudgeTimeout, "give up on the VIPs still stale after this long")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every probe verdict and repair rung on stderr")
	return cmd
}

// parseAddrList parses addresses; with prefixOK, A/LEN is taken as A.
func parseAddrList(ss []string, prefixOK bool) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if prefixOK && strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address", s)
			}
			out = append(out, p.Addr().Unmap())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address", s)
		}
		out = append(out, a.Unmap())
	}
	if len(out) == 0 && prefixOK {
		return nil, errors.New("no address given")
	}
	return out, nil
}
