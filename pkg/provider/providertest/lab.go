package providertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

const (
	// converge bounds how long traffic may take to follow an Apply.
	converge = 10 * time.Second
	// applyTimeout bounds one Apply call.
	applyTimeout = 30 * time.Second
	// stopTimeout bounds how long Run may take to return after its
	// context ends (the suite's ShutdownGrace plus the provider's work).
	stopTimeout = 20 * time.Second
	// shutdownGrace is the ShutdownGrace the suite gives providers.
	shutdownGrace = 2 * time.Second
	// pollInterval is the pause between two polls of a condition.
	pollInterval = 20 * time.Millisecond
	// repeats is how many more times each probe must keep its answer once
	// traffic converged.
	repeats = 3
)

// lab is one case's running provider, its backends and its client.
type lab struct {
	t      *testing.T
	addr   string // the listen address
	p      provider.Provider
	client *http.Client
	ports  map[int32]bool // ports handed out by freePort

	cancel   context.CancelFunc
	runDone  chan struct{}
	runErr   error // set before runDone closes
	stopping atomic.Bool
	stopOnce sync.Once
}

// start builds a provider with New and runs it until the case ends.
func (s *Suite) start(t *testing.T) *lab {
	t.Helper()
	return s.startWith(t, provider.Options{})
}

// startWith is start with the client limits and TLS settings of limits
// (the rest of it is the suite's).
func (s *Suite) startWith(t *testing.T, limits provider.Options) *lab {
	t.Helper()
	opts := limits
	opts.ListenAddress, opts.ShutdownGrace = s.ListenAddress, shutdownGrace
	opts.DrainTimeout, opts.Metrics, opts.AccessLog = 0, nil, nil
	p := s.New(t, opts)
	if p == nil {
		t.Fatal("providertest: New returned a nil provider")
	}
	tr := &http.Transport{
		Proxy:               nil, // never an environment proxy
		MaxIdleConnsPerHost: 16,
		DisableCompression:  true,
	}
	l := &lab{
		t:       t,
		addr:    s.ListenAddress,
		p:       p,
		client:  &http.Client{Transport: tr, Timeout: 10 * time.Second},
		ports:   map[int32]bool{},
		runDone: make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	updates := make(chan provider.Result, 16)
	go func() {
		defer close(l.runDone)
		l.runErr = p.Run(ctx, updates)
	}()
	go func() {
		for {
			select {
			case <-updates:
			case <-l.runDone:
				return
			}
		}
	}()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		l.stop()
	})
	return l
}

// stop ends Run and checks that it returns in time and without error. It
// is idempotent.
func (l *lab) stop() {
	l.t.Helper()
	l.stopOnce.Do(func() {
		select {
		case <-l.runDone:
			l.t.Errorf("%s: Run returned before its context ended: %v", l.p.Name(), l.runErr)
			return
		default:
		}
		l.stopping.Store(true)
		l.cancel()
		select {
		case <-l.runDone:
			if l.runErr != nil && !errors.Is(l.runErr, context.Canceled) {
				l.t.Errorf("%s: Run: %v", l.p.Name(), l.runErr)
			}
		case <-time.After(stopTimeout):
			l.t.Errorf("%s: Run did not return within %v of its context ending", l.p.Name(), stopTimeout)
		}
	})
}

// checkRunning fails the case at once if Run ended early.
func (l *lab) checkRunning() {
	l.t.Helper()
	select {
	case <-l.runDone:
		if !l.stopping.Load() {
			l.t.Fatalf("%s: Run returned before its context ended: %v", l.p.Name(), l.runErr)
		}
	default:
	}
}

// freePort returns a port of the listen address that was free a moment
// ago and that this case has not used yet.
func (l *lab) freePort() int32 {
	l.t.Helper()
	for range 20 {
		port, err := nettest.FreePortOn(l.addr)
		if err != nil {
			l.t.Fatalf("providertest: %v", err)
		}
		if !l.ports[port] {
			l.ports[port] = true
			return port
		}
	}
	l.t.Fatal("providertest: no fresh free port")
	return 0
}

// holdPort binds a free port of the listen address, as another process
// would, until the case ends or release is called.
func (l *lab) holdPort() (port int32, release func()) {
	l.t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(l.addr, "0"))
	if err != nil {
		l.t.Fatalf("providertest: holding a port: %v", err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = ln.Close() }) }
	l.t.Cleanup(release)
	port = int32(ln.Addr().(*net.TCPAddr).Port)
	l.ports[port] = true
	return port, release
}

// apply applies cfg and fails the case if Apply fails.
func (l *lab) apply(cfg *lbconfig.Config) provider.Result {
	l.t.Helper()
	res, err := l.tryApply(cfg)
	if err != nil {
		l.t.Fatalf("%s: Apply: %v", l.p.Name(), err)
	}
	return res
}

// tryApply sorts and validates cfg, applies it and checks that Apply left
// it as it was.
func (l *lab) tryApply(cfg *lbconfig.Config) (provider.Result, error) {
	l.t.Helper()
	l.checkRunning()
	cfg.Sort()
	if err := cfg.Validate(); err != nil {
		l.t.Fatalf("providertest: the suite built an invalid config: %v", err)
	}
	before, err := json.Marshal(cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	res, applyErr := l.p.Apply(ctx, cfg)
	if after, _ := json.Marshal(cfg); !bytes.Equal(before, after) {
		l.t.Errorf("%s: Apply modified the config it was given", l.p.Name())
	}
	return res, applyErr
}

// backend is a running echo backend (nettest.Echo) that counts the
// requests it gets.
type backend struct {
	name string
	// ref is the lbconfig name of a backend with this one endpoint.
	ref      string
	endpoint lbconfig.Endpoint
	hits     atomic.Int64
	// bytesIn counts every byte read from the backend's connections, also
	// of requests its server refuses before its handler sees them.
	bytesIn atomic.Int64
	srv     *http.Server
	done    chan struct{}
	once    sync.Once
}

// startBackend serves an echo backend called name on a free 127.0.0.1
// port until the case ends.
func (l *lab) startBackend(name string) *backend {
	l.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.t.Fatalf("providertest: backend %s: %v", name, err)
	}
	b := &backend{
		name: name,
		ref:  "test/" + name + ":80",
		endpoint: lbconfig.Endpoint{
			Address: "127.0.0.1",
			Port:    int32(ln.Addr().(*net.TCPAddr).Port),
			Ready:   true,
			Serving: true,
		},
		done: make(chan struct{}),
	}
	echo := nettest.Echo{Name: name}
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.hits.Add(1)
			echo.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(b.done)
		_ = b.srv.Serve(countingListener{ln, &b.bytesIn})
	}()
	l.t.Cleanup(b.close)
	return b
}

// countingListener counts the bytes read from the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// close stops the backend, as when its pod goes away.
func (b *backend) close() {
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if b.srv.Shutdown(ctx) != nil {
			_ = b.srv.Close()
		}
		<-b.done
	})
}

// pool is the lbconfig backend with just this endpoint.
func (b *backend) pool() lbconfig.Backend {
	return lbconfig.Backend{Name: b.ref, Endpoints: []lbconfig.Endpoint{b.endpoint}}
}

// defaultTo is a listener's default backend reference to b.
func (b *backend) defaultTo() *lbconfig.BackendRef { return &lbconfig.BackendRef{Name: b.ref} }

// Config builders. Every config is fresh: nothing is shared between two
// Applies.

var source = lbconfig.ObjectRef{Kind: "Ingress", Namespace: "test", Name: "suite"}

func config(lbs []lbconfig.LoadBalancer, backends ...lbconfig.Backend) *lbconfig.Config {
	return &lbconfig.Config{LoadBalancers: lbs, Backends: backends}
}

func loadBalancer(name string, listeners ...lbconfig.Listener) lbconfig.LoadBalancer {
	return lbconfig.LoadBalancer{Name: name, Listeners: listeners, Sources: []lbconfig.ObjectRef{source}}
}

// oneLB is a load balancer "default" with one HTTP listener.
func oneLB(port int32, def *lbconfig.BackendRef, hosts ...lbconfig.VirtualHost) []lbconfig.LoadBalancer {
	return []lbconfig.LoadBalancer{loadBalancer("default", listener(port, def, hosts...))}
}

func listener(port int32, def *lbconfig.BackendRef, hosts ...lbconfig.VirtualHost) lbconfig.Listener {
	return lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: hosts, DefaultBackend: def}
}

func vhost(name string, routes ...lbconfig.Route) lbconfig.VirtualHost {
	return lbconfig.VirtualHost{Hostname: name, Routes: routes}
}

func prefix(path string, b *backend) lbconfig.Route { return route(path, lbconfig.MatchPrefix, b.ref) }
func exact(path string, b *backend) lbconfig.Route  { return route(path, lbconfig.MatchExact, b.ref) }

func route(path string, m lbconfig.MatchType, ref string) lbconfig.Route {
	return lbconfig.Route{Path: path, Match: m, Backend: lbconfig.BackendRef{Name: ref}, Source: source}
}

// reply is what one request got.
type reply struct {
	status int
	server string // the echo backend that answered, or ""
	header http.Header
	body   string
	err    error
}

// replyOf reads the response of a request that ended with err, closing
// its body.
func replyOf(resp *http.Response, err error) reply {
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{err: fmt.Errorf("reading the body: %w", err)}
	}
	return reply{status: resp.StatusCode, server: resp.Header.Get("X-Echo-Server"), header: resp.Header, body: string(body)}
}

func (r reply) String() string {
	switch {
	case r.err != nil:
		return "error: " + r.err.Error()
	case r.server != "":
		return fmt.Sprintf("%d from backend %q", r.status, r.server)
	}
	return fmt.Sprintf("%d from the load balancer (%q)", r.status, strings.TrimSpace(r.body))
}

// want is the answer a request must get: a status and the backends that
// may send it, or none for an answer of the load balancer itself.
type want struct {
	status   int
	backends []string
}

// from wants 200 from one of bs.
func from(bs ...*backend) want {
	w := want{status: http.StatusOK}
	for _, b := range bs {
		w.backends = append(w.backends, b.name)
	}
	return w
}

// status wants code from the load balancer, not from a backend.
func status(code int) want { return want{status: code} }

func (w want) matches(r reply) bool {
	if r.err != nil || r.status != w.status {
		return false
	}
	if len(w.backends) == 0 {
		return r.server == ""
	}
	return slices.Contains(w.backends, r.server)
}

func (w want) String() string {
	if len(w.backends) == 0 {
		return fmt.Sprintf("%d from the load balancer", w.status)
	}
	return fmt.Sprintf("%d from backend %s", w.status, strings.Join(w.backends, " or "))
}

// probe is a request and the answer it must get.
type probe struct {
	port       int32
	host, path string
	want       want
	// addr is the IP connected to; "" is the listen address.
	addr string
}

func at(port int32, host, path string, w want) probe {
	return probe{port: port, host: host, path: path, want: w}
}

func (p probe) String() string {
	if p.addr != "" {
		return fmt.Sprintf("GET %s (Host %q) on %s port %d", p.path, p.host, p.addr, p.port)
	}
	return fmt.Sprintf("GET %s (Host %q) on port %d", p.path, p.host, p.port)
}

// get sends one request; hdr holds header name, value pairs.
func (l *lab) get(c *http.Client, port int32, host, path string, hdr ...string) reply {
	return l.getURL(c, "http://"+net.JoinHostPort(l.addr, strconv.Itoa(int(port)))+path, host, hdr...)
}

// getURL sends GET url with Host host; hdr holds header name, value pairs.
func (l *lab) getURL(c *http.Client, url, host string, hdr ...string) reply {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return reply{err: err}
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return replyOf(c.Do(req))
}

func (l *lab) send(p probe) reply { return l.sendWith(l.client, p) }

// sendWith sends p with c, to p.addr if it has one.
func (l *lab) sendWith(c *http.Client, p probe) reply {
	if p.addr == "" {
		return l.get(c, p.port, p.host, p.path)
	}
	return l.getURL(c, "http://"+net.JoinHostPort(p.addr, strconv.Itoa(int(p.port)))+p.path, p.host)
}

// expect waits until every probe gets its answer in one pass, then checks
// that each keeps getting it.
func (l *lab) expect(probes ...probe) {
	l.t.Helper()
	l.eventually("traffic to follow the config", func() (bool, string) {
		for _, p := range probes {
			if r := l.send(p); !p.want.matches(r) {
				return false, fmt.Sprintf("%s: got %s, want %s", p, r, p.want)
			}
		}
		return true, ""
	})
	for _, p := range probes {
		for range repeats {
			if r := l.send(p); !p.want.matches(r) {
				l.t.Errorf("%s: got %s, want %s (it did before)", p, r, p.want)
				break
			}
		}
	}
}

// expectNow checks that every probe gets its answer n times, without
// waiting for anything to change.
func (l *lab) expectNow(n int, probes ...probe) {
	l.t.Helper()
	for _, p := range probes {
		for range n {
			if r := l.send(p); !p.want.matches(r) {
				l.t.Errorf("%s: got %s, want %s", p, r, p.want)
				break
			}
		}
	}
}

// eventually polls cond until it holds or the convergence bound passes;
// cond says what it saw last.
func (l *lab) eventually(what string, cond func() (ok bool, saw string)) {
	l.t.Helper()
	deadline := time.Now().Add(converge)
	for {
		l.checkRunning()
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s: waited %v for %s; last: %s", l.p.Name(), converge, what, saw)
		}
		time.Sleep(pollInterval)
	}
}

// refused waits until nothing accepts connections on port.
func (l *lab) refused(port int32) {
	l.t.Helper()
	addr := net.JoinHostPort(l.addr, strconv.Itoa(int(port)))
	l.eventually(fmt.Sprintf("port %d to stop accepting connections", port), func() (bool, string) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true, ""
		}
		_ = conn.Close()
		return false, addr + " accepts connections"
	})
}

// load is requests sent in a loop by a few workers, each on its own
// keep-alive connection, until finish or a bound in time and count.
type load struct {
	l      *lab
	want   want
	stop   chan struct{}
	wg     sync.WaitGroup
	sent   atomic.Int64
	failed atomic.Int64
	mu     sync.Mutex
	errs   []string // the first few failures
	once   sync.Once
}

const (
	loadMaxTime     = 20 * time.Second
	loadMaxRequests = 20000 // per worker
)

// startLoad sends p from workers goroutines; every answer must match
// p.want.
func (l *lab) startLoad(workers int, p probe) *load {
	ld := &load{l: l, want: p.want, stop: make(chan struct{})}
	deadline := time.Now().Add(loadMaxTime)
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: workers, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for range workers {
		ld.wg.Go(func() {
			for range loadMaxRequests {
				select {
				case <-ld.stop:
					return
				default:
				}
				if time.Now().After(deadline) {
					return
				}
				r := l.sendWith(c, p)
				ld.sent.Add(1)
				if !p.want.matches(r) {
					ld.failed.Add(1)
					ld.mu.Lock()
					if len(ld.errs) < 5 {
						ld.errs = append(ld.errs, r.String())
					}
					ld.mu.Unlock()
				}
			}
		})
	}
	l.t.Cleanup(func() {
		ld.finish()
		tr.CloseIdleConnections()
	})
	return ld
}

// waitSent waits until the load sent more than n requests.
func (ld *load) waitSent(n int64) {
	ld.l.t.Helper()
	ld.l.eventually(fmt.Sprintf("more than %d requests of load", n), func() (bool, string) {
		got := ld.sent.Load()
		return got > n, fmt.Sprintf("%d sent", got)
	})
}

// finish stops the load, waits for it and fails the case if any request
// failed. It returns how many requests were sent.
func (ld *load) finish() int64 {
	ld.l.t.Helper()
	ld.once.Do(func() {
		close(ld.stop)
		ld.wg.Wait()
		if n := ld.failed.Load(); n > 0 {
			ld.mu.Lock()
			defer ld.mu.Unlock()
			ld.l.t.Errorf("%s: %d of %d requests under load did not get %s; first: %s",
				ld.l.p.Name(), n, ld.sent.Load(), ld.want, strings.Join(ld.errs, "; "))
		}
	})
	return ld.sent.Load()
}
