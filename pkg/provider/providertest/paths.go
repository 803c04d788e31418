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

// testPathNormalization checks that a path prefix is an access boundary:
// every spelling of a path under "/admin" reaches the admin backend, which
// gets the normalized path (lbconfig.NormalizePath), and every request
// target a backend could read differently from the router is refused with
// 400 before it reaches any backend. Requests go out as raw bytes, so no
// client library cleans them first.
func (s *Suite) testPathNormalization(t *testing.T) {
	l := s.start(t)
	admin, app := l.startBackend("admin"), l.startBackend("app")
	port := l.freePort()
	const host = "paths.example"
	l.apply(config(oneLB(port, nil,
		vhost(host, prefix("/admin", admin), prefix("/", app)),
	), admin.pool(), app.pool()))
	l.expect(at(port, host, "/admin", from(admin)), at(port, host, "/x", from(app)))

	type send func(target string) reply
	h1 := func(target string) reply { return l.rawGet(port, host, target) }
	h2 := func(target string) reply { return l.h2cGet(port, host, target) }

	normalized := []struct {
		target string
		b      *backend
		seen   string // the request target the backend must see
	}{
		{"//admin", admin, "/admin"},
		{"/./admin", admin, "/admin"},
		{"/foo/../admin", admin, "/admin"},
		{"/%2e/admin", admin, "/admin"},
		{"/%2E%2E/admin", admin, "/admin"},
		{"/%61dmin", admin, "/admin"},
		{"/admin/./x", admin, "/admin/x"},
		{"///admin//x", admin, "/admin/x"},
		{"/app/%2e%2E/admin/", admin, "/admin/"},
		{"/admin/x/..", admin, "/admin/"},
		// Other encodings stay, with upper-case hex; the query is
		// passed on as it came.
		{"/%61dmin/caf%c3%a9%20x?q=%7e&r=%2f&s=..", admin, "/admin/caf%C3%A9%20x?q=%7e&r=%2f&s=.."},
		{"/admin/..", app, "/"},
		{"/admin/../../admin2", app, "/admin2"},
		{"/.admin", app, "/.admin"},
		{"/.admin/..%2e/admin", app, "/.admin/.../admin"},
		{"/admin/.//../admin/x", admin, "/admin/x"},
	}
	refused := []string{
		"/admin%2Fx",
		"/admin%2fx",
		"/admin%5cx",
		"/a%00b",
		"/a%1Fb",
		"/a%7fb",
		"/a\\b",
		"/admin\\..\\x",
		"/%zz",
		"/a%4",
		"/a%",
		"/admin#x",
		"/admin?x#y",
		"/a b",
		"/a\tb",
		"/a\x7fb",
		"/caf\xc3\xa9",
	}
	// A backend's own server may refuse a bad request before its handler
	// counts it: count bytes on the wire instead.
	bytesIn := func() int64 { return admin.bytesIn.Load() + app.bytesIn.Load() }

	for _, proto := range []struct {
		name string
		send send
	}{{"HTTP1", h1}, {"H2C", h2}} {
		t.Run(proto.name, func(t *testing.T) {
			for _, tc := range normalized {
				r := proto.send(tc.target)
				if r.err != nil || r.status != http.StatusOK || r.server != tc.b.name {
					t.Errorf("%q: got %s, want 200 from backend %q", tc.target, r, tc.b.name)
					continue
				}
				if got := r.header.Get("X-Echo-Request-Uri"); got != tc.seen {
					t.Errorf("%q: the backend got request target %q, want %q", tc.target, got, tc.seen)
				}
			}
			for _, target := range refused {
				before := bytesIn()
				r := proto.send(target)
				// RFC 9113, section 8.1.1, lets an HTTP/2 server reset
				// the stream of a malformed request instead of
				// answering it, and the HTTP/2 layers of both Go's
				// net/http and HAProxy do for some of these before any
				// routing rule runs.
				reset := proto.name == "H2C" && r.err != nil && strings.HasSuffix(r.err.Error(), "stream reset: PROTOCOL_ERROR")
				if reset {
					t.Logf("%q: stream reset (PROTOCOL_ERROR), not 400", target)
				}
				if !reset && (r.err != nil || r.status != http.StatusBadRequest || r.server != "") {
					t.Errorf("%q: got %s, want 400 from the load balancer", target, r)
				}
				if n := bytesIn() - before; n != 0 {
					t.Errorf("%q: reached a backend (%d bytes)", target, n)
				}
			}
		})
	}
}

// rawGet sends "GET <target> HTTP/1.1" over a new connection exactly as
// given: Go's client would refuse or re-encode some of the targets.
func (l *lab) rawGet(port int32, host, target string) reply {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return reply{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); err != nil {
		return reply{err: err}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return reply{err: fmt.Errorf("reading the response: %w", err)}
	}
	return replyOf(resp, nil)
}

// h2cGet sends one GET with ":path" target over a new HTTP/2 connection in
// the clear (prior knowledge), written frame by frame so that nothing
// checks the path on the way out. A reset stream or connection is an
// error, not an answer.
func (l *lab) h2cGet(port int32, host, target string) reply {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return reply{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := startH2(conn) // h2.go
	if err != nil {
		return reply{err: err}
	}
	return c.do([2]string{":method", "GET"}, [2]string{":scheme", "http"}, [2]string{":authority", host}, [2]string{":path", target})
}

// testLongPaths: exact and prefix routes of lbconfig.MaxPathLength are
// served as they are (HAProxy reads them from map files, one per line),
// beside a short catch-all.
func (s *Suite) testLongPaths(t *testing.T) {
	l := s.start(t)
	long, other := l.startBackend("long"), l.startBackend("other")
	port := l.freePort()
	const host = "long.example"
	p := "/" + strings.Repeat("p", lbconfig.MaxPathLength-1)
	e := "/" + strings.Repeat("e", lbconfig.MaxPathLength-1)
	l.apply(config(oneLB(port, nil,
		vhost(host, prefix(p, long), exact(e, long), prefix("/", other)),
	), long.pool(), other.pool()))
	l.expect(
		at(port, host, p, from(long)),
		at(port, host, p+"/x", from(long)),
		at(port, host, p[:len(p)-1], from(other)),
		at(port, host, e, from(long)),
		at(port, host, e+"e", from(other)),
	)
}
