package providertest

import (
	"bufio"
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

// testMultiLabelWildcards checks lbconfig.VirtualHost.MultiLabel: such
// a wildcard takes one or more leading labels, the most specific virtual
// host wins (exact, one-label, then the longest multi-label suffix) and
// the bare domain is not taken.
func (s *Suite) testMultiLabelWildcards(t *testing.T) {
	l := s.start(t)
	a, wide, deep, one, def := l.startBackend("a"), l.startBackend("wide"), l.startBackend("deep"), l.startBackend("one"), l.startBackend("default")
	port := l.freePort()
	multi := func(vh lbconfig.VirtualHost) lbconfig.VirtualHost {
		vh.MultiLabel = true
		return vh
	}
	l.apply(config(oneLB(port, def.defaultTo(),
		multi(vhost("*.example.com", prefix("/", wide))),
		multi(vhost("*.b.example.com", prefix("/", deep))),
		vhost("*.c.example.com", prefix("/", one)),
		vhost("a.example.com", prefix("/", a)),
	), a.pool(), wide.pool(), deep.pool(), one.pool(), def.pool()))
	l.expect(
		at(port, "a.example.com", "/", from(a)),
		at(port, "x.example.com", "/", from(wide)),
		at(port, "x.y.z.example.com", "/x", from(wide)),
		at(port, "b.example.com", "/", from(wide)),
		at(port, "x.b.example.com", "/", from(deep)),
		at(port, "x.y.b.example.com", "/", from(deep)),
		at(port, "X.Y.B.Example.COM:8080", "/", from(deep)),
		at(port, "x.y.b.example.com.", "/", from(deep)),
		at(port, "x.c.example.com", "/", from(one)),
		// One label only under *.c: the multi-label *.example.com takes
		// deeper names.
		at(port, "x.y.c.example.com", "/", from(wide)),
		at(port, "example.com", "/", from(def)),
		at(port, "xexample.com", "/", from(def)),
		at(port, "x.example.org", "/", from(def)),
	)
}

// testRedirectsToRequestHost checks lbconfig.Redirect.RequestHost: on a
// catch-all or wildcard virtual host the Location has the request's host,
// lower-cased and without port or trailing dot, and the port of the
// listener, the redirect or the scheme's default; on an exact one, its
// name. A Host a Location cannot carry as it is gets 400, never a
// Location, and the backend sees nothing.
func (s *Suite) testRedirectsToRequestHost(t *testing.T) {
	l := s.start(t)
	target := l.startBackend("target")
	port := l.freePort()
	to := func(path string, rd lbconfig.Redirect) lbconfig.Route {
		r := prefix(path, target)
		rd.RequestHost = true
		r.Redirect = &rd
		return r
	}
	wild := vhost("*.wild.example", to("/", lbconfig.Redirect{Scheme: "https", StatusCode: 301}))
	wild.MultiLabel = true
	l.apply(config(oneLB(port, nil,
		vhost("",
			to("/see", lbconfig.Redirect{StatusCode: 303}),
			to("/port", lbconfig.Redirect{Port: 8083, StatusCode: 302}),
			to("/scheme", lbconfig.Redirect{Scheme: "https", StatusCode: 302}),
			to("/full", lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplaceFullPath, Value: "/x"}, StatusCode: 307}),
		),
		wild,
		vhost("exact.example", to("/", lbconfig.Redirect{Port: 8083, StatusCode: 302})),
	), target.pool()))
	p := ":" + strconv.Itoa(int(port))
	l.eventually("the redirects to be served", func() (bool, string) {
		r := l.rawGet(port, "a.example", "/see")
		return r.status == http.StatusSeeOther, r.String()
	})
	for _, tc := range []struct {
		host, target string
		status       int
		location     string
	}{
		{"a.example", "/see?q=1&r=%20", 303, "http://a.example" + p + "/see?q=1&r=%20"},
		{"A.Example.:1234", "/see/deep", 303, "http://a.example" + p + "/see/deep"},
		{"127.0.0.1", "/see", 303, "http://127.0.0.1" + p + "/see"},
		{"127.0.0.1" + p, "/see", 303, "http://127.0.0.1" + p + "/see"},
		{"[::1]:80", "/see", 303, "http://[::1]" + p + "/see"},
		{"[2001:DB8::1]", "/see", 303, "http://[2001:db8::1]" + p + "/see"},
		{"a.example:1234", "/port/a?b", 302, "http://a.example:8083/port/a?b"},
		{"a.example", "/scheme", 302, "https://a.example/scheme"},
		{"a.example", "/full/y?z", 307, "http://a.example" + p + "/x?z"},
		{"x.y.wild.example", "/w", 301, "https://x.y.wild.example/w"},
		{"EXACT.example:99", "/e", 302, "http://exact.example:8083/e"},
		{strings.Repeat("a", 63) + ".example", "/see", 303, "http://" + strings.Repeat("a", 63) + ".example" + p + "/see"},
	} {
		r := l.rawGet(port, tc.host, tc.target)
		if loc := r.header.Get("Location"); r.err != nil || r.status != tc.status || r.server != "" || loc != tc.location {
			t.Errorf("GET %s (Host %q): %s, Location %q; want %d from the load balancer to %q", tc.target, tc.host, r, loc, tc.status, tc.location)
		}
	}

	long := strings.Repeat(strings.Repeat("a", 60)+".", 5) + "example" // 312 bytes
	for _, host := range []string{
		"", "a@evil.example", "a.example/evil", "a_b.example", "a.example:8o", "a.example:", "a..example",
		".a.example", "-a.example", strings.Repeat("a", 64) + ".example", long, "[::1%25eth0]", "[::1",
		"::1", "a.example,evil.example", "a.example;evil", "a.example\"evil", "a.example%0d%0aX:1", "évil.example",
	} {
		r := l.rawGet(port, host, "/see")
		if r.err != nil || r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
			t.Errorf("GET /see (Host %q): %s, Location %q; want 400 without a Location", host, r, r.header.Get("Location"))
		}
	}
	// Heads that split the Host or hold two: refused, never reflected.
	for _, head := range []string{
		"GET /see HTTP/1.1\r\nHost: a.example\rX-Evil: 1\r\n\r\n",
		"GET /see HTTP/1.1\r\nHost: a.example\r\nHost: evil.example\r\n\r\n",
		"GET /see HTTP/1.1\r\nHost: a.example\x00evil\r\n\r\n",
	} {
		r := l.rawHead(port, head)
		if loc := r.header.Get("Location"); r.err != nil || r.status != http.StatusBadRequest || loc != "" {
			t.Errorf("head %q: %s, Location %q; want 400 without a Location", head, r, loc)
		}
	}
	if n := target.hits.Load(); n != 0 {
		t.Errorf("the backend behind the redirects got %d requests, want none", n)
	}
}

// rawHead sends head as it is on a new connection and reads one
// response.
func (l *lab) rawHead(port int32, head string) reply {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return reply{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		return reply{err: err}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return reply{err: fmt.Errorf("reading the response: %w", err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, server: resp.Header.Get("X-Echo-Server"), header: resp.Header, body: string(body)}
}
