package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/doctor"
)

func newDoctorCmd() *cobra.Command {
	var (
		path, socket string
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "doctor [--config FILE] [--socket PATH] [--json]",
		Short: "tell, per VIP, whether it is reachable from this node's network, and how to fix it",
		Long: `doctor examines every VIP of the configuration from this node and gives a
verdict and a suggested fix for each: it automates what an administrator does
by hand with arping, ping, tcpdump and nmap when some VIPs do not follow a
failover. It changes nothing: it sends ARP requests, neighbor
solicitations and ICMP echoes only. It works with or without a running daemon.

For each VIP of each instance it finds out:
  who answers   an ARP request "who-has VIP tell <primary address>" (IPv6: a
                Neighbor Solicitation to the VIP's solicited-node group), two
                rounds, answers collected for 1 s: nobody, this node (the VIP
                is an address of the interface), another MAC, or several
  upstream      for a VIP held here: whether each target (the gateways of the
                VIP's subnet plus verify.targets) returns the VIP's traffic to
                this node: an echo from the VIP, and one from the primary
                address to tell a stale entry from a dead or filtering target
                (as "vipd nudge" does, without repairing anything)
  daemon        if the control socket answers: the instance's state and master,
                a duplicate owner its watcher confirmed, and the traffic for a
                VIP this node does not hold that still arrives here (read
                before and after the probes: "misdirected" counts only when
                packets arrived meanwhile)

Verdicts:
  ok                held here and delivered by every target, or held by exactly
                    one other host and none of its traffic arrives here
  stale             held here, a target answers the primary address but not the
                    VIP: its entry for the VIP points at another MAC
                    fix: run "vipd nudge --interface IF --vip VIP" on this node
  unverifiable      held here but no target answers echoes (or there is none);
                    or who holds it could not be probed
  nobody answers    no host answers for the VIP: no master holds it
  conflict          two hosts answer for it (a hung ex-master still holds it)
                    fix: check the node with that MAC, remove the VIP there
  misdirected here  another host holds it, but an upstream still sends its
                    traffic here: run "vipd nudge" on the owner

The configuration is read from --config (default /etc/vipd/vipd.yaml); when the
default file does not exist the VIPs are taken from the running daemon. The
socket is the configuration's control_socket unless --socket is given. --json
prints one JSON document (fields: node, daemon, vips[] with verdict, reason,
fix, answered_by, targets; summary).

Needs CAP_NET_RAW. Exit status: 0 when no VIP is unreachable (stale, nobody
answers, conflict, misdirected here), 1 when one is or on error, 2 on bad
usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := doctor.Options{Socket: config.DefaultControlSocket}
			cfg, err := config.Load(path)
			switch {
			case err == nil:
				o.Instances = doctor.FromConfig(cfg)
				o.Node = cfg.Node
				o.Socket = cfg.ControlSocket
			case !cmd.Flags().Changed("config") && errors.Is(err, fs.ErrNotExist):
				// No file: the VIPs come from the daemon.
			default:
				var errs config.Errors
				if errors.As(err, &errs) {
					for _, e := range errs {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s:%v\n", path, e)
					}
					return fmt.Errorf("doctor: %s: %d configuration error(s); see vipd check", path, len(errs))
				}
				return err
			}
			if cmd.Flags().Changed("socket") {
				o.Socket = socket
			}
			rep, err := doctor.Run(cmd.Context(), o)
			if errors.Is(err, doctor.ErrNothingToCheck) {
				return fmt.Errorf("%w: %s does not exist and no vipd answers at %s (give --config or --socket)", err, path, o.Socket)
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := rep.Render(cmd.OutOrStdout()); err != nil {
				return err
			}
			if rep.Unreachable() > 0 || rep.BGP.Problems() > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfig, "configuration file")
	cmd.Flags().StringVarP(&socket, "socket", "s", "", "control socket of the daemon (default: the configuration's control_socket, else "+config.DefaultControlSocket+")")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
