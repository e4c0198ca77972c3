package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/lab"
	"github.com/vipd/vipd/internal/labnet"
)

func newLabCmd() *cobra.Command {
	var (
		router, compare        string
		mode, fault            string
		o                      lab.Options
		asJSON, allVIPs        bool
		svgFile, htmlFile      string
		policerRate, lossShare int
		sweep                  bool
		sweepRouters           []string
		sweepVIPs              []int
		sweepJSON              string
	)
	cmd := &cobra.Command{
		Use:   "lab [--router plain|sticky|reply-only|policer|lossy|pinned] [--mode vrrp|bgp] [--vips N] [--compare keepalived] [--json]",
		Short: "show a failover in a lab of network namespaces, and measure it",
		Long: `lab builds, in network namespaces with unique names, a client, a Linux router
(the upstream device), a bridge (the switch) and two nodes, A and B. It runs a
vipd on each node (this binary, as child processes in the namespaces), waits
until A owns the VIPs, probes every VIP from the client (ICMP every 10ms),
"powers off" node A (its switch port goes down, its processes are killed) and
measures per VIP the outage the client sees and whether the VIP comes back on B.
The watch ends one second after every VIP recovered, or after --watch.

The router can behave like the devices that break failover:
  plain        a stock Linux router
  sticky       neighbour entries valid for 4 hours, gratuitous ARP (unsolicited
               NA) ignored for --sticky-fraction of the VIPs, like a
               load balancer with a sticky ARP table
  reply-only   only the reply form of gratuitous ARP is honoured
  policer      ARP/ND rate-limited (--policer-rate per second)
  lossy        a share of ARP/ND dropped (--loss percent)
  pinned       neighbour entries for the VIPs made static once learnt (an
               upstream with static ARP entries): nothing on the wire moves
               them, only a MAC that never changes survives; --virtual-mac
               (the default with this router) puts the VIPs on the RFC 5798
               virtual MAC (vipd's virtual_mac, keepalived's use_vmac)

--compare keepalived runs the same scenario with keepalived on both nodes (when
it is installed) and prints both side by side.

--mode bgp runs vipd's routed mode instead: the router runs BIRD 2 and peers
by eBGP with both nodes, which announce every VIP (host routes outside the
LAN) with their priority as preference; the client reaches the VIPs through
the router's best route, A's. Powered off, A is noticed when the router's
hold timer expires (--hold-time, 3s; the fault comes right after one of A's
keepalives, so expect up to the whole hold time, plus the router's own
delay); --fault sigterm stops A's vipd instead, --fault maintenance puts A
in maintenance, --fault check makes A's health check (every 300ms, fault:
true) fail: each withdraws A's routes first (expect well under a second,
plus the check's interval). keepalived has no routed mode: --compare does
not apply.

--runs K repeats and reports the min/median/max of each run's recovered
count, p50 and max outage. --svg/--html draw a timeline: one row per VIP,
per implementation, dark while unreachable.

--sweep runs the matrix of --sweep-routers × --sweep-vips for vipd and
keepalived, one run per cell, and prints per cell the VIPs back, the median
and the worst outage after the takeover and how vipd compares (markdown; JSON
with --json); --svg draws it, one panel per router.

Everything is removed at the end, also on Ctrl-C; namespaces a killed run left
behind are removed at the next start. With more than 155 VIPs the LAN is
198.18.0.0/16 and the kernel's neighbour table limits are raised. The lab's
vipd runs with the daemon's defaults (adaptive announce_rate) unless
--announce-rate is given. Needs root.

Exit status: 0 when the lab ran (whatever it measured), 1 on error, 130 when
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := labnet.ParseBehaviour(router)
			if err != nil {
				return usageError(cmd, "--router %q: want plain, sticky, reply-only, policer, lossy or pinned", router)
			}
			o.Router = b
			if !cmd.Flags().Changed("virtual-mac") {
				o.VirtualMAC = b == labnet.Pinned
			}
			if err := labMode(cmd, &o, mode, fault, compare, sweep); err != nil {
				return err
			}
			o.Impls = []lab.Impl{lab.Vipd}
			switch compare {
			case "":
			case "keepalived":
				o.Impls = append(o.Impls, lab.Keepalived)
			default:
				return usageError(cmd, "--compare %q: want keepalived", compare)
			}
			if cmd.Flags().Changed("policer-rate") && policerRate < 1 {
				return usageError(cmd, "--policer-rate %d: want at least 1", policerRate)
			}
			if cmd.Flags().Changed("loss") && (lossShare < 1 || lossShare > 100) {
				return usageError(cmd, "--loss %d: want 1 to 100", lossShare)
			}
			// lab.Run takes 0 for its defaults; on the command line 0 is
			// a mistake.
			if !sweep && (o.VIPs < 1 || o.VIPs > lab.MaxVIPs) {
				return usageError(cmd, "--vips %d: want 1 to %d", o.VIPs, lab.MaxVIPs)
			}
			if o.Runs < 1 {
				return usageError(cmd, "--runs %d: want at least 1", o.Runs)
			}
			o.PolicerRate, o.LossPercent = policerRate, lossShare
			if os.Geteuid() != 0 {
				return errors.New("lab: needs root: it creates network namespaces (run it with sudo)")
			}
			o.Version = Version
			if !asJSON || sweep {
				o.Progress = lab.NewProgress(cmd.ErrOrStderr(), lab.IsTerminal(cmd.ErrOrStderr()))
			}
			if sweep {
				return runSweep(cmd, o, sweepRouters, sweepVIPs, svgFile, sweepJSON, asJSON)
			}
			rep, err := lab.Run(cmd.Context(), o)
			if err != nil {
				if errors.Is(err, lab.ErrOptions) {
					return usageError(cmd, "%v", err)
				}
				if errors.Is(err, context.Canceled) {
					fmt.Fprintln(cmd.ErrOrStderr(), "vipd lab: interrupted; the lab's namespaces are removed")
					return exitError{code: 130}
				}
				return err
			}
			if svgFile != "" {
				if err := writeFile(svgFile, rep.WriteSVG); err != nil {
					return err
				}
			}
			if htmlFile != "" {
				if err := writeFile(htmlFile, rep.WriteHTML); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.WriteText(cmd.OutOrStdout(), lab.TextOptions{AllVIPs: allVIPs})
		},
	}
	f := cmd.Flags()
	f.StringVar(&router, "router", "plain", "router behaviour: plain, sticky, reply-only, policer, lossy, pinned")
	f.BoolVar(&o.VirtualMAC, "virtual-mac", false, "VIPs on the RFC 5798 virtual MAC (vipd virtual_mac, keepalived use_vmac); default: on with --router pinned")
	f.StringVar(&mode, "mode", string(lab.ModeVRRP), "how the VIPs move: vrrp (one L2 segment) or bgp (routed: BIRD 2 on the router peers with both nodes)")
	f.StringVar(&fault, "fault", string(lab.PowerOff), "what happens to node A: power-off; in mode bgp also sigterm, maintenance or check (its health check fails)")
	f.DurationVar(&o.HoldTime, "hold-time", lab.DefaultHoldTime, "BGP hold time of mode bgp (whole seconds, at least 3s)")
	f.Float64Var(&o.StickyFraction, "sticky-fraction", lab.DefaultStickyFraction, "share of VIPs whose gratuitous ARP the sticky router ignores")
	f.IntVar(&policerRate, "policer-rate", lab.DefaultPolicerRate, "ARP/ND packets per second the policer lets through")
	f.IntVar(&lossShare, "loss", lab.DefaultLossPercent, "percent of ARP/ND the lossy router drops")
	f.IntVar(&o.VIPs, "vips", lab.DefaultVIPs, fmt.Sprintf("number of VIPs (1..%d)", lab.MaxVIPs))
	f.DurationVar(&o.Advert, "advert", lab.DefaultAdvert, "VRRP advertisement interval")
	f.BoolVar(&o.IPv6, "ipv6", false, "IPv6 VIPs (Neighbor Discovery) instead of IPv4")
	f.StringVar(&compare, "compare", "", "also run keepalived on the same scenario: keepalived")
	f.IntVar(&o.Runs, "runs", 1, "repeat the scenario and report min/median/max")
	f.DurationVar(&o.Watch, "watch", 0, "longest watch after the fault, 1s to 1h (it ends 1s after every VIP recovered); 0: 10s, and behind the policer long enough for 3 announcements per VIP at its rate")
	f.DurationVar(&o.ProbeInterval, "probe-interval", lab.DefaultProbeInterval, "ICMP probe interval per VIP (the total is capped at 20000/s)")
	f.Float64Var(&o.AnnounceRate, "announce-rate", 0, "the lab vipd's announce_rate; 0: the daemon's default (adaptive)")
	f.DurationVar(&o.Idle, "idle", 0, "before the fault, measure for this long the CPU the daemons use at rest (A master, B backup, no client traffic)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON (no progress display)")
	f.BoolVar(&allVIPs, "all-vips", false, "list every VIP in the table, also beyond 100")
	f.StringVar(&svgFile, "svg", "", "write a timeline as SVG to `FILE`")
	f.StringVar(&htmlFile, "html", "", "write the report with its timeline as HTML to `FILE`")
	f.StringVar(&o.LogDir, "logs", "", "keep each run's daemon configurations and logs (and B's last vipd status) in `DIR`")
	f.BoolVar(&sweep, "sweep", false, "run the matrix of --sweep-routers × --sweep-vips for vipd and keepalived")
	f.StringSliceVar(&sweepRouters, "sweep-routers", []string{"plain", "sticky", "reply-only", "policer", "lossy"}, "routers of --sweep")
	f.IntSliceVar(&sweepVIPs, "sweep-vips", lab.SweepSizes, "numbers of VIPs of --sweep")
	f.StringVar(&sweepJSON, "sweep-json", "", "also write the sweep as JSON to `FILE`")
	return cmd
}

// labMode applies --mode, --fault and --hold-time, and refuses the VRRP
// flags in mode bgp (the checks that need to know what was given; lab.Run
// checks the rest).
func labMode(cmd *cobra.Command, o *lab.Options, mode, fault, compare string, sweep bool) error {
	m, err := lab.ParseMode(mode)
	if err != nil {
		return usageError(cmd, "--mode: %v", err)
	}
	ft, err := lab.ParseFault(fault)
	if err != nil {
		return usageError(cmd, "--fault: %v", err)
	}
	o.Mode, o.Fault = m, ft
	fl := cmd.Flags()
	if m != lab.ModeBGP {
		if fl.Changed("hold-time") {
			return usageError(cmd, "--hold-time: a BGP setting, only with --mode bgp")
		}
		if ft != lab.PowerOff {
			return usageError(cmd, "--fault %s: only with --mode bgp (the VRRP lab powers A off)", ft)
		}
		o.HoldTime = 0
		return nil
	}
	for _, name := range []string{"advert", "announce-rate", "sticky-fraction", "policer-rate", "loss", "virtual-mac"} {
		if fl.Changed(name) {
			return usageError(cmd, "--%s: a VRRP (L2) setting; --mode bgp has no VRRP and no ARP for its VIPs", name)
		}
	}
	if compare != "" {
		return usageError(cmd, "--compare %s: keepalived has no routed mode; --mode bgp runs vipd only", compare)
	}
	if sweep {
		return usageError(cmd, "--sweep compares vipd and keepalived over ARP routers: not with --mode bgp")
	}
	return nil
}

// runSweep runs `vipd lab --sweep`.
func runSweep(cmd *cobra.Command, o lab.Options, routers []string, sizes []int, svgFile, jsonFile string, asJSON bool) error {
	var bs []labnet.Behaviour
	for _, r := range routers {
		b, err := labnet.ParseBehaviour(r)
		if err != nil {
			return usageError(cmd, "--sweep-routers %q: want plain, sticky, reply-only, policer or lossy", r)
		}
		bs = append(bs, b)
	}
	for _, n := range sizes {
		if n < 1 || n > lab.MaxVIPs {
			return usageError(cmd, "--sweep-vips %d: want 1 to %d", n, lab.MaxVIPs)
		}
	}
	o.Impls = []lab.Impl{lab.Vipd, lab.Keepalived}
	s, err := lab.RunSweep(cmd.Context(), o, bs, sizes)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(cmd.ErrOrStderr(), "vipd lab: interrupted; the lab's namespaces are removed")
		return exitError{code: 130}
	}
	if err != nil {
		return err
	}
	if svgFile != "" {
		if err := writeFile(svgFile, s.WriteSVG); err != nil {
			return err
		}
	}
	encode := func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	if jsonFile != "" {
		if err := writeFile(jsonFile, encode); err != nil {
			return err
		}
	}
	if asJSON {
		return encode(cmd.OutOrStdout())
	}
	return s.WriteMarkdown(cmd.OutOrStdout())
}

// usageError prints a usage problem with the usage text: exit status 2.
func usageError(cmd *cobra.Command, format string, args ...any) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "vipd: "+format+"\n%s", append(args, cmd.UsageString())...)
	return exitError{code: 2}
}

// writeFile creates path and writes it through fn.
func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
