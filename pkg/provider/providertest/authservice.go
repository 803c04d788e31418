package providertest

import (
	"cmp"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// authServiceHost is the host of the auth URLs reached through a backend:
// a Service name that nothing resolves here, so that only the backend's
// endpoints can take the subrequests.
const authServiceHost = "sso.auth.svc.cluster.local:4180"

// testExternalAuthService checks lbconfig.ExternalAuth.Backend against
// real auth servers: the subrequests go to the backend's ready endpoints,
// each in turn, with the URL's target and Host, never to the URL's host
// (which resolves nowhere); an endpoint that refuses connections is
// passed over within the timeout, so that no request fails for it; many
// clients at once each get their own answer; an endpoint removed by an
// Apply gets no more subrequests; a backend without ready endpoints, or
// with none that connects, fails the check (500) and a denying answer
// is 403, with the backend never reached.
func (s *Suite) testExternalAuthService(t *testing.T) {
	l := s.start(t)
	one, two := l.startAuthServer(), l.startAuthServer()
	guarded := l.startRecorder("guarded", nil)
	down := deadEndpoint(t)
	port := l.freePort()
	const timeout = 2 * time.Second
	with := func(path, target, backend string) lbconfig.Route {
		rt := route(path, lbconfig.MatchPrefix, guarded.ref)
		rt.ExternalAuth = &lbconfig.ExternalAuth{URL: "http://" + authServiceHost + target, Timeout: lbconfig.Duration(timeout),
			ResponseHeaders: []string{"X-Auth-User"}, Backend: &lbconfig.BackendRef{Name: backend}}
		return rt
	}
	apply := func(endpoints ...lbconfig.Endpoint) {
		slices.SortFunc(endpoints, func(a, b lbconfig.Endpoint) int {
			return cmp.Or(strings.Compare(a.Address, b.Address), cmp.Compare(a.Port, b.Port))
		})
		l.apply(config(oneLB(port, nil, vhost("app.example.com",
			with("/allowed", "/allow?from=svc", "auth/sso:4180"),
			with("/who", "/who", "auth/sso:4180"),
			with("/forbidden", "/deny403", "auth/sso:4180"),
			with("/none", "/allow", "auth/none:4180"),
			with("/all-down", "/allow", "auth/down:4180"),
		)), guarded.pool(),
			lbconfig.Backend{Name: "auth/down:4180", Endpoints: []lbconfig.Endpoint{down}},
			lbconfig.Backend{Name: "auth/none:4180", Endpoints: []lbconfig.Endpoint{{Address: "127.0.0.1", Port: down.Port, Serving: false}}},
			lbconfig.Backend{Name: "auth/sso:4180", Endpoints: endpoints}))
	}
	apply(one.endpoint(t), two.endpoint(t), down)
	l.expect(at(port, "app.example.com", "/allowed/warm", want{status: http.StatusOK, backends: []string{"guarded"}}))
	guarded.take()
	one.take()
	two.take()

	// Both servers asked in turn, the dead endpoint passed over: every
	// request allowed, the URL's target and Host sent.
	const n = 12
	for i := range n {
		r := l.do(http.MethodGet, port, "app.example.com", "/allowed/"+strconv.Itoa(i), "X-Auth-User", "forged")
		if r.err != nil || r.status != http.StatusOK || r.server != "guarded" {
			t.Fatalf("GET /allowed/%d: got %s, want 200 from backend guarded", i, r)
		}
	}
	reqs, _ := guarded.take()
	for _, r := range reqs {
		checkValues(t, "backend", r.header, "X-Auth-User", "alice")
	}
	subs := append(one.take(), two.take()...)
	if len(reqs) != n || len(subs) != n {
		t.Errorf("%d requests: the backend got %d, the auth servers %d subrequests; want %d each", n, len(reqs), len(subs), n)
	}
	for _, sub := range subs {
		if sub.host != authServiceHost || sub.path != "/allow" || sub.query != "from=svc" {
			t.Errorf("subrequest: GET %s?%s Host %q, want GET /allow?from=svc Host %q", sub.path, sub.query, sub.host, authServiceHost)
		}
	}
	s.authServiceSpread(t, l, port, one, two)
	guarded.take()

	// Many clients at once: each answer reaches its own request.
	s.extAuthManyClients(t, l, port, guarded)
	one.take()
	two.take()

	for _, c := range []struct {
		path   string
		status int
	}{{"/forbidden/x", http.StatusForbidden}, {"/none/x", http.StatusInternalServerError}, {"/all-down/x", http.StatusInternalServerError}} {
		start := time.Now()
		r := l.do(http.MethodGet, port, "app.example.com", c.path)
		if r.err != nil || r.status != c.status || r.server != "" {
			t.Errorf("GET %s: got %s, want %d from the load balancer", c.path, r, c.status)
		}
		if took := time.Since(start); took > timeout+3*time.Second {
			t.Errorf("GET %s took %s, more than the timeout %s and some", c.path, took, timeout)
		}
	}
	if reqs, _ := guarded.take(); len(reqs) != 0 {
		t.Errorf("backend guarded got %d requests that no auth server allowed, want none", len(reqs))
	}

	// An endpoint gone from the backend gets no more subrequests.
	apply(two.endpoint(t))
	l.eventually("the auth server removed to get no subrequest", func() (bool, string) {
		one.take()
		two.take()
		for i := range 4 {
			if r := l.do(http.MethodGet, port, "app.example.com", "/allowed/"+strconv.Itoa(i)); r.status != http.StatusOK {
				return false, "GET /allowed: " + r.String()
			}
		}
		got := len(one.take())
		return got == 0 && len(two.take()) == 4, strconv.Itoa(got) + " subrequests to the removed one"
	})
	guarded.take()
}

// authServiceSpread: over several requests both auth servers of the
// backend are asked.
func (s *Suite) authServiceSpread(t *testing.T, l *lab, port int32, one, two *authServer) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_ = l.do(http.MethodGet, port, "app.example.com", "/allowed/spread"+strconv.Itoa(i))
		})
	}
	wg.Wait()
	if a, b := len(one.take()), len(two.take()); a == 0 || b == 0 || a+b != 8 {
		t.Errorf("8 requests asked the auth servers %d and %d times; want both asked, 8 in all", a, b)
	}
}

// endpoint is the auth server as a backend's endpoint.
func (a *authServer) endpoint(t *testing.T) lbconfig.Endpoint {
	host, p, err := net.SplitHostPort(a.addr)
	port, _ := strconv.Atoi(p)
	if err != nil || port == 0 {
		t.Fatalf("auth server address %q: %v", a.addr, err)
	}
	return lbconfig.Endpoint{Address: host, Port: int32(port), Ready: true, Serving: true}
}

// deadEndpoint is a ready endpoint on loopback that refuses connections.
func deadEndpoint(t *testing.T) lbconfig.Endpoint {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return lbconfig.Endpoint{Address: "127.0.0.1", Port: int32(port), Ready: true, Serving: true}
}
