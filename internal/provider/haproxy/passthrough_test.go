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
	"ingress-controller/pkg/lbconfig"
)

// tlsAnswer is what a request over a TLS connection through the load
// balancer got.
type tlsAnswer struct {
	server string
	status int
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
	return tlsAnswer{server: resp.Header.Get("X-Echo-Server"), status: resp.StatusCode}, nil
}

// TestTLSPassthroughOnHTTPSListener: endpoints of a passthrough backend
// change without a reload.
func TestTLSPassthroughOnHTTPSListener(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	vaultCert := nettest.NewCert(t, "vault", "vault.test", "*.pass.test")
	vault, vault2 := nettest.TLSEchoEndpoint(t, "vault", vaultCert), nettest.TLSEchoEndpoint(t, "vault2", vaultCert)
	shop := nettest.TLSEchoEndpoint(t, "shop", nettest.NewCert(t, "shop-backend", "shop.internal"))
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
	// Which SNI goes where is providertest's TCP/TLSPassthrough case; here,
	// what is HAProxy's own: the runtime API.
	waitFor(t, 10*time.Second, "the passthrough backend", func() bool {
		got, err := tlsGet(t, port, "vault.test", "vault.test", vaultCert.Pool)
		return err == nil && got.server == "vault"
	})

	// A passthrough backend's endpoints move through the runtime API.
	reloads := p.Reloads()
	apply(t, p, cfg(vault2))
	waitFor(t, 10*time.Second, "the passthrough backend's new endpoint", func() bool {
		got, err := tlsGet(t, port, "vault.test", "vault.test", vaultCert.Pool)
		return err == nil && got.server == "vault2"
	})
	if p.Reloads() != reloads {
		t.Errorf("an endpoint change of a passthrough backend reloaded HAProxy (%d reloads, want %d)", p.Reloads(), reloads)
	}
}

func TestTLSPassthroughListener(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	withTCP, withoutTCP := nettest.FreePort(t), nettest.FreePort(t)
	aCert, bCert := nettest.NewCert(t, "a", "a.test"), nettest.NewCert(t, "b", "b.test", "other.test")
	a, b := nettest.TLSEchoEndpoint(t, "a", aCert), nettest.TLSEchoEndpoint(t, "b", bCert)
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
		if got, err := tlsGet(t, port, "a.test", "a.test", aCert.Pool); err != nil || got.server != "a" {
			t.Errorf("port %d: a.test: %+v, %v; want backend a", port, got, err)
		}
	}
	if got, err := tlsGet(t, withTCP, "other.test", "other.test", bCert.Pool); err != nil || got.server != "b" {
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
	httpPort, tcpPort := nettest.FreePort(t), nettest.FreePort(t)
	a, b := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b")
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
