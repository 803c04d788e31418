package haproxy

import (
	"bufio"
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
	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

// testCert is a self-signed certificate for some hosts.
type testCert struct {
	chainPEM, keyPEM []byte
	leaf             *x509.Certificate
	pool             *x509.CertPool // trusts only this certificate
}

func newTestCert(t testing.TB, cn string, hosts ...string) testCert {
	t.Helper()
	c, err := selfsigned.New(cn, time.Hour, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	return testCert{chainPEM: c.ChainPEM, keyPEM: c.KeyPEM, leaf: c.Leaf, pool: pool}
}

// tlsBackend serves an echo backend that does TLS itself with cert: what
// TLS passthrough must reach untouched.
func tlsBackend(t testing.TB, name string, cert testCert) lbconfig.Endpoint {
	t.Helper()
	pair, err := tls.X509KeyPair(cert.chainPEM, cert.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s, err := nettest.StartTLSEcho(name, "127.0.0.1:0", pair)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	host, port, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(port)
	return lbconfig.Endpoint{Address: host, Port: int32(n), Ready: true, Serving: true}
}

// tlsAnswer is what a request over a TLS connection through the load
// balancer got.
type tlsAnswer struct {
	cert                 *x509.Certificate
	server, forwardedFor string
	status               int
}

// tlsGet opens a TLS connection to port with SNI serverName, verified
// against roots when set (else not verified), sends GET / with Host host
// and returns what answered.
func tlsGet(t testing.TB, port int32, serverName, host string, roots *x509.CertPool) (tlsAnswer, error) {
	t.Helper()
	cfg := &tls.Config{ServerName: serverName, RootCAs: roots, InsecureSkipVerify: roots == nil}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", "127.0.0.1:"+strconv.Itoa(int(port)), cfg)
	if err != nil {
		return tlsAnswer{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host); err != nil {
		return tlsAnswer{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return tlsAnswer{}, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return tlsAnswer{
		cert: c.ConnectionState().PeerCertificates[0], status: resp.StatusCode,
		server: resp.Header.Get("X-Echo-Server"), forwardedFor: resp.Header.Get("X-Echo-Forwarded-For"),
	}, nil
}

func TestTLSPassthroughOnHTTPSListener(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := freePort(t)
	vaultCert := newTestCert(t, "vault", "vault.test", "*.pass.test")
	vault, vault2 := tlsBackend(t, "vault", vaultCert), tlsBackend(t, "vault2", vaultCert)
	shop := tlsBackend(t, "shop", newTestCert(t, "shop-backend", "shop.internal"))
	cfg := func(vaultEP lbconfig.Endpoint) *lbconfig.Config {
		return &lbconfig.Config{
			LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
				Port: port, Protocol: lbconfig.ProtocolHTTPS,
				VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "vault.test", Passthrough: &lbconfig.BackendRef{Name: "default/vault:8200"}},
					{Hostname: "*.pass.test", Passthrough: &lbconfig.BackendRef{Name: "default/vault:8200"}},
					// An exact host under a passthrough wildcard is terminated.
					{Hostname: "a.pass.test", Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/shop:443")}}},
					{Hostname: "a.example.com", TLS: &lbconfig.CertificateRef{Name: "default/a-tls"},
						Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/shop:443")}}},
				},
			}}}},
			Backends: []lbconfig.Backend{
				{Name: "default/shop:443", Protocol: lbconfig.BackendHTTPS, Endpoints: []lbconfig.Endpoint{shop}},
				{Name: "default/vault:8200", Endpoints: []lbconfig.Endpoint{vaultEP}},
			},
			Certificates: []lbconfig.Certificate{{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}}},
		}
	}
	apply(t, p, cfg(vault))
	aRoots := x509.NewCertPool()
	aRoots.AppendCertsFromPEM(readTestdata(t, "tls-a.crt"))
	for _, tc := range []struct {
		sni        string
		roots      *x509.CertPool // verifies the certificate by name
		wantCN     string         // when roots is nil
		wantServer string
		wantStatus int
	}{
		{sni: "vault.test", roots: vaultCert.pool, wantServer: "vault", wantStatus: 200},
		{sni: "Vault.Test", roots: vaultCert.pool, wantServer: "vault", wantStatus: 200},
		{sni: "b.pass.test", roots: vaultCert.pool, wantServer: "vault", wantStatus: 200},
		{sni: "a.example.com", roots: aRoots, wantServer: "shop", wantStatus: 200},
		{sni: "a.pass.test", wantCN: "ingress-controller default", wantServer: "shop", wantStatus: 200},
		{sni: "x.b.pass.test", wantCN: "ingress-controller default", wantStatus: 404},
		{sni: "", wantCN: "ingress-controller default", wantStatus: 404},
	} {
		host := tc.sni
		if host == "" {
			host = "unknown.test"
		}
		got, err := tlsGet(t, port, tc.sni, host, tc.roots)
		if err != nil {
			t.Errorf("SNI %q: %v", tc.sni, err)
			continue
		}
		if tc.roots == nil && got.cert.Subject.CommonName != tc.wantCN {
			t.Errorf("SNI %q: certificate %q, want %q", tc.sni, got.cert.Subject.CommonName, tc.wantCN)
		}
		if got.server != tc.wantServer || got.status != tc.wantStatus {
			t.Errorf("SNI %q: %d from %q, want %d from %q", tc.sni, got.status, got.server, tc.wantStatus, tc.wantServer)
		}
		if got.server == "shop" && got.forwardedFor != "127.0.0.1" {
			t.Errorf("SNI %q: terminated behind SNI routing, the backend saw X-Forwarded-For %q, want the client's 127.0.0.1", tc.sni, got.forwardedFor)
		}
		if got.server == "vault" && got.forwardedFor != "" {
			t.Errorf("SNI %q: passed through, yet the request was changed (X-Forwarded-For %q)", tc.sni, got.forwardedFor)
		}
	}

	// A passthrough backend's endpoints move through the runtime API.
	reloads := p.Reloads()
	apply(t, p, cfg(vault2))
	waitFor(t, 10*time.Second, "the passthrough backend's new endpoint", func() bool {
		got, err := tlsGet(t, port, "vault.test", "vault.test", vaultCert.pool)
		return err == nil && got.server == "vault2"
	})
	if p.Reloads() != reloads {
		t.Errorf("an endpoint change of a passthrough backend reloaded HAProxy (%d reloads, want %d)", p.Reloads(), reloads)
	}
}

func TestTLSPassthroughListener(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	withTCP, withoutTCP := freePort(t), freePort(t)
	aCert, bCert := newTestCert(t, "a", "a.test"), newTestCert(t, "b", "b.test", "other.test")
	a, b := tlsBackend(t, "a", aCert), tlsBackend(t, "b", bCert)
	apply(t, p, &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{
			{Port: withTCP, Protocol: lbconfig.ProtocolTLSPassthrough, TCP: &lbconfig.BackendRef{Name: "b"},
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.test", Passthrough: &lbconfig.BackendRef{Name: "a"}}}},
			{Port: withoutTCP, Protocol: lbconfig.ProtocolTLSPassthrough,
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.test", Passthrough: &lbconfig.BackendRef{Name: "a"}}}},
		}}},
		Backends: []lbconfig.Backend{{Name: "a", Endpoints: []lbconfig.Endpoint{a}}, {Name: "b", Endpoints: []lbconfig.Endpoint{b}}},
	})
	for _, port := range []int32{withTCP, withoutTCP} {
		if got, err := tlsGet(t, port, "a.test", "a.test", aCert.pool); err != nil || got.server != "a" {
			t.Errorf("port %d: a.test: %+v, %v; want backend a", port, got, err)
		}
	}
	if got, err := tlsGet(t, withTCP, "other.test", "other.test", bCert.pool); err != nil || got.server != "b" {
		t.Errorf("an unknown SNI: %+v, %v; want the listener's TCP backend", got, err)
	}
	if _, err := tlsGet(t, withoutTCP, "other.test", "other.test", nil); err == nil {
		t.Error("an unknown SNI on a TLS passthrough listener without a TCP backend was answered; want the connection closed")
	}
	// Not TLS at all: closed, nothing answers.
	for _, port := range []int32{withTCP, withoutTCP} {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
		if got, err := io.ReadAll(c); len(got) != 0 || (err != nil && strings.Contains(err.Error(), "timeout")) {
			t.Errorf("port %d: plain HTTP on a TLS passthrough listener: read %q, %v; want the connection closed", port, got, err)
		}
		c.Close()
	}
}

func TestBackendOfHTTPRoutesAndTCPListener(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	httpPort, tcpPort := freePort(t), freePort(t)
	a, b := echo(t, "a"), echo(t, "b")
	cfg := func(ep lbconfig.Endpoint) *lbconfig.Config {
		c := simpleConfig(httpPort, ep)
		c.LoadBalancers[0].Listeners = append(c.LoadBalancers[0].Listeners,
			lbconfig.Listener{Port: tcpPort, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: "default/echo:80"}})
		return c
	}
	apply(t, p, cfg(a))
	c := newClient()
	for _, port := range []int32{httpPort, tcpPort} {
		if r := get(c, port, "x.test", "/"); r.status != 200 || r.server != "a" {
			t.Errorf("port %d: %d from %q (%v), want a", port, r.status, r.server, r.err)
		}
	}
	reloads := p.Reloads()
	apply(t, p, cfg(b))
	c.CloseIdleConnections()
	for _, port := range []int32{httpPort, tcpPort} {
		waitFor(t, 10*time.Second, fmt.Sprintf("port %d to reach the new endpoint", port), func() bool {
			r := get(newClient(), port, "x.test", "/")
			return r.status == 200 && r.server == "b"
		})
	}
	if p.Reloads() != reloads {
		t.Errorf("an endpoint change reloaded HAProxy (%d reloads, want %d)", p.Reloads(), reloads)
	}
}
