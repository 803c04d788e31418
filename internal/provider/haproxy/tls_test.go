package haproxy

import (
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

func TestHTTPSPicksCertificateBySNI(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	a, b := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b")
	https := func(host, cert, backend string) lbconfig.VirtualHost {
		return lbconfig.VirtualHost{Hostname: host, TLS: &lbconfig.CertificateRef{Name: cert},
			Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref(backend)}}}
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: port, Protocol: lbconfig.ProtocolHTTPS,
			VirtualHosts: []lbconfig.VirtualHost{https("a.example.com", "default/a-tls", "default/a:80"), https("b.example.com", "default/b-tls", "default/b:80")},
		}}}},
		Backends: []lbconfig.Backend{{Name: "default/a:80", Endpoints: []lbconfig.Endpoint{a}}, {Name: "default/b:80", Endpoints: []lbconfig.Endpoint{b}}},
		Certificates: []lbconfig.Certificate{
			{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}},
			{Name: "default/b-tls", ChainPEM: readTestdata(t, "tls-b.crt"), KeyPEM: readTestdata(t, "tls-b.key"), Hosts: []string{"b.example.com"}},
		},
	}
	apply(t, p, cfg)
	for _, tc := range []struct{ sni, wantCN, wantServer string }{
		{"a.example.com", "a.example.com", "a"},
		{"b.example.com", "b.example.com", "b"},
		{"other.example.org", "ingress-controller default", ""}, // the provider's default certificate, as builtin; no route
	} {
		var cn string
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{
				ServerName:         tc.sni,
				InsecureSkipVerify: true, // test certificates; checked by name below
				VerifyConnection: func(cs tls.ConnectionState) error {
					cn = cs.PeerCertificates[0].Subject.CommonName
					return nil
				},
			},
			ForceAttemptHTTP2: true,
		}}
		req, _ := http.NewRequest("GET", "https://127.0.0.1:"+strconv.Itoa(int(port))+"/", nil)
		req.Host = tc.sni
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("SNI %s: %v", tc.sni, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.CloseIdleConnections()
		if cn != tc.wantCN || resp.Header.Get("X-Echo-Server") != tc.wantServer {
			t.Errorf("SNI %s: certificate %q, answered by %q (%d %q), want certificate %q from %q", tc.sni, cn, resp.Header.Get("X-Echo-Server"), resp.StatusCode, body, tc.wantCN, tc.wantServer)
		}
		if tc.wantServer != "" && resp.ProtoMajor != 2 {
			t.Errorf("SNI %s: %s, want HTTP/2 through ALPN", tc.sni, resp.Proto)
		}
	}
}
