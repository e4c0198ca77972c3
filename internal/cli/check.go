package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/config"
)

func newCheckCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check [--config FILE]",
		Short: "validate a configuration file",
		Long: `check parses and validates a configuration file without touching the network.
Every problem is printed to standard error on its own line as
FILE:LINE:COL: PATH: MESSAGE (PATH such as instances[0].vrid; without it for
a problem of the whole file, such as a YAML syntax error), in line order, so
that an editor can jump to it, followed by "FILE: N error(s)". Unknown keys
are errors. A valid file prints one line to standard output:
"FILE: ok: node NAME, N instance(s), M VIP(s)".

Exit status: 0 when the file is valid, 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				var errs config.Errors
				if errors.As(err, &errs) {
					for _, l := range config.Lines(path, errs) {
						fmt.Fprintln(cmd.ErrOrStderr(), l)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d error(s)\n", path, len(errs))
					return exitError{code: 1}
				}
				return err
			}
			vips := 0
			for _, in := range cfg.Instances {
				vips += len(in.VIPs)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok: node %s, %d instance(s), %d VIP(s)\n", path, cfg.Node, len(cfg.Instances), vips)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfig, "configuration file")
	return cmd
}
