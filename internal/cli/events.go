package cli

import (
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/control"
)

func newEventsCmd() *cobra.Command {
	var (
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "events [--config FILE | --socket PATH] [--json]",
		Short: "stream the daemon's events",
		Long: `events prints, as they happen, the events of a running daemon: state
transitions, VIP verification results and repairs, address conflicts,
misdirected traffic, health check changes, reloads and maintenance. It runs
until interrupted. --json prints one JSON object per line.

Exit status: 0 when interrupted (Ctrl-C, SIGTERM), 1 when the daemon goes
away or cannot be reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			socket, err := socketFor(cmd)
			if err != nil {
				return err
			}
			req, _ := control.NewRequest(control.CommandEvents, nil)
			first := true
			enc := json.NewEncoder(cmd.OutOrStdout())
			err = control.Stream(cmd.Context(), socket, req, func(r control.Response) error {
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
			if err == nil {
				// The daemon ended the stream: it stopped or restarted.
				return errors.New("events: the daemon closed the connection (it stopped or is restarting)")
			}
			return err
		},
	}
	addSocketFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}
