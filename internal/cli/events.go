package cli

import (
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
)

func newEventsCmd() *cobra.Command {
	var (
		socket string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "events [--socket PATH] [--json]",
		Short: "stream the daemon's events",
		Long: `events prints, as they happen, the events of a running daemon: state
transitions, VIP verification results and repairs, address conflicts,
misdirected traffic, health check changes, reloads and maintenance. It runs
until interrupted. --json prints one JSON object per line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req, _ := control.NewRequest(control.CommandEvents, nil)
			first := true
			enc := json.NewEncoder(cmd.OutOrStdout())
			err := control.Stream(cmd.Context(), socket, req, func(r control.Response) error {
				if err := r.Err(); err != nil {
					return err
				}
				if first { // the empty reply that opens the stream
					first = false
					return nil
				}
				var e control.Event
				if err := r.Decode(&e); err != nil {
					return err
				}
				if asJSON {
					return enc.Encode(e)
				}
				return control.RenderEvent(cmd.OutOrStdout(), e)
			})
			if cmd.Context().Err() != nil && (err == nil || errors.Is(err, cmd.Context().Err())) {
				return nil // interrupted: the normal way to end
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&socket, "socket", "s", config.DefaultControlSocket, "control socket of the daemon")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}
