package cli

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/daemon"
	"github.com/vipd/vipd/internal/metrics"
	"github.com/vipd/vipd/internal/procs"
	"github.com/vipd/vipd/internal/sdnotify"
	"github.com/vipd/vipd/internal/statedir"
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

After each takeover, vipd proves per VIP that the upstream targets (the
gateways of the VIPs' subnets, plus verify.targets) deliver the VIP's traffic
to this node — an ICMP echo from the VIP comes back only if the target's
neighbour entry is ours — and repairs a stale entry with an escalating,
paced ladder: gratuitous ARP (both forms) / unsolicited NA, a directed ARP
request to the target, a unicast ARP reply / NA. A node that does not hold a
VIP reports traffic for it that still arrives here and tells the sender who
the owner is; a second host answering for a held VIP is reported as a
conflict.

Under systemd (Type=notify) it reports READY, RELOADING and STOPPING and
answers the watchdog. With metrics_listen set, Prometheus metrics are served
on http://ADDR/metrics.

Needs CAP_NET_ADMIN and CAP_NET_RAW.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger(cmd, logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg, err := config.Load(path)
			if err != nil {
				// As vipd check prints it: FILE:LINE:COL: PATH: MESSAGE.
				return configError{fmt.Errorf("configuration rejected:\n%s", strings.Join(config.Lines(path, err), "\n"))}
			}
			if missing := missingCaps(); missing != "" {
				return missingCapsError{missing}
			}
			return runDaemon(cmd.Context(), cfg, path, log)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", DefaultConfig, "configuration file")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func runDaemon(ctx context.Context, cfg *config.Config, path string, log *slog.Logger) error {
	// One daemon per host: before anything is touched.
	lock, err := statedir.Lock(cfg.StateDir)
	if err != nil {
		var le *statedir.LockedError
		if errors.As(err, &le) {
			return err
		}
		return configError{fmt.Errorf("state directory (state_dir): %w", err)}
	}
	defer lock.Close()
	ledger, err := statedir.OpenLedger(cfg.StateDir)
	if err != nil {
		return configError{fmt.Errorf("state directory (state_dir): %w (it records the VIPs vipd added; fix or remove the file)", err)}
	}
	if ledger.Stale {
		log.Info("record of added VIPs is from before a reboot; ignored", "path", ledger.Path())
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
			sdnotify.Reloading()
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()

	var d *daemon.Daemon
	status := func() control.Status {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return d.Status(sctx)
	}
	var m *metrics.Metrics
	if cfg.MetricsListen != "" {
		m = metrics.New(cfg.Node, status)
	}
	opts := daemon.Options{
		Config:     cfg,
		Load:       func() (*config.Config, error) { return config.Load(path) },
		ConfigFile: path,
		Reload:     reload,
		Env:        env,
		Logger:     log,
		Version:    Version,
		Ledger:     ledger,
		Ready: func() {
			sdnotify.Ready()
			sdnotify.Status("running")
		},
		Reloaded: func(err error) {
			var re *daemon.ReloadError
			switch {
			case errors.As(err, &re):
				sdnotify.Status(fmt.Sprintf("%s: %s", re.Result, summaryOf(re.Lines)))
			case err != nil:
				sdnotify.Status("reload failed: " + err.Error())
			default:
				sdnotify.Status("running")
			}
			sdnotify.Ready()
		},
	}
	if m != nil {
		opts.Observer = m
	}
	// One processor at rest, all of them at work (see package procs).
	gov := procs.New(procs.Config{})
	opts.Busy = gov.Busy
	d, err = daemon.New(opts)
	if err != nil {
		return err
	}

	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	if m != nil {
		go func() {
			if err := metrics.Serve(bg, cfg.MetricsListen, m.Handler(), log); err != nil {
				log.Error("metrics server stopped", "addr", cfg.MetricsListen, "err", err)
			}
		}()
	}
	go func() {
		// The watchdog pings only while the instances answer: a stuck
		// loop gets vipd restarted.
		err := sdnotify.WatchdogFunc(bg, func(c context.Context) error {
			d.Status(c)
			return c.Err()
		})
		if err != nil {
			log.Error("systemd watchdog", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		gov.Busy() // stopping is work: withdraw with every processor
		sdnotify.Stopping()
	}()
	go gov.Run(bg)
	return d.Run(ctx)
}

func newLogger(cmd *cobra.Command, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: namedValues}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// summaryOf puts a reload's problems on one line (systemd's STATUS=).
func summaryOf(lines []string) string {
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%s (and %d more)", lines[0], len(lines)-1)
}

// namedValues logs a value that has a name (a state, a reason, a kind:
// anything with a String method) by that name, in JSON as in text:
// "from":"BACKUP", not "from":1. Errors and values that encode themselves
// (addresses, times) keep their own form.
func namedValues(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	switch v := a.Value.Any().(type) {
	case error, encoding.TextMarshaler, json.Marshaler:
		return a
	case fmt.Stringer:
		return slog.String(a.Key, v.String())
	}
	return a
}

// configError marks an error reading the configuration: a "permission
// denied" there is about the file, not about capabilities.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

// missingCapsError is vipd run without the capabilities it needs: its
// message says what to do, Main adds nothing.
type missingCapsError struct{ missing string }

func (e missingCapsError) Error() string {
	return fmt.Sprintf("permission denied: vipd needs %s (CAP_NET_RAW: VRRP, ARP and ICMP sockets; CAP_NET_ADMIN: addresses); run it as root or grant them (see contrib/vipd.service)", e.missing)
}

// missingCaps names the capabilities vipd needs and does not have in its
// effective set ("" when it has both, or when that cannot be read).
func missingCaps() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		hex, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		eff, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return ""
		}
		const netAdmin, netRaw = 12, 13
		var miss []string
		if eff&(1<<netAdmin) == 0 {
			miss = append(miss, "CAP_NET_ADMIN")
		}
		if eff&(1<<netRaw) == 0 {
			miss = append(miss, "CAP_NET_RAW")
		}
		return strings.Join(miss, " and ")
	}
	return ""
}
