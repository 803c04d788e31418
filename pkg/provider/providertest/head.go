package providertest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// testHeadAnswers: the load balancer's own answers to HEAD (no route,
// refused, no endpoint, a redirect) are heads without a body, so that the
// response after them on the same keep-alive connection is read as itself.
func (s *Suite) testHeadAnswers(t *testing.T) {
	l := s.start(t)
	web := l.startBackend("web")
	port := l.freePort()
	guarded := prefix("/guarded", web)
	guarded.Access = &lbconfig.Access{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	moved := prefix("/moved", web)
	moved.Redirect = &lbconfig.Redirect{URL: "https://new.example/", StatusCode: 301}
	l.apply(config(oneLB(port, nil, vhost("app.example",
		prefix("/", web), guarded, moved, route("/empty", lbconfig.MatchPrefix, "empty"),
	)), web.pool(), lbconfig.Backend{Name: "empty"}))
	l.expect(at(port, "app.example", "/", from(web)))

	head := func(host, path string) string { return "HEAD " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n" }
	steps := []struct {
		req, method string
		status      int
	}{
		{head("other.example", "/"), "HEAD", http.StatusNotFound},
		{head("app.example", "/guarded"), "HEAD", http.StatusForbidden},
		{head("app.example", "/empty"), "HEAD", http.StatusServiceUnavailable},
		{head("app.example", "/moved"), "HEAD", http.StatusMovedPermanently},
		{"GET / HTTP/1.1\r\nHost: app.example\r\n\r\n", "GET", http.StatusOK},
	}
	// One request at a time on one connection, a new one only where the
	// load balancer closes it: a body after a head would be read as the
	// next response.
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for _, st := range steps {
		if conn == nil {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), smuggleWait)
			if err != nil {
				t.Fatal(err)
			}
			conn, br = c, bufio.NewReader(c)
		}
		_ = conn.SetDeadline(time.Now().Add(smuggleWait))
		if _, err := io.WriteString(conn, st.req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: st.method})
		if err != nil {
			t.Fatalf("%s: reading the answer to %q: %v", l.p.Name(), st.req, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != st.status {
			t.Errorf("%s: %q: %d, want %d", l.p.Name(), st.req, resp.StatusCode, st.status)
		}
		if resp.Close {
			conn.Close()
			conn = nil
		}
	}
}
