package cli

import (
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/control"
)

func newStatusCmd() *cobra.Command {
	var (
		asJSON  bool
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "status [--config FILE | --socket PATH] [--json] [-v]",
		Short: "show the instances and VIPs of a running daemon",
		Long: `status asks a running vipd, through its control socket, for the state of
every instance: VRRP state, configured and effective priority, the current
master (address, MAC, priority), the VIPs held on the interface, and counters
(advertisements sent and received, drops by reason, transitions and the last
one). -v adds one line per VIP. --json prints the same as a JSON document.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			socket, err := socketFor(cmd)
			if err != nil {
				return err
			}
			req, err := control.NewRequest(control.CommandStatus, nil)
			if err != nil {
				return err
			}
			resp, err := control.Call(cmd.Context(), socket, req)
			if err != nil {
				return err
			}
			if err := resp.Err(); err != nil {
				return err
			}
			var st control.Status
			if err := resp.Decode(&st); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return control.RenderStatusOptions{Verbose: verbose, Now: time.Now()}.Render(cmd.OutOrStdout(), st)
		},
	}
	addSocketFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "one line per VIP")
	return cmd
}
