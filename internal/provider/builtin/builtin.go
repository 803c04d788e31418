// Package builtin is the in-process Go proxy provider: nothing else to
// install.
//
// # Theory of operation
//
// Apply compiles the whole config into an immutable routing table (hosts in
// maps, routes in precedence order, backends with their ready endpoints) and
// only then touches the network: it binds the listener sockets (a load
// balancer's own addresses, else the listen address, and a port; see
// address.go) the old config did not have, and if any bind fails it closes
// those and returns, leaving the old table and listeners serving. Otherwise
// it swaps the table in through an atomic.Pointer, starts serving the new
// sockets and closes those no longer configured: they stop accepting at
// once, requests in flight on them finish. A load balancer that moves to
// another address is a new socket and a closed one; the others' sockets
// are not touched. A request loads the table once and uses that table to the
// end, so a swap never fails a request and needs no locks on the hot path.
//
// Plain HTTP connections start on the fast path (fastpath.go): the
// proxy's own HTTP/1.1 loop serves the common requests (no body, a normal
// path, a plain HTTP/1.1 backend) without allocating, and hands the
// connection, with the bytes it read, to the port's http.Server at the
// first request it does not serve. Each listener port has its own
// http.Server, which serves those, HTTPS and HTTP/2; its handler routes by
// Host and path and forwards over HTTP/1.1 connections to the backends
// that it keeps alive in a pool per endpoint address (upstream.go). The handler
// goroutine does the whole backend exchange itself: it writes the request
// head straight into the connection's buffer, streams the body, parses the
// response head strictly into the ResponseWriter's header map and streams
// the body back from the connection's buffer (package http1). Pools of
// endpoints that leave the config are closed by the Apply that drops them.
// Backends that speak HTTPS, h2c or gRPC go through net/http's
// ReverseProxy instead (backendproto.go). One loop, forwardLoop, drives
// both transports and owns the policy they share: endpoint choice,
// retries after a failed connect, the answer when none is left; policies
// (affinity, algorithms, retries, passive health, timeouts, body limits)
// are compiled per backend (policy.go).
//
// Every port accepts through a switchListener (tls.go) that sorts each
// new connection by the table in service: HTTP as it is, HTTPS wrapped in
// TLS with the certificate chosen by SNI, TCP (tcp.go) straight to a
// backend, and, where some host passes TLS through, by the server name of
// its ClientHello. Connections that leave HTTP (websockets after a 101, TCP,
// TLS passthrough) become tunnels (upgrade.go): spliced byte for byte,
// owned by the pool of their endpoint, untouched by config changes that
// keep it, and closed a drain timeout after it leaves.
//
// Run waits for its context to end, expires idle backend connections
// meanwhile, and then shuts every listener down gracefully within the
// shutdown grace, tunnels included.
package builtin

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

const (
	// defaultShutdownGrace bounds how long requests in flight may take to
	// finish when a listener closes, unless Options.ShutdownGrace says.
	defaultShutdownGrace = 10 * time.Second
	// defaultDrainTimeout is how long tunnels (websockets) to an endpoint
	// that left the config may go on, unless Options.DrainTimeout says.
	defaultDrainTimeout = 30 * time.Second
	// copyBufferSize is the size of the pooled body copy buffers.
	copyBufferSize = 32 << 10
)

var (
	_ provider.Provider      = (*Provider)(nil)
	_ provider.HealthChecker = (*Provider)(nil)
	_ provider.Validator     = (*Provider)(nil)
)

// Provider is the builtin Go proxy. Create it with New; it serves from the
// first successful Apply until the context of Run ends.
type Provider struct {
	opts   provider.Options
	log    *slog.Logger
	dialer *net.Dialer
	bufs   sync.Pool // *[]byte of copyBufferSize
	// metrics is nil without Options.Metrics.
	metrics *proxyMetrics
	// other forwards to HTTPS, H2C and gRPC backends.
	other otherProtocols
	// authClient sends the subrequests of external authentication
	// (extauth.go).
	authClient *http.Client
	// mirrors sends copies of requests to routes' mirrors (mirror.go).
	mirrors mirrorSender
	// serverLine is the "Server: ...\r\n" line of Options.ServerHeader
	// for responses without one, or nil; server the same as a field
	// value.
	serverLine []byte
	server     string

	table atomic.Pointer[table]
	// selfSigned is the default certificate of HTTPS listeners, made on
	// first use.
	selfSigned func() (*tls.Certificate, error)

	mu      sync.Mutex // serializes Apply and shutdown; guards the fields below
	servers map[socket]*server
	// pools holds the backend connection pools by endpoint address: the
	// ones of the table in service.
	pools map[string]*connPool
	// draining are closed pools whose tunnels wait for the drain timeout.
	draining []*connPool
	applied  bool
	stopped  bool
	wg       sync.WaitGroup // serve and drain goroutines
	tunnels  sync.WaitGroup // upgraded and TCP connections being spliced
	// tunnelMu guards tunnelsClosed, set once Run waits for the tunnels.
	tunnelMu      sync.Mutex
	tunnelsClosed bool
}

// server is one listener socket and its http.Server.
type server struct {
	at      socket
	sw      *switchListener
	ln      *onceCloseListener
	srv     *http.Server
	closing atomic.Bool
	failed  atomic.Pointer[error] // why Serve ended unexpectedly
}

// New returns a builtin proxy that binds its listeners to
// opts.ListenAddress and logs to logger.
func New(opts provider.Options, logger *slog.Logger) *Provider {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Provider{
		opts: opts.WithDefaults(),
		log:  logger,
		// Connect timeouts come from each backend's policy, by context.
		dialer:  &net.Dialer{KeepAlive: 30 * time.Second},
		servers: map[socket]*server{},
		pools:   map[string]*connPool{},
		metrics: newProxyMetrics(opts.Metrics),
		// Connects nothing until a route asks.
		authClient: newAuthClient(),
	}
	if err := provider.CheckServerHeader(opts.ServerHeader); err != nil {
		logger.Error("no Server field added to responses", "error", err)
	} else if opts.ServerHeader != "" {
		p.server = opts.ServerHeader
		p.serverLine = []byte("Server: " + opts.ServerHeader + "\r\n")
	}
	p.selfSigned = sync.OnceValues(newSelfSigned)
	p.bufs.New = func() any {
		b := make([]byte, copyBufferSize)
		return &b
	}
	return p
}

// Name implements provider.Provider.
func (p *Provider) Name() string { return "builtin" }

// Validate implements provider.Validator: it fails where Apply would, and
// changes nothing that serves: the table must build, and every port the
// config adds must be free (each is bound and closed again at once).
func (p *Provider) Validate(ctx context.Context, cfg *lbconfig.Config) error {
	t, err := buildTable(cfg, p.opts.ListenAddress, p.table.Load())
	if err != nil {
		return fmt.Errorf("builtin: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	bound, err := p.bindNew(ctx, t)
	for _, b := range bound {
		_ = b.ln.Close()
	}
	return err
}

// boundPort is a listener bound for a socket of a new table.
type boundPort struct {
	at socket
	ln net.Listener
}

// bindNew binds, in config order, the sockets of t that no server has
// yet. On error it closes what it bound and names the listener that
// failed. The caller holds p.mu.
func (p *Provider) bindNew(ctx context.Context, t *table) ([]boundPort, error) {
	var bound []boundPort
	var lc net.ListenConfig
	for _, b := range t.binds {
		if p.servers[b.at] != nil {
			continue
		}
		ln, err := lc.Listen(ctx, b.at.network(), b.at.String())
		if err != nil {
			for _, b := range bound {
				_ = b.ln.Close()
			}
			return nil, fmt.Errorf("builtin: load balancer %q: listener %d (port %d %s): %w", b.lb, b.listener, b.at.port, b.at.where(), err)
		}
		bound = append(bound, boundPort{at: b.at, ln: ln})
	}
	return bound, nil
}

// Apply implements provider.Provider. All or nothing: on error the previous
// table and listeners keep serving unchanged.
func (p *Provider) Apply(ctx context.Context, cfg *lbconfig.Config) (provider.Result, error) {
	t, err := buildTable(cfg, p.opts.ListenAddress, p.table.Load())
	if err != nil {
		return provider.Result{}, fmt.Errorf("builtin: %w", err)
	}
	for _, pr := range t.allRoutes() {
		if pr.secure() {
			if _, err := p.selfSigned(); err != nil {
				return provider.Result{}, fmt.Errorf("builtin: making the default certificate: %w", err)
			}
			break
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return provider.Result{}, errors.New("builtin: provider is shut down")
	}

	bound, err := p.bindNew(ctx, t)
	if err != nil {
		return provider.Result{}, err
	}
	opened := make([]*server, 0, len(bound))
	for _, b := range bound {
		opened = append(opened, p.newServer(b.at, b.ln))
	}

	p.attachPools(t)
	p.metrics.attach(t)
	closeDroppedTLS(p.table.Swap(t), t)

	for _, s := range opened {
		p.servers[s.at] = s
		p.serve(s)
	}
	for at, s := range p.servers {
		if t.routesAt(&at) == nil {
			delete(p.servers, at)
			p.log.Info("closing listener", "port", at.port, "address", at.host)
			p.drain(s, p.shutdownGrace())
		}
	}
	p.applied = true
	return provider.Result{Endpoints: t.endpoints}, nil
}

// attachPools gives every endpoint of t the pool for its address, and
// closes the pools of addresses t no longer has: requests in flight on the
// old table finish on their connections, which are then closed. The caller
// holds p.mu.
func (p *Provider) attachPools(t *table) {
	pools := make(map[string]*connPool, len(p.pools))
	for _, b := range t.backends {
		for i := range b.endpoints {
			ep := &b.endpoints[i]
			cp := pools[ep.addr]
			if cp == nil {
				if cp = p.pools[ep.addr]; cp == nil {
					cp = newConnPool(ep.addr, p.dialer)
				}
				pools[ep.addr] = cp
			}
			ep.pool = cp
		}
	}
	for addr, cp := range p.pools {
		if pools[addr] == nil {
			cp.close(p.drainTimeout())
			p.draining = append(p.draining, cp)
		}
	}
	p.draining = slices.DeleteFunc(p.draining, func(cp *connPool) bool { return cp.tunnelCount() == 0 })
	p.pools = pools
}

func (p *Provider) newServer(at socket, ln net.Listener) *server {
	sw := newSwitchListener(ln, p, at)
	s := &server{at: at, sw: sw, ln: &onceCloseListener{Listener: sw}}
	s.srv = &http.Server{
		Handler:           headLimit{next: &portHandler{p: p, at: at}, max: p.opts.MaxRequestHeaderBytes},
		ReadHeaderTimeout: 30 * time.Second,
		// Refuses heads far over the limit before they are parsed;
		// headLimit refuses the rest.
		MaxHeaderBytes: p.opts.MaxRequestHeaderBytes,
		IdleTimeout:    120 * time.Second,
		ErrorLog:       log.New(serverLog{p.log.With("port", at.port, "address", at.host)}, "", 0),
		// HTTP/1.1, h2 over TLS, and h2c with prior knowledge (gRPC
		// clients without TLS).
		Protocols: new(http.Protocols),
	}
	s.srv.Protocols.SetHTTP1(true)
	s.srv.Protocols.SetHTTP2(true)
	s.srv.Protocols.SetUnencryptedHTTP2(true)
	return s
}

// serve runs s in the background. The caller holds p.mu.
func (p *Provider) serve(s *server) {
	p.log.Info("listening", "port", s.at.port, "address", s.ln.Addr().String())
	p.wg.Go(func() {
		err := s.srv.Serve(s.ln)
		if s.closing.Load() || errors.Is(err, http.ErrServerClosed) {
			return
		}
		s.failed.Store(&err)
		p.log.Error("listener failed", "port", s.at.port, "address", s.at.host, "error", err)
	})
}

// drain stops s accepting now and lets its requests in flight finish within
// grace, in the background. The caller holds p.mu.
func (p *Provider) drain(s *server, grace time.Duration) {
	s.closing.Store(true)
	// Close synchronously so that the port can be bound again at once.
	_ = s.ln.Close()
	p.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		var fastErr error
		fast := make(chan struct{})
		go func() {
			fastErr = s.sw.fast.shutdown(ctx)
			close(fast)
		}()
		err := s.srv.Shutdown(ctx)
		<-fast
		if err := cmp.Or(err, fastErr); err != nil {
			p.log.Warn("listener did not drain in time; closing its connections", "port", s.at.port, "address", s.at.host, "error", err)
			_ = s.srv.Close()
		}
	})
}

func (p *Provider) drainTimeout() time.Duration {
	if p.opts.DrainTimeout > 0 {
		return p.opts.DrainTimeout
	}
	return defaultDrainTimeout
}

func (p *Provider) shutdownGrace() time.Duration {
	if p.opts.ShutdownGrace > 0 {
		return p.opts.ShutdownGrace
	}
	return defaultShutdownGrace
}

// Run implements provider.Provider. Listeners serve as soon as Apply opens
// them; Run expires idle backend connections until ctx ends, then shuts the
// listeners down gracefully and returns once they are closed. The builtin proxy never changes its
// endpoints on its own, so nothing is sent on updates.
func (p *Provider) Run(ctx context.Context, updates chan<- provider.Result) error {
	reap := time.NewTicker(idleTimeout / 3)
	defer reap.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case now := <-reap.C:
			p.mu.Lock()
			for _, cp := range p.pools {
				cp.reap(now)
			}
			p.mu.Unlock()
		}
	}
	p.mu.Lock()
	p.stopped = true
	for at, s := range p.servers {
		delete(p.servers, at)
		p.drain(s, p.shutdownGrace())
	}
	// Tunnels are not the listeners' to wait for: they get the same grace,
	// also those still draining from an endpoint that left.
	for addr, cp := range p.pools {
		delete(p.pools, addr)
		cp.close(p.shutdownGrace())
	}
	for _, cp := range p.draining {
		cp.close(p.shutdownGrace())
	}
	p.draining = nil
	p.mu.Unlock()
	p.wg.Wait()
	p.tunnelMu.Lock()
	p.tunnelsClosed = true
	p.tunnelMu.Unlock()
	p.tunnels.Wait()
	p.authClient.CloseIdleConnections()
	p.mirrors.stop(p)
	p.log.Info("builtin proxy stopped")
	return nil
}

// Healthy implements provider.HealthChecker: nil once a config is applied
// and every listener is serving.
func (p *Provider) Healthy(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.stopped:
		return errors.New("builtin: shut down")
	case !p.applied:
		return errors.New("builtin: no config applied yet")
	}
	for at, s := range p.servers {
		if err := s.failed.Load(); err != nil {
			return fmt.Errorf("builtin: listener on port %d %s: %w", at.port, at.where(), *err)
		}
	}
	return nil
}

// onceCloseListener makes Close idempotent: drain closes the listener
// itself before http.Server.Shutdown closes it again.
// serverLog takes net/http's server errors. Failed TLS handshakes are the
// clients' business (scanners, closed tabs, wrk's Connection: close) and
// would flood the log under load: debug. The rest are warnings.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	l.log.Log(context.Background(), level, msg)
	return len(p), nil
}

type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
