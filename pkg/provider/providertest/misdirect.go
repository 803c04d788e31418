package providertest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// testMisdirectedRequests: on an HTTPS listener with connection groups
// (lbconfig.VirtualHost.ConnectionGroup), laid out as the HTTPS port of
// Gateway API's conformance test HTTPRouteHTTPSListenerDetectMisdirectedRequests
// (a catch-all listener with a route for example.org, second-example.org,
// *.wildcard.org and fourth-example.wildcard.org, one group each), a
// request whose Host picks a virtual host of another group than its
// connection's server name answers 421 from the load balancer, over
// HTTP/1.1 and HTTP/2, on a fresh connection or one that served another
// host before; the Host's forms (port, trailing dot, case), a Host
// absent, HTTP/2's Host beside another :authority and hosts no listener
// takes never get a connection to a backend of another group; a virtual
// host without a group takes no part; and the groups gone, so is the 421.
func (s *Suite) testMisdirectedRequests(t *testing.T) {
	needs(t, s.Capabilities.TLS, "TLS")
	l := s.start(t)
	v1, v2, v3, v4, idn, open := l.startBackend("v1"), l.startBackend("v2"), l.startBackend("v3"), l.startBackend("v4"), l.startBackend("idn"), l.startBackend("open")
	port := l.freePort()
	cert := nettest.NewCert(t, "misdirect", "example.org", "second-example.org", "*.wildcard.org", "fourth-example.wildcard.org", "xn--bcher-kva.example", "open.example")
	build := func(grouped bool) *lbconfig.Config {
		host := func(name, group string, b *backend) lbconfig.VirtualHost {
			vh := lbconfig.VirtualHost{Hostname: name, MultiLabel: strings.HasPrefix(name, "*."), TLS: cert.Ref()}
			if grouped {
				vh.ConnectionGroup = group
			}
			if b != nil {
				vh.Routes = []lbconfig.Route{prefix("/", b)}
			}
			return vh
		}
		cfg := config([]lbconfig.LoadBalancer{loadBalancer("default", lbconfig.Listener{
			Port: port, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
				host("", "https", nil),
				host("*.wildcard.org", "https-with-wildcard-hostname", v3),
				host("example.org", "https", v1),
				host("fourth-example.wildcard.org", "https-with-hostname-matching-wildcard", v4),
				host("open.example", "", open),
				host("second-example.org", "https-with-hostname", v2),
				host("xn--bcher-kva.example", "idn", idn),
			}})}, v1.pool(), v2.pool(), v3.pool(), v4.pool(), idn.pool(), open.pool())
		cfg.Certificates = []lbconfig.Certificate{cert.Certificate()}
		return cfg
	}
	l.apply(build(true))
	m := misdirectLab{l: l, port: port}
	l.eventually("a misdirected request answered 421", func() (bool, string) {
		r := m.h1(m.dial("example.org", "http/1.1"), "second-example.org")
		return status(http.StatusMisdirectedRequest).matches(r), r.String()
	})

	// The upstream test's cases, over both protocols.
	m.expect(
		misdirected{"example.org", "example.org", from(v1)},
		misdirected{"example.org", "second-example.org", status(421)},
		misdirected{"example.org", "unknown-example.org", status(404)},
		misdirected{"second-example.org", "second-example.org", from(v2)},
		misdirected{"second-example.org", "example.org", status(421)},
		misdirected{"second-example.org", "unknown-example.org", status(421)},
		misdirected{"third-example.wildcard.org", "third-example.wildcard.org", from(v3)},
		misdirected{"third-example.wildcard.org", "fith-example.wildcard.org", from(v3)},
		misdirected{"third-example.wildcard.org", "fourth-example.wildcard.org", status(421)},
		misdirected{"third-example.wildcard.org", "second-example.org", status(421)},
		misdirected{"third-example.wildcard.org", "unknown-example.org", status(421)},
		misdirected{"fourth-example.wildcard.org", "fourth-example.wildcard.org", from(v4)},
		misdirected{"fourth-example.wildcard.org", "fith-example.wildcard.org", status(421)},
		misdirected{"unknown-example.org", "example.org", from(v1)},
		misdirected{"unknown-example.org", "unknown-example.org", status(404)},
		// No server name: the catch-all's connection.
		misdirected{"", "example.org", from(v1)},
		misdirected{"", "second-example.org", status(421)},
		// The Host's forms are one host; so are the server name's.
		misdirected{"example.org", "SECOND-Example.ORG", status(421)},
		misdirected{"example.org", "second-example.org.", status(421)},
		misdirected{"example.org", "second-example.org:" + strconv.Itoa(int(port)), status(421)},
		misdirected{"example.org", "Second-Example.org.:443", status(421)},
		misdirected{"example.org", "EXAMPLE.org.:443", from(v1)},
		misdirected{"EXAMPLE.ORG", "second-example.org", status(421)},
		misdirected{"Second-Example.Org", "second-example.org", from(v2)},
		// Multi-label wildcards, and many labels.
		misdirected{"a.b.wildcard.org", "c.d.e.wildcard.org", from(v3)},
		misdirected{"a.b.wildcard.org", "wildcard.org", status(421)},
		misdirected{"third-example.wildcard.org", strings.Repeat("a.", 1000) + "wildcard.org", from(v3)},
		misdirected{"fourth-example.wildcard.org", strings.Repeat("a.", 1000) + "wildcard.org", status(421)},
		// Punycode is a name like any other.
		misdirected{"xn--bcher-kva.example", "XN--BCHER-KVA.example", from(idn)},
		misdirected{"example.org", "xn--bcher-kva.example", status(421)},
		misdirected{"xn--bcher-kva.example", "example.org", status(421)},
		// A host without a group takes no part, either way.
		misdirected{"second-example.org", "open.example", from(open)},
		misdirected{"open.example", "second-example.org", from(v2)},
	)

	// Hosts no virtual host takes as they are sent, each a name
	// nothing serves: whatever the load balancer answers, no backend
	// gets them.
	for _, host := range []string{"bücher.example", "example.org,second-example.org", "second-example.org example.org"} {
		for _, sni := range []string{"example.org", "xn--bcher-kva.example", "second-example.org"} {
			r := m.h1(m.dial(sni, "http/1.1"), host)
			if r.err == nil && (r.server != "" || !slices.Contains([]int{400, 404, 421}, r.status)) {
				t.Errorf("HTTP/1.1, SNI %q, Host %q: %s, want 400, 404 or 421 from the load balancer", sni, host, r)
			}
		}
	}

	// An absolute-form target names a host of its own (RFC 9112 3.2.2):
	// routed and checked by it or by the Host, never one and the other.
	for _, c := range []struct {
		sni, request string
		never        *backend
	}{
		{"example.org", "GET https://second-example.org/ HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n", v2},
		{"second-example.org", "GET https://second-example.org/ HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n", v1},
		{"second-example.org", "GET https://example.org/ HTTP/1.1\r\nHost: second-example.org\r\nConnection: close\r\n\r\n", v1},
	} {
		if r := m.raw(c.sni, c.request); r.server == c.never.name || (r.err == nil && r.server == "" && !slices.Contains([]int{400, 421}, r.status)) {
			t.Errorf("SNI %q, %q: %s, a backend of another group or an unexpected answer", c.sni, c.request, r)
		}
	}

	// HTTP/1.0 without a Host: the catch-all's request.
	for _, c := range []misdirected{
		{"second-example.org", "", status(421)},
		{"example.org", "", status(404)},
		{"", "", status(404)},
	} {
		if r := m.raw(c.sni, "GET / HTTP/1.0\r\n\r\n"); !c.want.matches(r) {
			t.Errorf("HTTP/1.0 without Host, SNI %q: %s, want %s", c.sni, r, c.want)
		}
	}

	// HTTP/2: a Host beside an :authority that differs is refused, or
	// routed and checked by the :authority alone (RFC 9113 8.3.1), never
	// routed by one and checked by the other.
	for _, c := range []struct {
		sni, authority, host string
		want                 want
	}{
		{"example.org", "example.org", "second-example.org", from(v1)},
		{"example.org", "second-example.org", "example.org", status(421)},
		{"second-example.org", "second-example.org", "example.org", from(v2)},
		{"second-example.org", "example.org", "second-example.org", status(421)},
		{"third-example.wildcard.org", "a.wildcard.org", "fourth-example.wildcard.org", from(v3)},
	} {
		r := m.h2(m.dial(c.sni, "h2"), [2]string{":authority", c.authority}, [2]string{"host", c.host})
		if !c.want.matches(r) && !refused(r) {
			t.Errorf("HTTP/2, SNI %q, :authority %q, Host %q: %s, want %s or a refusal", c.sni, c.authority, c.host, r, c.want)
		}
	}
	// A Host without :authority is the request's host.
	if r := m.h2(m.dial("example.org", "h2"), [2]string{"host", "second-example.org"}); !status(421).matches(r) && !refused(r) {
		t.Errorf("HTTP/2 without :authority, SNI example.org, Host second-example.org: %s, want 421 or a refusal", r)
	}

	// One connection after another host: HTTP/2 coalescing, and
	// HTTP/1.1 keep-alive, from many clients at once.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.reuse(t, i%2 == 0, v1, v2)
		}()
	}
	wg.Wait()

	// The groups gone, a connection serves every host again.
	l.apply(build(false))
	l.eventually("requests served across hosts without groups", func() (bool, string) {
		r := m.h1(m.dial("example.org", "http/1.1"), "second-example.org")
		return from(v2).matches(r), r.String()
	})
	m.expect(misdirected{"third-example.wildcard.org", "fourth-example.wildcard.org", from(v4)})
}

// misdirected is a request for host on a connection whose server name
// is sni ("" for none), and the answer it must get.
type misdirected struct {
	sni, host string
	want      want
}

// misdirectLab sends requests over TLS connections to one port.
type misdirectLab struct {
	l    *lab
	port int32
}

// expect checks that each request gets its answer on a new connection,
// over HTTP/1.1 and over HTTP/2.
func (m misdirectLab) expect(cases ...misdirected) {
	m.l.t.Helper()
	for _, c := range cases {
		if r := m.h1(m.dial(c.sni, "http/1.1"), c.host); !c.want.matches(r) {
			m.l.t.Errorf("HTTP/1.1, SNI %q, Host %q: %s, want %s", c.sni, c.host, r, c.want)
		}
		if r := m.h2(m.dial(c.sni, "h2"), [2]string{":authority", c.host}); !c.want.matches(r) {
			m.l.t.Errorf("HTTP/2, SNI %q, :authority %q: %s, want %s", c.sni, c.host, r, c.want)
		}
	}
}

// reuse sends requests for example.org and second-example.org in turn
// over one connection with server name example.org, over HTTP/2 (h2) or
// HTTP/1.1 keep-alive, and checks each answer: v1's, then 421, and v1's
// again, the connection still good.
func (m misdirectLab) reuse(t *testing.T, h2 bool, v1, v2 *backend) {
	conn := m.dial("example.org", map[bool]string{true: "h2", false: "http/1.1"}[h2])
	if conn.err != nil {
		t.Errorf("dial: %v", conn.err)
		return
	}
	defer conn.c.Close()
	var c *h2Client
	var br *bufio.Reader
	if h2 {
		var err error
		if c, err = startH2(conn.c); err != nil {
			t.Errorf("h2: %v", err)
			return
		}
	} else {
		br = bufio.NewReader(conn.c)
	}
	for n := range 20 {
		host, want := "example.org", from(v1)
		if n%2 == 1 {
			host, want = "second-example.org", status(http.StatusMisdirectedRequest)
		}
		var r reply
		if h2 {
			r = c.do(h2Fields(host)...)
		} else {
			r = exchange(conn.c, br, "GET / HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
		}
		if !want.matches(r) || r.server == v2.name {
			t.Errorf("h2 %v, request %d on one connection, Host %q: %s, want %s", h2, n, host, r, want)
			return
		}
	}
}

// dialed is a TLS connection, or why there is none.
type dialed struct {
	c   net.Conn
	err error
}

// dial makes a TLS connection with server name sni (none if "") offering
// the ALPN protocol proto, and checks the load balancer chose it.
func (m misdirectLab) dial(sni, proto string) dialed {
	d := &tls.Dialer{Config: &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: []string{proto}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(m.l.addr, strconv.Itoa(int(m.port))))
	if err != nil {
		return dialed{err: err}
	}
	if got := c.(*tls.Conn).ConnectionState().NegotiatedProtocol; got != proto {
		_ = c.Close()
		return dialed{err: fmt.Errorf("ALPN chose %q, want %q", got, proto)}
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return dialed{c: c}
}

// h1 sends one HTTP/1.1 GET / for host over d and closes it.
func (m misdirectLab) h1(d dialed, host string) reply {
	if d.err != nil {
		return reply{err: d.err}
	}
	defer d.c.Close()
	return exchange(d.c, bufio.NewReader(d.c), "GET / HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
}

// raw sends request as it is over a new HTTP/1.1 connection with server
// name sni.
func (m misdirectLab) raw(sni, request string) reply {
	d := m.dial(sni, "http/1.1")
	if d.err != nil {
		return reply{err: d.err}
	}
	defer d.c.Close()
	return exchange(d.c, bufio.NewReader(d.c), request)
}

// h2 sends one HTTP/2 GET / with the fields given (after :method,
// :scheme and :path) over d and closes it.
func (m misdirectLab) h2(d dialed, fields ...[2]string) reply {
	if d.err != nil {
		return reply{err: d.err}
	}
	defer d.c.Close()
	c, err := startH2(d.c)
	if err != nil {
		return reply{err: err}
	}
	return c.do(append([][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}}, fields...)...)
}

// refused reports a request the load balancer refused: a reset stream
// or connection, or 400 of its own.
func refused(r reply) bool { return r.err != nil || status(http.StatusBadRequest).matches(r) }

// h2Fields are the fields of an HTTP/2 GET / for host.
func h2Fields(host string) [][2]string {
	return [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", host}, {":path", "/"}}
}

// exchange writes request on c and reads one response from br.
func exchange(c net.Conn, br *bufio.Reader, request string) reply {
	if _, err := io.WriteString(c, request); err != nil {
		return reply{err: err}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return reply{err: fmt.Errorf("reading the response: %w", err)}
	}
	return replyOf(resp, nil)
}
