package providertest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// testRedirects checks lbconfig.Route.Redirect: each kind answers with
// its status and exact Location, from the load balancer, the backend
// seeing nothing; the query is kept except by a literal URL; 307 and 308
// keep the method (the client resends it); a hostile Host is never
// reflected, and an access rule refuses before the redirect.
func (s *Suite) testRedirects(t *testing.T) {
	l := s.start(t)
	target, open := l.startBackend("target"), l.startBackend("open")
	port := l.freePort()
	to := func(r lbconfig.Route, rd lbconfig.Redirect) lbconfig.Route {
		r.Redirect = &rd
		return r
	}
	full := func(v string) *lbconfig.RedirectPath {
		return &lbconfig.RedirectPath{Type: lbconfig.ReplaceFullPath, Value: v}
	}
	guarded := to(prefix("/guarded", target), lbconfig.Redirect{URL: "https://elsewhere.example/", StatusCode: 302})
	guarded.Access = &lbconfig.Access{Allow: prefixesOf(t, []string{"10.0.0.0/8"})}
	l.apply(config(oneLB(port, open.defaultTo(),
		vhost("app.example.com",
			to(exact("/", target), lbconfig.Redirect{URL: "/app?x=%2F", StatusCode: 302}),
			to(prefix("/moved", target), lbconfig.Redirect{URL: "https://new.example.org/landing", StatusCode: 301}),
			to(prefix("/old", target), lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: "/new"}, StatusCode: 308}),
			to(prefix("/full", target), lbconfig.Redirect{Scheme: "https", Path: full("/x"), StatusCode: 307}),
			to(prefix("/see", target), lbconfig.Redirect{Hostname: "other.example.com", Port: 8443, StatusCode: 303}),
			guarded,
			prefix("/app", open),
		),
		vhost("www.app.example.com", to(prefix("/", target), lbconfig.Redirect{Hostname: "app.example.com", StatusCode: 308})),
		vhost("*.wild.example", to(prefix("/", target), lbconfig.Redirect{Path: full("/home"), StatusCode: 302})),
	), target.pool(), open.pool()))
	self := fmt.Sprintf("http://app.example.com:%d", port)
	l.expect(at(port, "app.example.com", "/app", from(open)))

	noFollow := &http.Client{Transport: l.client.Transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, host, path string
		status             int
		location           string
	}{
		// A literal URL: nothing of the request is added.
		{"GET", "app.example.com", "/", 302, "/app?x=%2F"},
		{"GET", "app.example.com", "/?q=1", 302, "/app?x=%2F"},
		{"GET", "app.example.com", "/moved/deep/path?q=1", 301, "https://new.example.org/landing"},
		{"HEAD", "app.example.com", "/moved", 301, "https://new.example.org/landing"},
		// A prefix replaced, the rest of the path and the query kept.
		{"GET", "app.example.com", "/old", 308, self + "/new"},
		{"GET", "app.example.com", "/old/", 308, self + "/new/"},
		{"GET", "app.example.com", "/old/a/b?q=1&r=%20", 308, self + "/new/a/b?q=1&r=%20"},
		{"GET", "app.example.com", "/old/a?", 308, self + "/new/a?"},
		{"POST", "app.example.com", "/old/form", 308, self + "/new/form"},
		// The normalized path, as routing saw it.
		{"GET", "app.example.com", "/x/../old//a", 308, self + "/new/a"},
		{"GET", "app.example.com", "/full/y?z", 307, "https://app.example.com/x?z"},
		{"PUT", "app.example.com", "/full", 307, "https://app.example.com/x"},
		{"GET", "app.example.com", "/see/a?b", 303, "http://other.example.com:8443/see/a?b"},
		// The other name: the same path and query on the configured host.
		{"GET", "www.app.example.com", "/a/b?c=d", 308, self + "/a/b?c=d"},
		{"GET", "WWW.App.Example.COM.", "/", 308, self + "/"},
		// A wildcard: a relative Location, no host at all.
		{"GET", "x.wild.example", "/a?b", 302, "/home?b"},
		{"GET", "evil.example", "/", 200, ""},
	} {
		r := l.request(noFollow, tc.method, port, tc.host, tc.path, "")
		loc := r.header.Get("Location")
		if tc.status == 200 {
			if r.err != nil || r.status != 200 || loc != "" {
				t.Errorf("%s %s (Host %q): %s, Location %q; want 200 without a redirect", tc.method, tc.path, tc.host, r, loc)
			}
			continue
		}
		if r.err != nil || r.status != tc.status || r.server != "" || loc != tc.location {
			t.Errorf("%s %s (Host %q): %s, Location %q; want %d from the load balancer to %q", tc.method, tc.path, tc.host, r, loc, tc.status, tc.location)
		}
	}

	// A Host that is not a routed name reaches no redirect, and a
	// hostile one is never reflected: Locations hold configured names.
	for _, host := range []string{"evil.example", "x.wild.example:1@evil.example", "x.wild.example/evil", "app.example.com\tevil"} {
		r := l.request(noFollow, "GET", port, host, "/old/a", "")
		if loc := r.header.Get("Location"); strings.Contains(loc, "evil") {
			t.Errorf("GET /old/a with Host %q: Location %q reflects the Host", host, loc)
		}
	}

	// Access refuses before the redirect.
	if r := l.request(noFollow, "GET", port, "app.example.com", "/guarded", ""); r.status != http.StatusForbidden || r.header.Get("Location") != "" {
		t.Errorf("GET /guarded from outside its ranges: %s, Location %q; want 403 without a redirect", r, r.header.Get("Location"))
	}

	// 307 and 308 keep the method and body: a client that follows them
	// sends the POST again, to the backend at the new path.
	rec := l.startRecorder("rec", nil)
	l.apply(config(oneLB(port, open.defaultTo(),
		vhost("app.example.com",
			to(prefix("/old", target), lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: "/app"}, StatusCode: 308}),
			to(prefix("/tmp", target), lbconfig.Redirect{Path: full("/app/t"), StatusCode: 307}),
			lbconfig.Route{Path: "/app", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: rec.ref}},
		),
	), target.pool(), open.pool(), rec.pool()))
	l.eventually("the recorder to serve /app", func() (bool, string) {
		r := l.get(l.client, port, "app.example.com", "/app")
		return r.server == rec.name, r.String()
	})
	rec.take()
	// The client follows the Location to the load balancer, whatever
	// its host.
	follow := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(l.addr, strconv.Itoa(int(port))))
		},
	}}
	defer follow.CloseIdleConnections()
	for _, tc := range []struct{ path, want string }{{"/old/x", "/app/x"}, {"/tmp", "/app/t"}} {
		r := l.request(follow, "POST", port, "app.example.com", tc.path, "the body")
		reqs, _ := rec.take()
		if r.err != nil || r.status != 200 || r.server != rec.name || len(reqs) != 1 ||
			reqs[0].method != "POST" || reqs[0].path != tc.want || reqs[0].body != "the body" {
			t.Errorf("POST %s followed: %s, backend got %+v; want one POST of %s with its body", tc.path, r, reqs, tc.want)
		}
	}
	if n := target.hits.Load(); n != 0 {
		t.Errorf("the backend behind the redirects got %d requests, want none", n)
	}
}

// request sends one request with method and body (none when empty) and
// Host host.
func (l *lab) request(c *http.Client, method string, port int32, host, path, body string) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+net.JoinHostPort(l.addr, strconv.Itoa(int(port)))+path, rd)
	if err != nil {
		return reply{err: err}
	}
	req.Host = host
	return replyOf(c.Do(req))
}
