package builtin

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

// tlsGet opens a TLS connection to port with SNI serverName, checks the
// certificate it gets against want (nil: the proxy's self-signed one),
// sends GET / over it and returns the answering server's name. keep, if
// set, receives the open connection for more requests.
func tlsGet(t *testing.T, port int32, serverName string, want *x509.Certificate) string {
	t.Helper()
	c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)), &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS to %q: %v", serverName, err)
	}
	defer c.Close()
	got := c.ConnectionState().PeerCertificates[0]
	switch {
	case want != nil && !got.Equal(want):
		t.Errorf("SNI %q: served certificate %q, want %q", serverName, got.Subject.CommonName, want.Subject.CommonName)
	case want == nil && got.Subject.CommonName != "ingress-controller default":
		t.Errorf("SNI %q: served certificate %q, want the proxy's default", serverName, got.Subject.CommonName)
	}
	return httpOver(t, c, serverName)
}

func httpOver(t *testing.T, c net.Conn, host string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("response from %q: %v", host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get("X-Echo-Server")
}

// TestTLSPassthroughOnHTTPSListener: a passed-through connection outlives
// config changes. Which SNI goes where is providertest's
// TCP/TLSPassthrough case.
func TestTLSPassthroughOnHTTPSListener(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	vaultCert := nettest.NewCert(t, "vault", "vault.test")
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: port, Protocol: lbconfig.ProtocolHTTPS,
			VirtualHosts: []lbconfig.VirtualHost{
				{Hostname: "vault.test", Passthrough: &lbconfig.BackendRef{Name: "vault"}},
				{Hostname: "*.pass.test", Passthrough: &lbconfig.BackendRef{Name: "vault"}},
				{Hostname: "shop.test", Routes: []lbconfig.Route{prefix("/", "shop")}},
			},
		}}}},
		Backends: []lbconfig.Backend{
			backendOf("vault", nettest.TLSEchoEndpoint(t, "vault", vaultCert)),
			backendOf("shop", nettest.EchoEndpoint(t, "shop")),
		},
	}
	mustApply(t, p, cfg)
	c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)), &tls.Config{ServerName: "vault.test", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 5 {
		for k := range cfg.LoadBalancers[0].Listeners[0].VirtualHosts {
			if vh := &cfg.LoadBalancers[0].Listeners[0].VirtualHosts[k]; vh.Hostname == "shop.test" {
				vh.Routes[0].Path = "/v" + strconv.Itoa(i)
			}
		}
		mustApply(t, p, cfg)
		if got := httpOver(t, c, "vault.test"); got != "vault" {
			t.Fatalf("after config change %d the passed-through connection answered %q", i, got)
		}
	}
}

func TestTLSPassthroughListener(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	aCert, bCert := nettest.NewCert(t, "a", "a.test"), nettest.NewCert(t, "b", "b.test")
	mustApply(t, p, &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: port, Protocol: lbconfig.ProtocolTLSPassthrough,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.test", Passthrough: &lbconfig.BackendRef{Name: "a"}}},
			TCP:          &lbconfig.BackendRef{Name: "b"},
		}}}},
		Backends: []lbconfig.Backend{backendOf("a", nettest.TLSEchoEndpoint(t, "a", aCert)), backendOf("b", nettest.TLSEchoEndpoint(t, "b", bCert))},
	})
	if got := tlsGet(t, port, "a.test", aCert.Leaf); got != "a" {
		t.Errorf("a.test: %q", got)
	}
	if got := tlsGet(t, port, "other.test", bCert.Leaf); got != "b" {
		t.Errorf("an unknown SNI: %q, want the listener's TCP backend", got)
	}
	// Not TLS at all: closed, nothing answers.
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
	if b, err := io.ReadAll(c); len(b) != 0 || (err != nil && strings.Contains(err.Error(), "timeout")) {
		t.Errorf("plain HTTP on a TLS passthrough listener: read %q, %v; want the connection closed", b, err)
	}
}

// TestSlowClientHelloBlocksNoOne: a client that connects and sends nothing
// does not hold up the handshakes of others on a port that sorts by SNI.
func TestSlowClientHelloBlocksNoOne(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	cert := nettest.NewCert(t, "vault", "vault.test")
	mustApply(t, p, &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: port, Protocol: lbconfig.ProtocolHTTPS,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "vault.test", Passthrough: &lbconfig.BackendRef{Name: "vault"}}},
		}}}},
		Backends: []lbconfig.Backend{backendOf("vault", nettest.TLSEchoEndpoint(t, "vault", cert))},
	})
	idle, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if got := tlsGet(t, port, "vault.test", cert.Leaf); got != "vault" {
		t.Errorf("with a silent client on the port: %q", got)
	}
}
