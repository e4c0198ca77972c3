package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
)

// Options configure Run.
type Options struct {
	Config  *config.Config
	Env     Env
	Logger  *slog.Logger
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Ready, when set, is called once every instance runs and the control
	// socket answers (systemd's READY=1).
	Ready func()
	// NoControl skips the control socket (tests that run several daemons).
	NoControl bool
}

// Daemon is a running vipd.
type Daemon struct {
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	started   time.Time
	links     []*link
	senders   []announce.SenderCloser
	instances []*instance
	pacer     *announce.Pacer
	done      chan struct{} // closed when the instances have stopped
}

// Run starts the daemon and blocks until ctx is done and every instance has
// shut down gracefully (priority 0 sent, VIPs removed). A setup error is
// returned before any address is touched.
func Run(ctx context.Context, opts Options) error {
	d, err := setup(opts)
	if err != nil {
		return err
	}
	return d.run(ctx)
}

func setup(opts Options) (d *Daemon, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d = &Daemon{opts: opts, log: opts.Logger, now: opts.Now, started: opts.Now(), done: make(chan struct{})}
	defer func() {
		if err != nil {
			d.closeEdges()
		}
	}()
	cfg, env := opts.Config, opts.Env
	d.pacer = announce.NewPacer(cfg.AnnounceRate, announceBurst, nil, d.log)

	type linkKey struct {
		ifindex int
		ipv6    bool
	}
	links := map[linkKey]*link{}
	senders := map[int]announce.SenderCloser{}
	prepared := map[int]bool{}
	vipsOn := map[string][]netip.Prefix{}
	for _, ic := range cfg.Instances {
		vipsOn[ic.Interface] = append(vipsOn[ic.Interface], ic.VIPs...)
	}
	for _, ic := range cfg.Instances {
		ifi, err := env.InterfaceByName(ic.Interface)
		if err != nil {
			return nil, fmt.Errorf("daemon: instance %s: interface %s: %w", ic.Name, ic.Interface, err)
		}
		if !prepared[ifi.Index] {
			if err := env.PrepareInterface(ifi); err != nil {
				return nil, fmt.Errorf("daemon: instance %s: prepare %s: %w", ic.Name, ic.Interface, err)
			}
			prepared[ifi.Index] = true
		}
		key := linkKey{ifi.Index, ic.IPv6()}
		l := links[key]
		if l == nil {
			conn, err := env.ListenVRRP(ifi, ic.IPv6())
			if err != nil {
				return nil, fmt.Errorf("daemon: instance %s: open VRRP socket on %s: %w", ic.Name, ic.Interface, err)
			}
			l = &link{ifi: ifi, ipv6: ic.IPv6(), conn: conn, byVRID: map[uint8]*instance{}, drops: map[string]uint64{},
				log: d.log.With("iface", ifi.Name)}
			links[key] = l
			d.links = append(d.links, l)
		}
		s := senders[ifi.Index]
		if s == nil {
			s, err = env.OpenSender(ifi)
			if err != nil {
				return nil, fmt.Errorf("daemon: instance %s: open announcement socket on %s: %w", ic.Name, ic.Interface, err)
			}
			senders[ifi.Index] = s
			d.senders = append(d.senders, s)
		}
		src, err := env.SourceAddr(ifi, ic.IPv6(), vipsOn[ic.Interface])
		if err != nil {
			return nil, fmt.Errorf("daemon: instance %s: source address on %s: %w", ic.Name, ic.Interface, err)
		}
		in, err := newInstance(ic, ifi, l, src, env.Addresses(), s, d.pacer, d.now, d.log)
		if err != nil {
			return nil, fmt.Errorf("daemon: instance %s: %w", ic.Name, err)
		}
		l.byVRID[ic.VRID] = in
		d.instances = append(d.instances, in)
	}
	return d, nil
}

// announceBurst is how many announcement packets may leave back to back.
const announceBurst = 50

func (d *Daemon) closeEdges() {
	for _, l := range d.links {
		l.conn.Close()
	}
	for _, s := range d.senders {
		s.Close()
	}
}

func (d *Daemon) run(ctx context.Context) error {
	defer d.closeEdges()
	edgeCtx, stopEdges := context.WithCancel(context.Background())
	defer stopEdges()

	var ln net.Listener
	if !d.opts.NoControl {
		var err error
		ln, err = control.Listen(d.opts.Config.ControlSocket)
		if err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
	}

	var edges sync.WaitGroup
	edges.Add(1)
	go func() { defer edges.Done(); d.pacer.Run(edgeCtx) }()
	for _, l := range d.links {
		edges.Add(1)
		go func() { defer edges.Done(); l.read(edgeCtx) }()
	}
	if ln != nil {
		edges.Add(1)
		go func() {
			defer edges.Done()
			if err := control.Serve(edgeCtx, ln, d.mux(), d.log); err != nil && edgeCtx.Err() == nil {
				d.log.Error("control socket stopped", "err", err)
			}
		}()
	}

	var insts sync.WaitGroup
	for _, in := range d.instances {
		insts.Add(1)
		go func() { defer insts.Done(); in.run(ctx) }()
	}
	d.log.Info("vipd running", "node", d.opts.Config.Node, "instances", len(d.instances))
	if d.opts.Ready != nil {
		d.opts.Ready()
	}
	insts.Wait()
	close(d.done)
	d.log.Info("vipd stopped: instances shut down")
	stopEdges()
	// Closing the sockets unblocks the readers.
	d.closeEdges()
	edges.Wait()
	return nil
}

func (d *Daemon) mux() *control.Mux {
	m := control.NewMux()
	m.HandleFunc("status", func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		control.Reply(w, d.Status(ctx))
	})
	return m
}

// Status reports the daemon and every instance.
func (d *Daemon) Status(ctx context.Context) control.Status {
	st := control.Status{
		Node:       d.opts.Config.Node,
		PID:        os.Getpid(),
		Version:    d.opts.Version,
		StartedAt:  d.started,
		Goroutines: runtime.NumGoroutine(),
		OpenFDs:    openFDs(),
	}
	for _, in := range d.instances {
		var is control.InstanceStatus
		if !in.do(ctx, d.done, func() { is = in.status() }) {
			continue
		}
		for k, v := range in.link.dropCounts() {
			if is.Counters.Drops == nil {
				is.Counters.Drops = map[string]uint64{}
			}
			// Packets that never reached an instance (unknown VRID,
			// malformed IP) are shown on every instance of the link.
			is.Counters.Drops["link_"+k] = v
		}
		st.Instances = append(st.Instances, is)
	}
	return st
}

// openFDs counts this process's open file descriptors (Linux), or -1.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
