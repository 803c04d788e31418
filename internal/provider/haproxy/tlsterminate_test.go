package haproxy

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// terminateConfig is the golden case of TLS terminated for TCP backends:
// an exact name and a wildcard beside a passthrough name and the
// listener's own TCP backend.
func terminateConfig(t testing.TB) *lbconfig.Config {
	ep := []lbconfig.Endpoint{{Address: "10.0.7.1", Port: 5432, Ready: true, Serving: true}}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 8443, Protocol: lbconfig.ProtocolTLSPassthrough, TCP: &lbconfig.BackendRef{Name: "ns/other:5432"},
			VirtualHosts: []lbconfig.VirtualHost{
				{Hostname: "db.example.com", TLS: &lbconfig.CertificateRef{Name: "ns/a-tls"}, TCP: &lbconfig.BackendRef{Name: "ns/db:5432"}},
				{Hostname: "*.db.example.com", TLS: &lbconfig.CertificateRef{Name: "ns/a-tls"}, TCP: &lbconfig.BackendRef{Name: "ns/db:5432"}},
				{Hostname: "vault.example.com", Passthrough: &lbconfig.BackendRef{Name: "ns/vault:8200"}},
			},
		}}}},
		Backends: []lbconfig.Backend{
			{Name: "ns/db:5432", Endpoints: ep},
			{Name: "ns/other:5432", Endpoints: ep},
			{Name: "ns/vault:8200", Endpoints: ep},
		},
		Certificates: []lbconfig.Certificate{
			{Name: "ns/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}},
		},
	}
}

// TestTerminatedTCPSurvivesReload: a connection whose TLS HAProxy
// terminated for a TCP backend keeps working across a reload that adds
// a virtual host, and new connections get the new config.
func TestTerminatedTCPSurvivesReload(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	own := nettest.NewCert(t, "proxy", "term.example", "new.example")
	db := nettest.EchoEndpoint(t, "db")
	cfg := func(hosts ...string) *lbconfig.Config {
		l := lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolTLSPassthrough}
		for _, h := range hosts {
			l.VirtualHosts = append(l.VirtualHosts, lbconfig.VirtualHost{Hostname: h, TLS: own.Ref(), TCP: &lbconfig.BackendRef{Name: "ns/db:80"}})
		}
		return &lbconfig.Config{
			LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{l}}},
			Backends:      []lbconfig.Backend{{Name: "ns/db:80", Endpoints: []lbconfig.Endpoint{db}}},
			Certificates:  []lbconfig.Certificate{own.Certificate()},
		}
	}
	apply(t, p, cfg("term.example"))
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(int(port)), &tls.Config{ServerName: "term.example", RootCAs: own.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	ask := func(n int) error {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: term.example\r\n\r\n", n); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Echo-Server") != "db" {
			return fmt.Errorf("status %d from %q", resp.StatusCode, resp.Header.Get("X-Echo-Server"))
		}
		return nil
	}
	if err := ask(1); err != nil {
		t.Fatalf("before the reload: %v", err)
	}
	reloads := p.Reloads()
	apply(t, p, cfg("term.example", "new.example"))
	if p.Reloads() == reloads {
		t.Fatal("adding a virtual host did not reload HAProxy")
	}
	if err := ask(2); err != nil {
		t.Errorf("the connection made before the reload: %v", err)
	}
	if a, err := tlsGet(t, port, "new.example", "new.example", own.Pool); err != nil || a.server != "db" {
		t.Errorf("new.example after the reload: %+v, %v; want db", a, err)
	}
}
