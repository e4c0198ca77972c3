package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/daemon"
)

func newReloadCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reload [--config FILE | --socket PATH]",
		Short: "make the daemon re-read its configuration",
		Long: `reload asks a running daemon to re-read its configuration file, like SIGHUP.
Unchanged instances keep their state and their VIPs untouched; a changed
instance is updated in place (new VIPs added and announced, dropped ones
removed) unless its interface, VRID, address family or ownership changed, in
which case it restarts; removed instances stop gracefully (priority 0); new
ones start. An invalid file is rejected with its errors and the running
configuration stays as it is. node, control_socket and announce_rate take
effect at the next restart.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := call(cmd, control.CommandReload, nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "reloaded")
			return nil
		},
	}
	addSocketFlags(cmd)
	return cmd
}

func newMaintenanceCmd() *cobra.Command {
	var (
		instance string
	)
	cmd := &cobra.Command{
		Use:   "maintenance on|off [--instance NAME] [--config FILE | --socket PATH]",
		Short: "take this node out of (or back into) the election",
		Long: `maintenance on hands this node's VIPs over gracefully: every master sends an
advertisement with priority 0, so its backup takes over after Skew_Time (the
outage is at most about one advertisement interval), and removes its VIPs.
The instance then stays in FAULT (maintenance) and does not take part in the
election until 'maintenance off'. The setting is kept in the state directory
and survives restarts. Without --instance it applies to every instance.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"on", "off"},
		RunE: func(cmd *cobra.Command, args []string) error {
			var on bool
			switch args[0] {
			case "on":
				on = true
			case "off":
			default:
				fmt.Fprintf(cmd.ErrOrStderr(), "vipd: maintenance: want on or off, got %q\n", args[0])
				return exitError{code: 2}
			}
			if err := call(cmd, control.CommandMaintenance, daemon.MaintenanceArgs{On: on, Instance: instance}); err != nil {
				return err
			}
			what := "all instances"
			if instance != "" {
				what = "instance " + instance
			}
			fmt.Fprintf(cmd.OutOrStdout(), "maintenance %s for %s\n", args[0], what)
			return nil
		},
	}
	addSocketFlags(cmd)
	cmd.Flags().StringVarP(&instance, "instance", "i", "", "only this instance")
	return cmd
}

// call sends one command and returns the daemon's error, if any.
func call(cmd *cobra.Command, command string, args any) error {
	socket, err := socketFor(cmd)
	if err != nil {
		return err
	}
	req, err := control.NewRequest(command, args)
	if err != nil {
		return err
	}
	resp, err := control.Call(cmd.Context(), socket, req)
	if err != nil {
		return err
	}
	return resp.Err()
}
