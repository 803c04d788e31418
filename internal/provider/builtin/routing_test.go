package builtin

import (
	"net/http"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

func TestHostRouting(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port,
		[]lbconfig.Backend{
			backendOf("exact", nettest.EchoEndpoint(t, "exact")),
			backendOf("wild", nettest.EchoEndpoint(t, "wild")),
			backendOf("any", nettest.EchoEndpoint(t, "any")),
		}, nil,
		vh("foo.example.com", prefix("/", "exact")),
		vh("*.example.com", prefix("/", "wild")),
		vh("", prefix("/", "any")),
	))
	c := testClient(t)
	for _, tc := range []struct{ host, want string }{
		{"foo.example.com", "exact"},
		{"FOO.Example.COM", "exact"},
		{"foo.example.com:8080", "exact"},
		{"Foo.Example.com.:80", "exact"},
		{"bar.example.com", "wild"},
		{"BAR.example.com:1234", "wild"},
		{"a.b.example.com", "any"}, // a wildcard matches one label only
		{"example.com", "any"},
		{"other.test", "any"},
		{"127.0.0.1", "any"},
	} {
		a := get(t, c, port, tc.host, "/x")
		if a.status != http.StatusOK || a.server() != tc.want {
			t.Errorf("Host %q: got %d from %q, want 200 from %q", tc.host, a.status, a.server(), tc.want)
		}
		if got := a.header.Get("X-Echo-Host"); got != tc.host {
			t.Errorf("Host %q: backend saw Host %q", tc.host, got)
		}
	}
}

func TestPathRouting(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	var backends []lbconfig.Backend
	for _, n := range []string{"exact-foo", "prefix-foo", "prefix-foo-bar", "root", "exact-slash", "trailing"} {
		backends = append(backends, backendOf(n, nettest.EchoEndpoint(t, n)))
	}
	mustApply(t, p, oneListener(port, backends, nil,
		vh("app.test",
			prefix("/", "root"),
			prefix("/foo", "prefix-foo"),
			exact("/foo", "exact-foo"),
			prefix("/foo/bar", "prefix-foo-bar"),
			exact("/slash/", "exact-slash"),
			prefix("/trail/", "trailing"),
		),
	))
	c := testClient(t)
	for _, tc := range []struct{ path, want string }{
		{"/foo", "exact-foo"}, // Exact before Prefix
		{"/foo/", "prefix-foo"},
		{"/foo/x", "prefix-foo"},
		{"/foo/bar", "prefix-foo-bar"}, // longest prefix
		{"/foo/bar/", "prefix-foo-bar"},
		{"/foo/bar/baz", "prefix-foo-bar"},
		{"/foo/barbaz", "prefix-foo"},
		{"/foobar", "root"}, // whole segments only
		{"/", "root"},
		{"/slash/", "exact-slash"},
		{"/slash", "root"},
		{"/trail", "trailing"}, // a trailing "/" in a prefix is ignored
		{"/trail/", "trailing"},
		{"/trail/x", "trailing"},
		{"/trailer", "root"},
		{"/foo?q=1", "exact-foo"},
	} {
		a := get(t, c, port, "app.test", tc.path)
		if a.status != http.StatusOK || a.server() != tc.want {
			t.Errorf("path %q: got %d from %q, want 200 from %q", tc.path, a.status, a.server(), tc.want)
		}
	}
	// A normal request target reaches the backend as sent (an encoded
	// "/" is refused: see providertest's PathNormalization).
	if a := get(t, c, port, "app.test", "/foo/a%3Fb?x=1&y=%20"); a.body != "prefix-foo app.test/foo/a%3Fb?x=1&y=%20\n" {
		t.Errorf("backend saw %q", a.body)
	}
}

func TestDefaultBackendAnd404(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	withDefault, without := nettest.FreePort(t), nettest.FreePort(t)
	backends := []lbconfig.Backend{
		backendOf("app", nettest.EchoEndpoint(t, "app")),
		backendOf("fallback", nettest.EchoEndpoint(t, "fallback")),
	}
	hosts := []lbconfig.VirtualHost{vh("app.test", prefix("/app", "app"))}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{
				{Port: withDefault, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: hosts, DefaultBackend: &lbconfig.BackendRef{Name: "fallback"}},
				{Port: without, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: hosts},
			},
		}},
		Backends: backends,
	}
	mustApply(t, p, cfg)
	c := testClient(t)
	for _, tc := range []struct {
		port       int32
		host, path string
		status     int
		want       string
	}{
		{withDefault, "app.test", "/app/x", 200, "app"},
		{withDefault, "app.test", "/other", 200, "fallback"}, // vhost matches, no route
		{withDefault, "nope.test", "/app", 200, "fallback"},  // no vhost
		{without, "app.test", "/app", 200, "app"},
		{without, "app.test", "/other", 404, ""},
		{without, "nope.test", "/app", 404, ""},
	} {
		a := get(t, c, tc.port, tc.host, tc.path)
		if a.status != tc.status || a.server() != tc.want {
			t.Errorf("port %d %s%s: got %d from %q, want %d from %q", tc.port, tc.host, tc.path, a.status, a.server(), tc.status, tc.want)
		}
		if tc.status == 404 && a.body == "" {
			t.Errorf("404 without a body")
		}
	}
}

func TestCatchAllOnly(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("any", nettest.EchoEndpoint(t, "any"))}, nil,
		vh("", prefix("/api", "any"))))
	c := testClient(t)
	if a := get(t, c, port, "whatever.test", "/api/v1"); a.server() != "any" {
		t.Errorf("got %d from %q, want the catch-all", a.status, a.server())
	}
	if a := get(t, c, port, "whatever.test", "/web"); a.status != http.StatusNotFound {
		t.Errorf("got %d, want 404", a.status)
	}
}

func TestNoReadyEndpoints(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	live := nettest.EchoEndpoint(t, "live")
	notReady, terminating := live, live
	notReady.Ready = false
	terminating.Ready, terminating.Terminating = false, true
	readyButTerminating := live
	readyButTerminating.Terminating = true
	mustApply(t, p, oneListener(port, []lbconfig.Backend{
		backendOf("empty"),
		backendOf("not-ready", notReady, terminating, readyButTerminating),
		backendOf("mixed", notReady),
	}, nil, vh("",
		prefix("/empty", "empty"),
		prefix("/not-ready", "not-ready"),
	)))
	c := testClient(t)
	for _, path := range []string{"/empty", "/not-ready"} {
		if a := get(t, c, port, "x.test", path); a.status != http.StatusServiceUnavailable {
			t.Errorf("%s: got %d %q, want 503", path, a.status, a.body)
		}
	}
}

func TestRoundRobin(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	notReady := nettest.EchoEndpoint(t, "not-ready")
	notReady.Ready = false
	mustApply(t, p, oneListener(port, []lbconfig.Backend{
		backendOf("pool", nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b"), nettest.EchoEndpoint(t, "c"), notReady),
	}, &lbconfig.BackendRef{Name: "pool"}))
	c := testClient(t)
	counts := map[string]int{}
	for range 30 {
		a := get(t, c, port, "x.test", "/")
		if a.status != http.StatusOK {
			t.Fatalf("got %d %q", a.status, a.body)
		}
		counts[a.server()]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if counts[n] != 10 {
			t.Errorf("round robin: %v, want 10 each of a, b, c", counts)
			break
		}
	}
}

func TestDeadEndpoint(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	dead := lbconfig.Endpoint{Address: "127.0.0.1", Port: nettest.FreePort(t), Ready: true, Serving: true}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("dead", dead)}, &lbconfig.BackendRef{Name: "dead"}))
	if a := get(t, testClient(t), port, "x.test", "/"); a.status != http.StatusBadGateway {
		t.Errorf("got %d %q, want 502", a.status, a.body)
	}
}

func TestConnectRefused(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("echo", nettest.EchoEndpoint(t, "echo"))}, &lbconfig.BackendRef{Name: "echo"}))
	if a := do(t, testClient(t), "CONNECT", port, "x.test:443", "/", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("CONNECT: got %d, want 405", a.status)
	}
}
