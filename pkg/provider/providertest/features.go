package providertest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// The cases of optional capabilities: TLS/SNI, TCP and TLS passthrough,
// and sticky sessions.

// tlsGet makes a new TLS connection to port with SNI serverName, sends
// GET path with Host host over it (asking an echo backend for the headers
// it got), and returns the certificate served and the reply.
func (l *lab) tlsGet(port int32, serverName, host, path string) (*x509.Certificate, reply) {
	return l.tlsGetAt(l.addr, port, serverName, host, path)
}

// tlsGetAt is tlsGet to addr instead of the listen address.
func (l *lab) tlsGetAt(addr string, port int32, serverName, host, path string) (*x509.Certificate, reply) {
	var served *x509.Certificate
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := &tls.Dialer{Config: &tls.Config{ServerName: serverName, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}}
			c, err := d.DialContext(ctx, network, net.JoinHostPort(addr, strconv.Itoa(int(port))))
			if err == nil {
				served = c.(*tls.Conn).ConnectionState().PeerCertificates[0]
			}
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	url := "https://" + net.JoinHostPort(addr, strconv.Itoa(int(port))) + path
	r := l.getURL(&http.Client{Transport: tr, Timeout: 10 * time.Second}, url, host, "X-Echo-Headers", "1")
	return served, r
}

func (s *Suite) testTLS(t *testing.T) {
	needs(t, s.Capabilities.TLS, "TLS")
	l := s.start(t)
	a, w, fallback := l.startBackend("a"), l.startBackend("wild"), l.startBackend("other")
	httpPort, tlsPort := l.freePort(), l.freePort()
	certA, certW := nettest.NewCert(t, "a", "a.example"), nettest.NewCert(t, "wild", "*.wild.example")
	cfg := func(certA nettest.Cert) *lbconfig.Config {
		redirect := prefix("/", a)
		redirect.HTTPSRedirect = &lbconfig.HTTPSRedirect{Port: tlsPort, StatusCode: 308}
		c := config([]lbconfig.LoadBalancer{loadBalancer("default",
			listener(httpPort, fallback.defaultTo(), vhost("a.example", redirect)),
			lbconfig.Listener{Port: tlsPort, Protocol: lbconfig.ProtocolHTTPS, DefaultBackend: fallback.defaultTo(), VirtualHosts: []lbconfig.VirtualHost{
				{Hostname: "a.example", TLS: certA.Ref(), Routes: []lbconfig.Route{prefix("/", a)}},
				{Hostname: "*.wild.example", TLS: certW.Ref(), Routes: []lbconfig.Route{prefix("/", w)}},
			}},
		)}, a.pool(), w.pool(), fallback.pool())
		c.Certificates = []lbconfig.Certificate{certA.Certificate(), certW.Certificate()}
		return c
	}
	l.apply(cfg(certA))
	check := func(sni, host string, wantCert *nettest.Cert, wantFrom *backend) {
		t.Helper()
		l.eventually(fmt.Sprintf("TLS with SNI %q", sni), func() (bool, string) {
			served, r := l.tlsGet(tlsPort, sni, host, "/")
			switch {
			case r.err != nil:
				return false, r.String()
			case wantCert != nil && !served.Equal(wantCert.Leaf):
				return false, fmt.Sprintf("certificate %q, want %q", served.Subject.CommonName, wantCert.Name)
			case wantCert == nil && (served.Equal(certA.Leaf) || served.Equal(certW.Leaf)):
				return false, fmt.Sprintf("certificate %q, want the provider's default", served.Subject.CommonName)
			case r.server != wantFrom.name:
				return false, r.String()
			case r.header.Get("X-Echo-Path") != "/":
				return false, "path " + r.header.Get("X-Echo-Path")
			}
			return true, ""
		})
	}
	check("a.example", "a.example", &certA, a)
	check("x.wild.example", "x.wild.example", &certW, w)
	check("unknown.example", "unknown.example", nil, fallback)

	// X-Forwarded-Proto is https over TLS.
	_, r := l.tlsGet(tlsPort, "a.example", "a.example", "/")
	if got := headerLine(r.body, "X-Forwarded-Proto"); r.err == nil && got != "https" {
		t.Errorf("X-Forwarded-Proto over TLS = %q, want https", got)
	}

	// HTTP for a TLS host redirects to the same URL on HTTPS.
	noFollow := &http.Client{Transport: l.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	rd := l.get(noFollow, httpPort, "a.example", "/p?q=1")
	if want := fmt.Sprintf("https://a.example:%d/p?q=1", tlsPort); rd.status != http.StatusPermanentRedirect || rd.header.Get("Location") != want {
		t.Errorf("HTTP to a TLS host: %s, Location %q; want 308 to %s", rd, rd.header.Get("Location"), want)
	}

	// A new certificate is served to new handshakes.
	rotated := nettest.NewCert(t, "a-rotated", "a.example")
	l.apply(cfg(rotated))
	check("a.example", "a.example", &rotated, a)
}

// headerLine finds "Name: value" in an echo body sent with X-Echo-Headers.
func headerLine(body, name string) string {
	for line := range strings.SplitSeq(body, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (s *Suite) testTCP(t *testing.T) {
	needs(t, s.Capabilities.TCP, "TCP")
	t.Run("TCPListener", func(t *testing.T) {
		l := s.start(t)
		a, b := l.startBackend("a"), l.startBackend("b")
		port := l.freePort()
		pool := lbconfig.Backend{Name: "test/tcp:5432", Endpoints: []lbconfig.Endpoint{a.endpoint, b.endpoint}}
		l.apply(config([]lbconfig.LoadBalancer{loadBalancer("default",
			lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: pool.Name}})}, pool))
		// Bytes pass as they are: HTTP over the TCP listener, a new
		// connection each time, reaches both endpoints, and nothing is
		// added to the request.
		seen := map[string]bool{}
		l.eventually("connections to spread over both endpoints", func() (bool, string) {
			r := l.rawHTTP(port, "anything.example")
			if r.err != nil {
				return false, r.String()
			}
			if headerLine(r.body, "X-Forwarded-For") != "" {
				return false, "a TCP listener added X-Forwarded-For"
			}
			seen[r.server] = true
			return seen["a"] && seen["b"], fmt.Sprint(seen)
		})
	})
	t.Run("TLSPassthrough", func(t *testing.T) {
		l := s.start(t)
		terminated := l.startBackend("terminated")
		inner := nettest.NewCert(t, "backend", "pass.example", "*.pass.example")
		pass := l.startTLSBackend("pass", inner)
		port := l.freePort()
		own := nettest.NewCert(t, "proxy", "term.example", "a.pass.example")
		c := config([]lbconfig.LoadBalancer{loadBalancer("default",
			lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
				{Hostname: "pass.example", Passthrough: pass.defaultTo()},
				{Hostname: "*.pass.example", Passthrough: pass.defaultTo()},
				// An exact host under a passthrough wildcard is terminated.
				{Hostname: "a.pass.example", TLS: own.Ref(), Routes: []lbconfig.Route{prefix("/", terminated)}},
				{Hostname: "term.example", TLS: own.Ref(), Routes: []lbconfig.Route{prefix("/", terminated)}},
			}})}, pass.pool(), terminated.pool())
		c.Certificates = []lbconfig.Certificate{own.Certificate()}
		l.apply(c)
		l.eventually("TLS passed through by SNI", func() (bool, string) {
			served, r := l.tlsGet(port, "pass.example", "pass.example", "/")
			if r.err != nil || !served.Equal(inner.Leaf) || r.server != "pass" {
				return false, fmt.Sprintf("%s, certificate %v", r, served != nil && served.Equal(inner.Leaf))
			}
			return true, ""
		})
		for _, tc := range []struct {
			sni      string
			wantCert *nettest.Cert // nil: any but inner's and own's
			want     *backend      // nil: a 404 from the load balancer
		}{
			{sni: "pass.example", wantCert: &inner, want: pass},
			{sni: "Pass.Example", wantCert: &inner, want: pass},
			{sni: "b.pass.example", wantCert: &inner, want: pass},
			{sni: "a.pass.example", wantCert: &own, want: terminated},
			{sni: "term.example", wantCert: &own, want: terminated},
			{sni: "x.b.pass.example"}, // a wildcard covers one label
			{sni: ""},
		} {
			host := tc.sni
			if host == "" {
				host = "unknown.example"
			}
			served, r := l.tlsGet(port, tc.sni, host, "/")
			switch {
			case r.err != nil:
				t.Errorf("SNI %q: %s", tc.sni, r)
				continue
			case tc.wantCert != nil && !served.Equal(tc.wantCert.Leaf):
				t.Errorf("SNI %q: certificate %q, want %q", tc.sni, served.Subject.CommonName, tc.wantCert.Leaf.Subject.CommonName)
			case tc.wantCert == nil && (served.Equal(inner.Leaf) || served.Equal(own.Leaf)):
				t.Errorf("SNI %q: certificate %q, want the load balancer's default", tc.sni, served.Subject.CommonName)
			}
			switch {
			case tc.want == nil && (r.status != http.StatusNotFound || r.server != ""):
				t.Errorf("SNI %q: %s, want a 404 from the load balancer", tc.sni, r)
			case tc.want != nil && (r.status != http.StatusOK || r.server != tc.want.name):
				t.Errorf("SNI %q: %s, want 200 from %s", tc.sni, r, tc.want.name)
			case tc.want == terminated && r.header.Get("X-Echo-Forwarded-For") == "":
				t.Errorf("SNI %q: terminated, yet the backend saw no X-Forwarded-For", tc.sni)
			case tc.want == pass && r.header.Get("X-Echo-Forwarded-For") != "":
				t.Errorf("SNI %q: passed through, yet the request was changed (X-Forwarded-For %q)", tc.sni, r.header.Get("X-Echo-Forwarded-For"))
			}
		}
	})
}

// rawHTTP sends one HTTP/1.1 request on a new connection to port, as bytes
// (for TCP listeners), asking the echo backend for the headers it got.
func (l *lab) rawHTTP(port int32, host string) reply { return l.rawHTTPAt(l.addr, port, host) }

// rawHTTPAt is rawHTTP to addr instead of the listen address.
func (l *lab) rawHTTPAt(addr string, port int32, host string) reply {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return reply{err: err}
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nX-Echo-Headers: 1\r\nConnection: close\r\n\r\n", host); err != nil {
		return reply{err: err}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, server: resp.Header.Get("X-Echo-Server"), header: resp.Header, body: string(body)}
}

// startTLSBackend is an echo backend that does TLS itself with cert.
func (l *lab) startTLSBackend(name string, cert nettest.Cert) *backend {
	l.t.Helper()
	b := l.startBackend(name)
	b.close() // reuse its definition, on a TLS listener instead
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		l.t.Fatal(err)
	}
	srv := &http.Server{Handler: b.srv.Handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	l.t.Cleanup(func() { _ = srv.Close() })
	b.endpoint.Port = int32(ln.Addr().(*net.TCPAddr).Port)
	return b
}

func (s *Suite) testSticky(t *testing.T) {
	needs(t, s.Capabilities.Sticky, "Sticky")
	t.Run("Cookie", func(t *testing.T) {
		l := s.start(t)
		bs := []*backend{l.startBackend("a"), l.startBackend("b"), l.startBackend("c"), l.startBackend("d")}
		port := l.freePort()
		pol := lbconfig.Policy{Affinity: &lbconfig.Affinity{Type: lbconfig.AffinityByCookie, Cookie: &lbconfig.AffinityCookie{Name: "route"}}}
		apply := func(members ...*backend) {
			pool := lbconfig.Backend{Name: "test/sticky:80", Policy: pol}
			for _, b := range members {
				pool.Endpoints = append(pool.Endpoints, b.endpoint)
			}
			l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: pool.Name}), pool))
		}
		apply(bs[0], bs[1], bs[2])
		var first reply
		l.eventually("a sticky cookie", func() (bool, string) {
			first = l.get(l.client, port, "x.example", "/")
			return first.err == nil && first.server != "" && cookieFrom(first, "route") != "", first.String()
		})
		cookie := "route=" + cookieFrom(first, "route")
		home := first.server
		stays := func(when string) {
			t.Helper()
			for range 10 {
				if r := l.get(l.client, port, "x.example", "/", "Cookie", cookie); r.server != home {
					t.Fatalf("%s: a request with the cookie reached %s, want %s", when, r, home)
				}
			}
		}
		stays("with the cookie")
		apply(bs...)
		stays("after an endpoint was added")
		var rest []*backend
		for _, b := range bs {
			if b.name != home {
				rest = append(rest, b)
			}
		}
		apply(rest...)
		l.eventually("the client to move off its endpoint that left", func() (bool, string) {
			r := l.get(l.client, port, "x.example", "/", "Cookie", cookie)
			return r.err == nil && r.server != "" && r.server != home, r.String()
		})
	})
	t.Run("SourceIP", func(t *testing.T) {
		l := s.start(t)
		bs := []*backend{l.startBackend("a"), l.startBackend("b"), l.startBackend("c")}
		port := l.freePort()
		pool := lbconfig.Backend{Name: "test/sticky:80", Policy: lbconfig.Policy{Affinity: &lbconfig.Affinity{Type: lbconfig.AffinityBySourceIP}}}
		for _, b := range bs {
			pool.Endpoints = append(pool.Endpoints, b.endpoint)
		}
		l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: pool.Name}), pool))
		l.expect(at(port, "x.example", "/", from(bs...)))
		// New connections from one client address all reach one endpoint.
		first := ""
		for i := range 10 {
			tr := &http.Transport{DisableKeepAlives: true}
			r := l.get(&http.Client{Transport: tr, Timeout: 10 * time.Second}, port, "x.example", "/")
			if i == 0 {
				first = r.server
			} else if r.server != first {
				t.Fatalf("connection %d from the same client reached %s, the first reached %s", i, r, first)
			}
		}
	})
}

// cookieFrom returns the value of the Set-Cookie called name in r.
func cookieFrom(r reply, name string) string {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
