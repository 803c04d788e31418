package providertest

import (
	"net/http"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// testTLSTerminatedForTCP: on one TLS passthrough port, a virtual host
// with a certificate and a TCP backend terminates TLS and forwards the
// decrypted bytes as they are, beside one that passes TLS through; other
// server names are closed.
func (s *Suite) testTLSTerminatedForTCP(t *testing.T) {
	needs(t, s.Capabilities.TLSTerminateTCP, "TLSTerminateTCP")
	l := s.start(t)
	plain := l.startBackend("plain")
	inner := nettest.NewCert(t, "backend", "pass.example")
	pass := l.startTLSBackend("pass", inner)
	own := nettest.NewCert(t, "proxy", "term.example", "*.term.example")
	port := l.freePort()
	c := config([]lbconfig.LoadBalancer{loadBalancer("default",
		lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolTLSPassthrough, VirtualHosts: []lbconfig.VirtualHost{
			{Hostname: "pass.example", Passthrough: pass.defaultTo()},
			{Hostname: "term.example", TLS: own.Ref(), TCP: plain.defaultTo()},
			{Hostname: "*.term.example", TLS: own.Ref(), TCP: plain.defaultTo()},
		}})}, pass.pool(), plain.pool())
	c.Certificates = []lbconfig.Certificate{own.Certificate()}
	l.apply(c)
	l.eventually("TLS terminated for a TCP backend", func() (bool, string) {
		served, r := l.tlsGet(port, "term.example", "term.example", "/")
		return r.err == nil && r.server == "plain" && served.Equal(own.Leaf), r.String()
	})
	for _, tc := range []struct {
		sni  string
		cert *nettest.Cert
		want string // "" for closed
	}{
		{"term.example", &own, "plain"},
		{"a.term.example", &own, "plain"},
		{"Term.Example", &own, "plain"},
		{"pass.example", &inner, "pass"},
		{"other.example", nil, ""},
		{"", nil, ""},
	} {
		served, r := l.tlsGet(port, tc.sni, "term.example", "/")
		switch {
		case tc.want == "" && r.err == nil:
			t.Errorf("SNI %q: %s, want the connection closed", tc.sni, r)
		case tc.want == "":
		case r.err != nil || r.status != http.StatusOK || r.server != tc.want:
			t.Errorf("SNI %q: %s, want 200 from %s", tc.sni, r, tc.want)
		case !served.Equal(tc.cert.Leaf):
			t.Errorf("SNI %q: certificate %q, want %q", tc.sni, served.Subject.CommonName, tc.cert.Leaf.Subject.CommonName)
		case r.header.Get("X-Echo-Forwarded-For") != "":
			// TCP: the bytes are forwarded as they are, no field added.
			t.Errorf("SNI %q: the backend saw X-Forwarded-For %q", tc.sni, r.header.Get("X-Echo-Forwarded-For"))
		}
	}
}
