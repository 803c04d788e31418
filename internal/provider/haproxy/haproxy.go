package haproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

var (
	_ provider.Provider      = (*Provider)(nil)
	_ provider.Validator     = (*Provider)(nil)
	_ provider.HealthChecker = (*Provider)(nil)
)

const defaultShutdownGrace = 10 * time.Second

// Options configure the HAProxy provider.
type Options struct {
	provider.Options
	// Binary is the haproxy executable, a path or a name looked up in PATH;
	// empty means "haproxy".
	Binary string
	// Dir is the runtime directory: generations of config, sockets, pid
	// file, server state and HAProxy's own log. One controller per
	// directory. Created (0700) if missing; refused if another user owns
	// it or group or others may write it.
	Dir string
	// Threads is HAProxy's nbthread; zero means runtime.NumCPU(), the
	// CPUs this process may run on (its affinity mask), which HAProxy
	// inherits.
	Threads int
	// KeepOnExit leaves HAProxy running when Run returns, for a controller
	// restart (the next provider on Dir adopts it) without dropping traffic.
	KeepOnExit bool
	// TicketKeyRotation is how long an HAProxy worker serves at most
	// before a reload gives it new TLS session ticket keys (tickets.go);
	// zero means DefaultTicketKeyRotation. A ticket resumes for one period.
	TicketKeyRotation time.Duration
	// Logger receives the provider's logs; nil discards them.
	Logger *slog.Logger
}

// Provider drives one HAProxy master. Create it with New.
type Provider struct {
	opts Options
	dir  string
	log  *slog.Logger
	// defaultCert (PEM) is served where no certificate of the config is.
	defaultCert []byte

	mu sync.Mutex // serializes Apply, restarts and shutdown; guards below
	// applied is the config in service and layout its server slots.
	applied *lbconfig.Config
	layout  *Layout
	result  provider.Result
	proc    *process
	worker  int  // pid of the current worker
	unknown bool // the adopted master runs a config we did not render
	adoptOK bool // adoption was tried
	stopped bool
	// keysMade is when the current worker started, and so made its TLS
	// session ticket keys (tickets.go).
	keysMade time.Time

	wake           chan struct{} // Apply started a master: Run watches it
	reloads        atomic.Int64
	restarts       atomic.Int64
	runtimeUpdates atomic.Int64
	// ticketRotations counts the reloads made only for new ticket keys.
	ticketRotations atomic.Int64
	down            atomic.Pointer[error] // why HAProxy is not serving
}

// New checks the options and returns a provider; HAProxy starts with the
// first Apply.
func New(opts Options) (*Provider, error) {
	if opts.Binary == "" {
		opts.Binary = "haproxy"
	}
	bin, err := exec.LookPath(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("haproxy: binary %q: %w (install HAProxy 2.6 or later, e.g. apt-get install haproxy)", opts.Binary, err)
	}
	opts.Binary = bin
	if opts.Dir == "" {
		return nil, errors.New("haproxy: the runtime directory must be set")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("haproxy: runtime directory %q: %w", opts.Dir, err)
	}
	// Unix socket paths are limited to 107 bytes; HAProxy binds its own
	// (the stats socket, the TLS sockets behind SNI routing, and the
	// shorter ones of tlsterminate.go) by a temporary name with its pid
	// first. The longest key is that of a load balancer with addresses
	// of its own (address.go).
	if n := len(tlsSocket(dir, "65535_lb999999")) + len(".4194304.tmp"); n > 107 {
		return nil, fmt.Errorf("haproxy: runtime directory %q is too long for a unix socket path", dir)
	}
	if err := ensureRuntimeDir(dir); err != nil {
		return nil, err
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = defaultShutdownGrace
	}
	if opts.Threads < 0 || opts.Threads > MaxThreads {
		return nil, fmt.Errorf("haproxy: %d threads is not between 0 and %d", opts.Threads, MaxThreads)
	}
	if opts.Threads == 0 {
		opts.Threads = runtime.NumCPU()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cert, err := defaultCertificate(dir)
	if err != nil {
		return nil, fmt.Errorf("haproxy: default certificate: %w", err)
	}
	if opts.TicketKeyRotation < 0 || opts.TicketKeyRotation > 0 && opts.TicketKeyRotation < time.Second {
		return nil, fmt.Errorf("haproxy: ticket key rotation %s is not at least a second", opts.TicketKeyRotation)
	}
	p := &Provider{opts: opts, dir: dir, log: log, wake: make(chan struct{}, 1), defaultCert: cert}
	// An adopted worker's keys are as old as it is, which is not known:
	// they are rotated one period from now at the latest.
	p.keysMade = time.Now()
	if err := p.registerMetrics(opts.Metrics); err != nil {
		return nil, fmt.Errorf("haproxy: metrics: %w", err)
	}
	notYet := errors.New("haproxy: no config applied yet")
	p.down.Store(&notYet)
	return p, nil
}

// registerMetrics exposes the counters a test or an operator watches: a
// reload is the expensive event, runtime API updates the cheap one.
func (p *Provider) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []struct {
		name, help string
		v          *atomic.Int64
	}{
		{"ingress_controller_haproxy_reloads_total", "HAProxy reloads for structural config changes.", &p.reloads},
		{"ingress_controller_haproxy_restarts_total", "HAProxy masters started again after the previous one died.", &p.restarts},
		{"ingress_controller_haproxy_runtime_updates_total", "Server changes sent through the HAProxy runtime API instead of a reload.", &p.runtimeUpdates},
	} {
		v := c.v
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help}, func() float64 { return float64(v.Load()) })); err != nil {
			return err
		}
	}
	return nil
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return "haproxy" }

// Reloads counts the reloads of HAProxy (not the starts).
func (p *Provider) Reloads() int64 { return p.reloads.Load() }

// Restarts counts the times the master was started again after it died.
func (p *Provider) Restarts() int64 { return p.restarts.Load() }

// RuntimeUpdates counts the server changes sent through the runtime API.
func (p *Provider) RuntimeUpdates() int64 { return p.runtimeUpdates.Load() }

// Dir is the runtime directory.
func (p *Provider) Dir() string { return p.dir }

// PID is the pid of the HAProxy master, or 0 when none runs.
func (p *Provider) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.proc.exited() {
		return 0
	}
	return p.proc.pid
}

func (p *Provider) renderOptions(prev *Layout) RenderOptions {
	o := RenderOptions{
		ListenAddress: p.opts.ListenAddress,
		RuntimeDir:    p.dir,
		ShutdownGrace: p.opts.ShutdownGrace,
		DrainTimeout:  p.opts.DrainTimeout,
		Previous:      prev,

		Threads: p.opts.Threads,

		DefaultCertificate: p.defaultCert,
		Limits:             p.opts.Options,
	}
	if !p.opts.NoTLSSessionResumption {
		o.TicketLifetime = p.ticketRotation()
	}
	return o
}

// Validate implements provider.Validator: it renders cfg and has haproxy -c
// check it, without touching the running HAProxy.
func (p *Provider) Validate(ctx context.Context, cfg *lbconfig.Config) error {
	r, err := RenderConfig(cfg, p.renderOptions(nil))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(p.dir, "validate-")
	if err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := writeFiles(dir, r.Files); err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	if err := validateConfig(ctx, p.opts.Binary, filepath.Join(dir, configFile)); err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	// What haproxy -c cannot know: a port another program holds.
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checkNewPorts(cfg)
}

// Apply implements provider.Provider. An endpoints-only change goes through
// the runtime API; anything else renders, validates and reloads. On error
// the previous config keeps serving.
func (p *Provider) Apply(ctx context.Context, cfg *lbconfig.Config) (provider.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return provider.Result{}, errors.New("haproxy: provider is shut down")
	}
	result := endpoints(cfg, p.opts.ListenAddress)
	if p.proc == nil && !p.adoptOK {
		p.adoptOK = true
		if pr := p.adopt(ctx); pr != nil {
			p.proc, p.unknown = pr, true
			if st, err := p.showProc(ctx); err == nil {
				p.worker = st.worker
			}
			p.signal()
		}
	}
	running := p.proc != nil && !p.proc.exited()
	if running && p.applied != nil && !p.unknown {
		ch := lbconfig.Diff(p.applied, cfg)
		if ch.Empty() {
			p.applied, p.result = cfg, result
			return result, nil
		}
		if !ch.Structure {
			done, err := p.applyEndpoints(ctx, cfg, ch.Endpoints)
			if done {
				p.applied, p.result = cfg, result
				return result, nil
			}
			if err != nil {
				// The runtime state is uncertain: a reload from the full
				// config puts it right.
				p.log.Warn("runtime API update failed; reloading instead", "error", err)
			}
		}
	}
	if err := p.applyReload(ctx, cfg, running); err != nil {
		return provider.Result{}, err
	}
	p.applied, p.result = cfg, result
	p.down.Store(nil)
	return result, nil
}

// applyEndpoints moves endpoints through the runtime API. done is false
// when a backend outgrew its slots (or an update failed) and a reload is
// needed instead.
func (p *Provider) applyEndpoints(ctx context.Context, cfg *lbconfig.Config, changed []string) (done bool, err error) {
	next, ok := planEndpoints(p.layout, cfg, changed)
	if !ok {
		p.log.Info("endpoints outgrew their server slots; reloading", "backends", len(changed))
		return false, nil
	}
	for _, name := range changed {
		if err := p.applySlots(ctx, name, next[name]); err != nil {
			return false, err
		}
	}
	p.log.Debug("endpoints updated through the runtime API", "backends", len(changed))
	return true, nil
}

// applyReload renders cfg into a new generation, validates it, makes it
// current and reloads (or starts) HAProxy. On error the old generation is
// current again.
func (p *Provider) applyReload(ctx context.Context, cfg *lbconfig.Config, running bool) error {
	prevLayout := p.layout
	if p.unknown {
		prevLayout = nil
	}
	r, err := RenderConfig(cfg, p.renderOptions(prevLayout))
	if err != nil {
		return err
	}
	gen, err := os.MkdirTemp(p.dir, genPrefix)
	if err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	genName := filepath.Base(gen)
	keep := false
	defer func() {
		if !keep {
			_ = os.RemoveAll(gen)
		}
	}()
	if err := writeFiles(gen, r.Files); err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	if err := validateConfig(ctx, p.opts.Binary, filepath.Join(gen, configFile)); err != nil {
		return fmt.Errorf("haproxy: new config not applied, the previous one keeps serving: %w", err)
	}
	if running && !p.unknown {
		if err := p.checkNewPorts(cfg); err != nil {
			return err
		}
	}
	old := currentGen(p.dir)
	statePath := filepath.Join(p.dir, serverStateFile)
	if running && !p.unknown {
		dump, err := p.workerCommands(ctx, p.worker, []string{"show servers state"})
		if err != nil {
			return fmt.Errorf("haproxy: save server state: %w", err)
		}
		if err := writeAtomic(statePath, []byte(filterServerState(dump, r.Layout))); err != nil {
			return fmt.Errorf("haproxy: save server state: %w", err)
		}
	} else {
		// A master we did not configure, or none: the config says it all.
		_ = os.Remove(statePath)
	}
	if err := swapCurrent(p.dir, genName); err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	rollback := func() {
		if old != "" {
			_ = swapCurrent(p.dir, old)
		}
	}
	if running {
		if err := p.reload(ctx); err != nil {
			rollback()
			if rerr := p.reload(ctx); rerr != nil {
				p.log.Error("reload back to the previous config failed", "error", rerr)
			}
			return fmt.Errorf("haproxy: reload: %w", err)
		}
		p.reloads.Add(1)
		p.log.Info("haproxy reloaded", "generation", genName, "reloads", p.reloads.Load())
	} else {
		if err := p.start(ctx); err != nil {
			rollback()
			return err
		}
	}
	keep = true
	p.layout, p.unknown, p.keysMade = r.Layout, false, time.Now()
	if err := removeOtherGens(p.dir, genName); err != nil {
		p.log.Warn("removing old generations", "error", err)
	}
	return nil
}

// start starts a master on the current generation. The caller holds p.mu.
func (p *Provider) start(ctx context.Context) error {
	_ = os.Remove(filepath.Join(p.dir, serverStateFile))
	pr, err := p.startMaster(ctx)
	if err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	st, err := p.showProc(ctx)
	if err != nil {
		killGroup(pr)
		return fmt.Errorf("haproxy: %w", err)
	}
	p.proc, p.worker = pr, st.worker
	p.down.Store(nil)
	p.signal()
	return nil
}

func (p *Provider) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// endpoints is the Result of cfg: the addresses each load balancer binds
// with its listener ports (lbconfig.LoadBalancer.PublicAddresses).
// Listeners bound to all addresses (no ListenAddress) report no address,
// as the builtin provider does, so that the status comes from
// --publish-service or --publish-status-address.
func endpoints(cfg *lbconfig.Config, listenAddress string) provider.Result {
	res := provider.Result{Endpoints: make(map[string][]lbconfig.Address, len(cfg.LoadBalancers))}
	for _, lb := range cfg.LoadBalancers {
		res.Endpoints[lb.Name] = lb.PublicAddresses(listenAddress)
	}
	return res
}

// Healthy implements provider.HealthChecker: nil while HAProxy serves the
// applied config.
func (p *Provider) Healthy(ctx context.Context) error {
	if err := p.down.Load(); err != nil {
		return *err
	}
	return nil
}

// Run implements provider.Provider. It restarts the master with backoff
// when it dies, until ctx ends; then it stops HAProxy gracefully, unless
// KeepOnExit. The endpoints never change on their own, so nothing is sent
// on updates.
func (p *Provider) Run(ctx context.Context, updates chan<- provider.Result) error {
	var backoff time.Duration
	var rotateC <-chan time.Time
	rotate := time.NewTimer(p.nextTicketRotation())
	defer rotate.Stop()
	if !p.opts.NoTLSSessionResumption {
		rotateC = rotate.C
	}
	for {
		p.mu.Lock()
		pr := p.proc
		p.mu.Unlock()
		var done <-chan struct{}
		if pr != nil {
			done = pr.done
		}
		select {
		case <-ctx.Done():
			p.shutdown()
			return nil
		case <-p.wake:
			continue
		case <-rotateC:
			if err := p.rotateTicketKeys(ctx); err != nil {
				p.log.Warn("tls ticket key rotation failed; the worker in service keeps its keys", "error", err)
				rotate.Reset(time.Minute)
			} else {
				rotate.Reset(p.nextTicketRotation())
			}
			continue
		case <-done:
		}
		err := fmt.Errorf("haproxy: master %d exited: %v; restarting", pr.pid, pr.exitErr)
		p.down.Store(&err)
		p.log.Error("haproxy master exited", "pid", pr.pid, "error", pr.exitErr)
		if time.Since(pr.started) > 30*time.Second {
			backoff = 0
		}
		for {
			select {
			case <-ctx.Done():
				p.shutdown()
				return nil
			case <-time.After(backoff):
			}
			backoff = min(max(2*backoff, 250*time.Millisecond), 10*time.Second)
			if err := p.restart(ctx, pr); err != nil {
				p.log.Error("haproxy restart failed", "error", err, "retry_in", backoff)
				e := fmt.Errorf("haproxy: restart failed: %w", err)
				p.down.Store(&e)
				continue
			}
			break
		}
	}
}

// restart starts a new master from the applied config and the slot layout
// the runtime API left, in place of dead.
func (p *Provider) restart(ctx context.Context, dead *process) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// p.proc is nil after a restart that failed: try again.
	if p.stopped || (p.proc != dead && p.proc != nil) {
		return nil // shut down, or Apply started one already
	}
	p.proc = nil
	if p.applied == nil {
		return errors.New("no config to restart with")
	}
	r, err := RenderConfig(p.applied, p.renderOptions(p.layout))
	if err != nil {
		return err
	}
	gen, err := os.MkdirTemp(p.dir, genPrefix)
	if err != nil {
		return err
	}
	if err := writeFiles(gen, r.Files); err != nil {
		_ = os.RemoveAll(gen)
		return err
	}
	if err := swapCurrent(p.dir, filepath.Base(gen)); err != nil {
		_ = os.RemoveAll(gen)
		return err
	}
	if err := p.start(ctx); err != nil {
		return err
	}
	p.layout, p.unknown, p.keysMade = r.Layout, false, time.Now()
	_ = removeOtherGens(p.dir, filepath.Base(gen))
	p.restarts.Add(1)
	p.log.Info("haproxy restarted", "pid", p.proc.pid, "restarts", p.restarts.Load())
	return nil
}

func (p *Provider) shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	stopped := errors.New("haproxy: provider is shut down")
	p.down.Store(&stopped)
	pr := p.proc
	if pr == nil || pr.exited() {
		return
	}
	if p.opts.KeepOnExit {
		p.log.Info("leaving haproxy running (keep on exit)", "pid", pr.pid)
		return
	}
	p.stopMaster(pr, p.opts.ShutdownGrace)
}
