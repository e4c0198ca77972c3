package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/kaconf"
)

// DefaultKeepalivedConfig is the file vipd import reads by default.
const DefaultKeepalivedConfig = "/etc/keepalived/keepalived.conf"

func newImportCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "import [FILE]",
		Short: "convert a keepalived configuration to vipd's",
		Long: `import reads a keepalived configuration (default ` + DefaultKeepalivedConfig + `), with
its include files, and writes the equivalent vipd configuration to stdout: each
vrrp_instance becomes an instance (two when it mixes IPv4 and IPv6 VIPs), with a
comment naming its source FILE:LINE; its tracked vrrp_scripts and interfaces
become checks, its notify scripts hooks. keepalived's default VRRP version is 2:
such instances get version: 2, and auth_type PASS becomes auth_pass.

Every keyword that is not converted is reported on stderr, one per line, as
FILE:LINE: keyword: not supported (why). LVS (virtual_server) is out of scope.
The output is validated as vipd check does before it is written.

Lines "@ID ..." of a conditional configuration (keepalived -i ID) are kept with
--id ID and skipped (and reported) otherwise; "@^ID ..." lines the reverse.

Exit status: 0 when at least one vrrp_instance was converted, 1 otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := DefaultKeepalivedConfig
			if len(args) == 1 {
				path = args[0]
			}
			return runImport(cmd, path, id)
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "keepalived configuration id of conditional lines (keepalived -i)")
	return cmd
}

func runImport(cmd *cobra.Command, path, id string) error {
	stderr := cmd.ErrOrStderr()
	tree, err := kaconf.Loader{ID: id}.Load(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	res := kaconf.Convert(tree, kaconf.Options{VirtualMAC: kaconf.VirtualMACSupported(), Source: path})
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, n)
	}
	if res.Instances == 0 {
		return fmt.Errorf("import: %s: no vrrp_instance converted (see the lines above)", path)
	}
	// The same validation as vipd check: the node name defaults to the
	// host name, which may not be this host's.
	if _, err := (config.Options{Hostname: func() (string, error) { return "import", nil }}).Parse(res.YAML); err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintf(stderr, "vipd import: converted configuration, line %d: %s: %s\n", e.Line, e.Path, e.Msg)
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s", res.YAML)
		return fmt.Errorf("import: the converted configuration does not pass vipd check (%d error(s) above); "+
			"this is a bug of vipd import, please report it with the keepalived file", len(errs))
	}
	_, err = cmd.OutOrStdout().Write(res.YAML)
	fmt.Fprintf(stderr, "vipd import: %s: %d instance(s) converted, %d note(s)\n", path, res.Instances, len(res.Notes))
	return err
}
