package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/vipd/vipd/internal/cli.Version=..."
// (the Makefile passes `git describe`). Empty: see version.
var Version = ""

// version is Version, or else what the Go toolchain recorded in the binary:
// the module's version (go install) or the commit (a build in a git tree),
// or else "dev".
func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return strings.TrimPrefix(v, "v")
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev != "" {
		return "dev-" + rev + dirty
	}
	return "dev"
}

// DefaultConfig is where vipd looks for its configuration.
const DefaultConfig = "/etc/vipd/vipd.yaml"

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ce configError
	var me missingCapsError
	if hint := permissionHint(err); hint != "" && !errors.As(err, &ce) && !errors.As(err, &me) {
		fmt.Fprintf(stderr, "vipd: %s (%v)\n", hint, err)
		return 1
	}
	fmt.Fprintf(stderr, "vipd: %v\n", err)
	return 1
}

// permissionHint names what is missing when err is a permission error.
func permissionHint(err error) string {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return "permission denied: vipd needs CAP_NET_RAW (VRRP, ARP and ICMP sockets) and CAP_NET_ADMIN (addresses); run it as root or grant both (see contrib/vipd.service)"
	}
	return ""
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "vipd",
		Short: "VRRPv3 virtual IP failover that proves the network followed",
		Long: `vipd moves virtual IP addresses (VIPs) between Linux hosts with VRRP version 3
(RFC 5798) or version 2 (RFC 3768, "version: 2") and speaks the protocol on the
wire, so it runs next to keepalived and routers — and then proves, per VIP,
that the network followed. Sites beyond one L2 segment announce their VIPs by
BGP instead ("mode: bgp"; see README).

When a node becomes master for an instance it adds the instance's VIPs to the
interface (IPv6 without duplicate address detection), sends gratuitous ARP in
both forms (request and reply) for every IPv4 VIP and an unsolicited Neighbor
Advertisement with the Override flag for every IPv6 VIP, repeated after the
1 s ARP locktime of Linux neighbours and paced so that a router's ARP policer
is not flooded. Then it sends an ICMP echo from each VIP to each upstream
target (by default the gateways of the VIPs' subnets): the reply comes back
here only if the target's neighbour entry points at this node. A VIP whose
target still sends its traffic elsewhere is stale and gets repaired with an
escalating ladder (gratuitous ARP, a directed ARP request to the target, a
unicast ARP reply; NA and NS for IPv6) until it is verified. A node that does
not hold a VIP watches for traffic that still arrives for it and tells the
sender who the owner is; a second host answering for a held VIP is reported
as a conflict. A master that stops sends priority 0 so that its backup takes
over at once.

Files:
  /etc/vipd/vipd.yaml    configuration (see examples/vipd.yaml)
  /run/vipd/vipd.sock    control socket (mode 0600)
  /var/lib/vipd          state (maintenance mode)

Exit status: 0 on success, 1 on error, 2 on bad usage.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SuggestionsMinimumDistance = 2
	root.Version = version()
	root.SetVersionTemplate("vipd {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRunCmd(), newCheckCmd(), newStatusCmd(), newEventsCmd(), newReloadCmd(), newMaintenanceCmd(), newVersionCmd(), newLabCmd(), newDoctorCmd(), newNudgeCmd())
	root.AddCommand(newImportCmd())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError(c, "%v", err)
	})
	// Without a command vipd prints its help; an unknown command is a
	// usage error (exit 2) like a bad flag or a wrong number of arguments.
	root.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		hint := ""
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			hint = " (did you mean " + strings.Join(s, ", ") + "?)"
		}
		return usageError(cmd, "unknown command %q%s", args[0], hint)
	}
	// help for an unknown command is a usage error too.
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usageError(c.Root(), "help: unknown command %q", strings.Join(args, " "))
			}
			return target.Help()
		},
	})
	// cobra adds completion when it runs; added now, its arguments are
	// checked like the others'.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var wrap func(c *cobra.Command)
	wrap = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			sub.Args = usageArgs(sub.Args)
			wrap(sub)
		}
	}
	wrap(root)
	return root
}

// usageArgs makes a wrong number or kind of arguments a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		return nil
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError(cmd, "%s: %v", cmd.Name(), err)
		}
		return nil
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print vipd's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "vipd %s\n", cmd.Root().Version)
			return nil
		},
	}
}
