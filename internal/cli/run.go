package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/daemon"
)

func newRunCmd() *cobra.Command {
	var (
		path      string
		logLevel  string
		logFormat string
	)
	cmd := &cobra.Command{
		Use:   "run [--config FILE]",
		Short: "run the daemon in the foreground",
		Long: `run starts every instance of the configuration and runs until SIGTERM or
SIGINT. Logs go to standard error (log/slog; text or JSON).

At start, VIPs of the configuration that an earlier run left on an interface
(a crash) are removed, unless this node is the address owner (priority 255).
On SIGTERM/SIGINT every master sends an advertisement with priority 0, so that
its backup takes over after Skew_Time, and removes its VIPs. SIGHUP reloads
the configuration (see 'vipd reload --help').

Needs CAP_NET_ADMIN and CAP_NET_RAW.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger(cmd, logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg, err := config.Load(path)
			if err != nil {
				return fmt.Errorf("%w (run 'vipd check --config %s' for every error)", err, path)
			}
			env, err := daemon.NewLinuxEnv(log)
			if err != nil {
				return err
			}
			defer env.Close()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			reload := make(chan struct{}, 1)
			go func() {
				for range hup {
					select {
					case reload <- struct{}{}:
					default:
					}
				}
			}()
			return daemon.Run(cmd.Context(), daemon.Options{
				Config:  cfg,
				Load:    func() (*config.Config, error) { return config.Load(path) },
				Reload:  reload,
				Env:     env,
				Logger:  log,
				Version: Version,
			})
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfig, "configuration file")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func newLogger(cmd *cobra.Command, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
