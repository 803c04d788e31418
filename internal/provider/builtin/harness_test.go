package builtin

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// startProxy returns a running builtin proxy on 127.0.0.1, stopped when the
// test ends.
func startProxy(t testing.TB, logger *slog.Logger) *Provider {
	t.Helper()
	p := New(provider.Options{ListenAddress: "127.0.0.1"}, logger)
	runProvider(t, p)
	return p
}

// runProvider runs p until the test ends.
func runProvider(t testing.TB, p *Provider) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, make(chan provider.Result, 1)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
}

// startBackend serves h on a loopback port and returns its endpoint.
func startBackend(t testing.TB, h http.Handler) lbconfig.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return nettest.Endpoint(t, ln.Addr().String())
}

// startH2CBackend serves h over HTTP/2 in the clear only (prior
// knowledge) on a loopback port and returns its endpoint.
func startH2CBackend(t testing.TB, h http.Handler) lbconfig.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return nettest.Endpoint(t, ln.Addr().String())
}

// mustApply sorts, validates and applies cfg.
func mustApply(t testing.TB, p *Provider, cfg *lbconfig.Config) provider.Result {
	t.Helper()
	cfg.Sort()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("invalid test config: %v", err)
	}
	res, err := p.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// oneListener is a config with one load balancer "default" and one HTTP
// listener on port.
func oneListener(port int32, backends []lbconfig.Backend, def *lbconfig.BackendRef, vhosts ...lbconfig.VirtualHost) *lbconfig.Config {
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{{
				Port:           port,
				Protocol:       lbconfig.ProtocolHTTP,
				VirtualHosts:   vhosts,
				DefaultBackend: def,
			}},
		}},
		Backends: backends,
	}
}

func vh(name string, routes ...lbconfig.Route) lbconfig.VirtualHost {
	return lbconfig.VirtualHost{Hostname: name, Routes: routes}
}

func prefix(path, backend string) lbconfig.Route {
	return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: backend}}
}

func exact(path, backend string) lbconfig.Route {
	return lbconfig.Route{Path: path, Match: lbconfig.MatchExact, Backend: lbconfig.BackendRef{Name: backend}}
}

func backendOf(name string, eps ...lbconfig.Endpoint) lbconfig.Backend {
	return lbconfig.Backend{Name: name, Endpoints: eps}
}

// testClient is an HTTP client that never uses an environment proxy.
func testClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// server is the name of the echo backend that answered, or "".
func (a answer) server() string { return a.header.Get("X-Echo-Server") }

// get sends a request to the proxy port with the given Host header.
func get(t testing.TB, c *http.Client, port int32, host, path string, hdr ...string) answer {
	t.Helper()
	return do(t, c, "GET", port, host, path, nil, hdr...)
}

func do(t testing.TB, c *http.Client, method string, port int32, host, path string, body io.Reader, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, "http://127.0.0.1:"+strconv.Itoa(int(port))+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s (Host %s): reading body: %v", method, path, host, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawClient is one client connection that writes by hand.
type rawClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dialRaw connects to the proxy's port on 127.0.0.1, with a deadline of
// 10 s for what the test does on it, and closes it when the test ends.
func dialRaw(t *testing.T, port int32) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, c: c, r: bufio.NewReader(c)}
}
