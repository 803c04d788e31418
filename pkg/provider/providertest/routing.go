package providertest

import (
	"net/http"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

func (s *Suite) testExactHost(t *testing.T) {
	l := s.start(t)
	a, b := l.startBackend("a"), l.startBackend("b")
	port := l.freePort()
	l.apply(config(oneLB(port, nil,
		vhost("a.example.com", prefix("/", a)),
		vhost("b.example.com", prefix("/", b)),
	), a.pool(), b.pool()))
	l.expect(
		at(port, "a.example.com", "/", from(a)),
		at(port, "b.example.com", "/x", from(b)),
		at(port, "c.example.com", "/", status(http.StatusNotFound)),
		at(port, "example.com", "/", status(http.StatusNotFound)),
		at(port, "x.a.example.com", "/", status(http.StatusNotFound)),
		at(port, "a.example.com.evil.test", "/", status(http.StatusNotFound)),
	)
	// The backend sees the Host header the client sent.
	if r := l.send(at(port, "a.example.com", "/", from(a))); r.header.Get("X-Echo-Host") != "a.example.com" {
		t.Errorf("backend saw Host %q, want a.example.com (%s)", r.header.Get("X-Echo-Host"), r)
	}
}

func (s *Suite) testWildcardHost(t *testing.T) {
	l := s.start(t)
	a, wild, def := l.startBackend("a"), l.startBackend("wild"), l.startBackend("default")
	port := l.freePort()
	l.apply(config(oneLB(port, def.defaultTo(),
		vhost("*.example.com", prefix("/", wild)),
		vhost("a.example.com", prefix("/", a)),
	), a.pool(), wild.pool(), def.pool()))
	l.expect(
		at(port, "x.example.com", "/", from(wild)),
		at(port, "b-2.example.com", "/x/y", from(wild)),
		// An exact host wins over a wildcard that matches too.
		at(port, "a.example.com", "/", from(a)),
		// One label only: neither deeper names nor the bare domain.
		at(port, "x.y.example.com", "/", from(def)),
		at(port, "example.com", "/", from(def)),
		at(port, "xexample.com", "/", from(def)),
		at(port, "x.example.org", "/", from(def)),
	)
}

func (s *Suite) testHostCaseAndPort(t *testing.T) {
	l := s.start(t)
	a, wild := l.startBackend("a"), l.startBackend("wild")
	port := l.freePort()
	l.apply(config(oneLB(port, nil,
		vhost("a.example.com", prefix("/", a)),
		vhost("*.wild.example.com", prefix("/", wild)),
	), a.pool(), wild.pool()))
	l.expect(
		at(port, "A.EXAMPLE.COM", "/", from(a)),
		at(port, "a.Example.Com", "/", from(a)),
		at(port, "a.example.com:8080", "/", from(a)),
		at(port, "A.Example.COM:80", "/", from(a)),
		at(port, "X.Wild.Example.COM", "/", from(wild)),
		at(port, "x.wild.example.com:1234", "/", from(wild)),
		at(port, "b.example.com:8080", "/", status(http.StatusNotFound)),
		// A Host that is a list is no host: never routed by one of its
		// parts (the last, as a comma-splitting fetch would take).
		at(port, "b.example.com,a.example.com", "/", status(http.StatusNotFound)),
		at(port, "x.wild.example.com, a.example.com", "/", status(http.StatusNotFound)),
	)
}

// testExactHostForms: a listener of exact hosts only, which a provider
// may look up without normalizing the Host first (the haproxy provider
// does), routes every form of a host name as the name: case, port,
// trailing dot; a port that is not digits, or a list of hosts, routes
// nowhere.
func (s *Suite) testExactHostForms(t *testing.T) {
	l := s.start(t)
	a, b := l.startBackend("a"), l.startBackend("b")
	port := l.freePort()
	l.apply(config(oneLB(port, nil,
		vhost("a.example.com", prefix("/", a)),
		vhost("b.example.com", prefix("/", b)),
	), a.pool(), b.pool()))
	l.expect(
		at(port, "a.example.com", "/", from(a)),
		at(port, "A.EXAMPLE.COM", "/", from(a)),
		at(port, "a.example.com:8080", "/x", from(a)),
		at(port, "B.Example.Com:80", "/", from(b)),
		at(port, "a.example.com.", "/", from(a)),
		at(port, "B.EXAMPLE.COM.", "/", from(b)),
		at(port, "a.example.com.:8080", "/", from(a)),
		at(port, "c.example.com:8080", "/", status(http.StatusNotFound)),
		// A port is one or more digits (lbconfig.NormalizeHost).
		at(port, "a.example.com:", "/", status(http.StatusNotFound)),
		at(port, "a.example.com:http", "/", status(http.StatusNotFound)),
		at(port, "c.example.com.", "/", status(http.StatusNotFound)),
		at(port, "a.example.com..", "/", status(http.StatusNotFound)),
		at(port, "b.example.com,a.example.com", "/", status(http.StatusNotFound)),
		at(port, "a.example.com:80,b.example.com", "/", status(http.StatusNotFound)),
	)
}

func (s *Suite) testPaths(t *testing.T) {
	l := s.start(t)
	exactFoo, foo, fooBar := l.startBackend("exact-foo"), l.startBackend("prefix-foo"), l.startBackend("prefix-foo-bar")
	root, app := l.startBackend("root"), l.startBackend("prefix-app")
	port := l.freePort()
	l.apply(config(oneLB(port, nil,
		// Listed out of order: Sort puts them in precedence order.
		vhost("app.example",
			prefix("/", root),
			prefix("/foo", foo),
			exact("/foo", exactFoo),
			prefix("/foo/bar", fooBar),
			prefix("/app/", app),
		),
		vhost("only.example", exact("/only", exactFoo)),
	), exactFoo.pool(), foo.pool(), fooBar.pool(), root.pool(), app.pool()))
	h := "app.example"
	l.expect(
		at(port, h, "/foo", from(exactFoo)),
		at(port, h, "/foo?x=1", from(exactFoo)), // the query is not part of the path
		at(port, h, "/foo/", from(foo)),
		at(port, h, "/foo/x", from(foo)),
		at(port, h, "/foobar", from(root)), // whole elements only
		at(port, h, "/foo/bar", from(fooBar)),
		at(port, h, "/foo/bar/baz", from(fooBar)), // the longest prefix wins
		at(port, h, "/foo/barbaz", from(foo)),
		at(port, h, "/app", from(app)), // a trailing "/" of a prefix is ignored
		at(port, h, "/app/x", from(app)),
		at(port, h, "/apple", from(root)),
		at(port, h, "/FOO", from(root)), // paths are case-sensitive
		at(port, h, "/", from(root)),
		at(port, "only.example", "/only", from(exactFoo)),
		at(port, "only.example", "/only/", status(http.StatusNotFound)),
		at(port, "only.example", "/onlyx", status(http.StatusNotFound)),
		at(port, "only.example", "/", status(http.StatusNotFound)),
	)
	// The backend gets the path and query as sent.
	r := l.send(at(port, h, "/foo/x?b=2&a=1", from(foo)))
	if want := "prefix-foo app.example/foo/x?b=2&a=1\n"; r.body != want {
		t.Errorf("backend got %q, want %q", r.body, want)
	}
}

func (s *Suite) testDefaultBackend(t *testing.T) {
	l := s.start(t)
	a, catchAll, def := l.startBackend("a"), l.startBackend("catch-all"), l.startBackend("default")
	withDefault, without, onlyDefault := l.freePort(), l.freePort(), l.freePort()
	hosts := func() []lbconfig.VirtualHost {
		return []lbconfig.VirtualHost{
			vhost("a.example.com", prefix("/api", a)),
			vhost("", prefix("/other", catchAll)),
		}
	}
	l.apply(config([]lbconfig.LoadBalancer{loadBalancer("default",
		listener(withDefault, def.defaultTo(), hosts()...),
		listener(without, nil, hosts()...),
		listener(onlyDefault, def.defaultTo()),
	)}, a.pool(), catchAll.pool(), def.pool()))
	l.expect(
		at(withDefault, "a.example.com", "/api/v1", from(a)),
		// The chosen host has no matching route: the default backend
		// answers, not the catch-all host that would match.
		at(withDefault, "a.example.com", "/other", from(def)),
		at(withDefault, "z.example.com", "/other", from(catchAll)),
		at(withDefault, "z.example.com", "/nothing", from(def)),

		at(without, "a.example.com", "/api", from(a)),
		at(without, "a.example.com", "/other", status(http.StatusNotFound)),
		at(without, "z.example.com", "/other", from(catchAll)),
		at(without, "z.example.com", "/nothing", status(http.StatusNotFound)),

		at(onlyDefault, "a.example.com", "/api", from(def)),
		at(onlyDefault, "anything.test", "/x/y", from(def)),
	)
}

func (s *Suite) testNoReadyEndpoint(t *testing.T) {
	l := s.start(t)
	up, down, term := l.startBackend("up"), l.startBackend("down"), l.startBackend("terminating")
	port := l.freePort()
	mk := func(downReady bool) *lbconfig.Config {
		d := down.pool()
		d.Endpoints[0].Ready, d.Endpoints[0].Serving = downReady, downReady
		tm := term.pool()
		tm.Endpoints[0].Ready, tm.Endpoints[0].Terminating = false, true
		return config(oneLB(port, nil,
			vhost("up.example", prefix("/", up)),
			vhost("empty.example", route("/", lbconfig.MatchPrefix, "test/empty:80")),
			vhost("down.example", prefix("/", down)),
			vhost("terminating.example", prefix("/", term)),
		), up.pool(), lbconfig.Backend{Name: "test/empty:80"}, d, tm)
	}
	l.apply(mk(false))
	l.expect(
		at(port, "up.example", "/", from(up)),
		at(port, "empty.example", "/", status(http.StatusServiceUnavailable)),
		at(port, "down.example", "/", status(http.StatusServiceUnavailable)),
		at(port, "terminating.example", "/", status(http.StatusServiceUnavailable)),
	)
	if n, m := down.hits.Load(), term.hits.Load(); n != 0 || m != 0 {
		t.Errorf("endpoints that are not ready got requests: %d (not ready), %d (terminating)", n, m)
	}
	// Once ready, the endpoint serves.
	l.apply(mk(true))
	l.expect(
		at(port, "down.example", "/", from(down)),
		at(port, "empty.example", "/", status(http.StatusServiceUnavailable)),
	)
}

func (s *Suite) testSpread(t *testing.T) {
	l := s.start(t)
	r1, r2, r3 := l.startBackend("ready-1"), l.startBackend("ready-2"), l.startBackend("ready-3")
	notReady, term := l.startBackend("not-ready"), l.startBackend("terminating")
	port := l.freePort()
	nr, tm := notReady.endpoint, term.endpoint
	nr.Ready, nr.Serving = false, false
	tm.Ready, tm.Terminating = false, true
	pool := lbconfig.Backend{Name: "test/spread:80", Endpoints: []lbconfig.Endpoint{r1.endpoint, r2.endpoint, r3.endpoint, nr, tm}}
	l.apply(config(oneLB(port, nil, vhost("spread.example", route("/", lbconfig.MatchPrefix, pool.Name))), pool))
	p := at(port, "spread.example", "/", from(r1, r2, r3))
	l.expect(p)

	// Sequential requests, on one keep-alive connection where the client
	// can: the spread is per request, not per connection.
	const n = 60
	count := map[string]int{}
	for range n {
		r := l.send(p)
		if !p.want.matches(r) {
			t.Fatalf("%s: got %s, want %s", p, r, p.want)
		}
		count[r.server]++
	}
	for _, b := range []*backend{r1, r2, r3} {
		// Round robin gives each n/3; allow half of that.
		if count[b.name] < n/6 {
			t.Errorf("ready endpoint %s got %d of %d requests, want at least %d (%v)", b.name, count[b.name], n, n/6, count)
		}
	}
	if a, b := notReady.hits.Load(), term.hits.Load(); a != 0 || b != 0 {
		t.Errorf("endpoints that are not ready got requests: %d (not ready), %d (terminating)", a, b)
	}
}

func (s *Suite) testForwardedHeaders(t *testing.T) {
	l := s.start(t)
	a := l.startBackend("a")
	port := l.freePort()
	l.apply(config(oneLB(port, nil, vhost("app.example", prefix("/", a))), a.pool()))
	l.expect(at(port, "app.example", "/", from(a)))

	clientIP := l.addr // loopback to loopback: the client's address is the listen address
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"plain request", nil},
		// A client must not be able to claim HTTPS or another host.
		{"client sends its own X-Forwarded headers", []string{
			"X-Forwarded-For", "203.0.113.7",
			"X-Forwarded-Proto", "https",
			"X-Forwarded-Host", "spoofed.example",
		}},
	} {
		r := l.get(l.client, port, "app.example", "/path?q=1", append([]string{"X-Echo-Headers", "1"}, tc.hdr...)...)
		if r.err != nil || r.status != http.StatusOK || r.server != a.name {
			t.Errorf("%s: got %s, want 200 from backend a", tc.name, r)
			continue
		}
		seen := echoedHeaders(r.body)
		if first, _, _ := strings.Cut(r.body, "\n"); first != "a app.example/path?q=1" {
			t.Errorf("%s: backend got %q, want Host app.example and URI /path?q=1", tc.name, first)
		}
		xff := strings.Split(strings.Join(seen["X-Forwarded-For"], ","), ",")
		if last := strings.TrimSpace(xff[len(xff)-1]); last != clientIP {
			t.Errorf("%s: X-Forwarded-For %q does not end with the client address %s", tc.name, seen["X-Forwarded-For"], clientIP)
		}
		if len(tc.hdr) == 0 && (len(seen["X-Forwarded-For"]) != 1 || strings.TrimSpace(seen["X-Forwarded-For"][0]) != clientIP) {
			t.Errorf("%s: X-Forwarded-For %q, want exactly %q", tc.name, seen["X-Forwarded-For"], clientIP)
		}
		if got := seen["X-Forwarded-Proto"]; len(got) != 1 || got[0] != "http" {
			t.Errorf("%s: X-Forwarded-Proto %q, want exactly \"http\"", tc.name, got)
		}
		if got := seen["X-Forwarded-Host"]; len(got) != 1 || got[0] != "app.example" {
			t.Errorf("%s: X-Forwarded-Host %q, want exactly \"app.example\"", tc.name, got)
		}
	}
}

// echoedHeaders parses the "Name: value" lines that nettest.Echo writes
// after its first line.
func echoedHeaders(body string) map[string][]string {
	h := map[string][]string{}
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	for _, line := range lines[1:] {
		if k, v, ok := strings.Cut(line, ": "); ok {
			h[k] = append(h[k], v)
		}
	}
	return h
}
