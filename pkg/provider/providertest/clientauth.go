package providertest

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

// testClientAuth: virtual hosts that ask TLS clients for a certificate
// (lbconfig.ClientAuth) serve only the clients their mode admits, pass
// the certificate's check and the certificate to the backend in headers
// no client can forge, and answer 421 to a request whose Host needs other
// client authentication than its connection's server name got.
func (s *Suite) testClientAuth(t *testing.T) {
	needs(t, s.Capabilities.TLS, "TLS")
	l := s.start(t)
	req, opt, noCA, open := l.startBackend("required"), l.startBackend("optional"), l.startBackend("no-ca"), l.startBackend("open")
	port := l.freePort()
	ca, other := newCA(t, "client ca"), newCA(t, "other ca")
	good, wrong := issueClient(t, ca, "good client", time.Hour), issueClient(t, other, "wrong client", time.Hour)
	expired := issueClient(t, ca, "expired client", -30*time.Minute)
	server := nettest.NewCert(t, "mtls", "req.example", "opt.example", "noca.example", "open.example")
	auth := func(m lbconfig.ClientAuthMode) *lbconfig.ClientAuth {
		return &lbconfig.ClientAuth{CAPEM: ca.ChainPEM, Mode: m, PassCertificate: true}
	}
	host := func(name string, b *backend, a *lbconfig.ClientAuth) lbconfig.VirtualHost {
		return lbconfig.VirtualHost{Hostname: name, TLS: server.Ref(), ClientAuth: a, Routes: []lbconfig.Route{prefix("/", b)}}
	}
	cfg := config([]lbconfig.LoadBalancer{loadBalancer("default", lbconfig.Listener{
		Port: port, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
			host("noca.example", noCA, auth(lbconfig.ClientAuthOptionalNoCA)),
			host("open.example", open, nil),
			host("opt.example", opt, auth(lbconfig.ClientAuthOptional)),
			host("req.example", req, auth(lbconfig.ClientAuthRequired)),
		}})}, req.pool(), opt.pool(), noCA.pool(), open.pool())
	cfg.Certificates = []lbconfig.Certificate{server.Certificate()}
	l.apply(cfg)

	// Also as CGI and WSGI servers read them: "_" for "-".
	forged := []string{"ssl-client-verify", "SUCCESS", "SSL-Client-Subject-DN", "CN=forged", "ssl-client-issuer-dn", "CN=forged", "ssl-client-cert", "forged",
		"ssl_client_verify", "forged", "ssl_client-subject_dn", "CN=forged", "Ssl_Client_Cert", "forged"}
	served := func(name, host string, b *backend, c *tls.Certificate, verify string, cert *selfsigned.Certificate) {
		t.Helper()
		l.eventually(name, func() (bool, string) {
			return checkClientHeaders(l.mtlsGet(port, host, "", c, forged...), b, verify, cert)
		})
	}
	served("required, the right certificate", "req.example", req, &good.TLS, "SUCCESS", good)
	served("optional, the right certificate", "opt.example", opt, &good.TLS, "SUCCESS", good)
	served("optional, no certificate", "opt.example", opt, nil, "NONE", nil)
	served("optional without CA, no certificate", "noca.example", noCA, nil, "NONE", nil)
	served("optional without CA, the right certificate", "noca.example", noCA, &good.TLS, "SUCCESS", good)
	served("optional without CA, another CA's certificate", "noca.example", noCA, &wrong.TLS, "FAILED", wrong)
	served("optional without CA, an expired certificate", "noca.example", noCA, &expired.TLS, "FAILED", expired)
	// A host without client authentication on the listener gets no
	// certificate headers either, whatever the client sends.
	served("no client authentication", "open.example", open, nil, "", nil)

	for _, c := range []struct {
		name, host string
		cert       *tls.Certificate
	}{
		{"required, no certificate", "req.example", nil},
		{"required, another CA's certificate", "req.example", &wrong.TLS},
		{"required, an expired certificate", "req.example", &expired.TLS},
		{"optional, another CA's certificate", "opt.example", &wrong.TLS},
		{"optional, an expired certificate", "opt.example", &expired.TLS},
	} {
		if r := l.mtlsGet(port, c.host, "", c.cert); r.err == nil {
			t.Errorf("%s: %s, want the handshake refused", c.name, r)
		}
	}

	// A connection is good for the hosts that authenticate as its
	// server name's does: others answer 421, never the backend.
	for _, c := range []struct {
		sni, host string
		cert      *tls.Certificate
	}{
		{"open.example", "req.example", nil},
		{"open.example", "opt.example", nil},
		{"req.example", "open.example", &good.TLS},
		{"opt.example", "req.example", &good.TLS},
		{"noca.example", "req.example", &good.TLS},
		{"", "req.example", nil},
		{"unknown.example", "req.example", nil},
	} {
		if r := l.mtlsGet(port, c.sni, c.host, c.cert); r.status != http.StatusMisdirectedRequest || r.server != "" {
			t.Errorf("SNI %q, Host %q: %s, want 421 from the load balancer", c.sni, c.host, r)
		}
	}
	// The same settings on two hosts: one connection serves both.
	if r := l.mtlsGet(port, "req.example", "REQ.example.", &good.TLS); r.status != http.StatusOK || r.server != req.name {
		t.Errorf("SNI and Host of one host: %s, want 200 from %s", r, req.name)
	}
}

// checkClientHeaders checks the certificate headers an echo backend b
// got in r: verify ("" for none, "FAILED" for any failure), and the
// subject, issuer and certificate of cert, if any.
func checkClientHeaders(r reply, b *backend, verify string, cert *selfsigned.Certificate) (bool, string) {
	if r.err != nil || r.status != http.StatusOK || r.server != b.name {
		return false, r.String()
	}
	if strings.Contains(r.body, "forged") || strings.Count(strings.ToLower(r.body), "ssl-client-verify:") > 1 || strings.Contains(strings.ToLower(r.body), "ssl_client") {
		return false, "a forged certificate header reached the backend:\n" + r.body
	}
	got := headerLine(r.body, "ssl-client-verify")
	if got != verify && (verify != "FAILED" || !strings.HasPrefix(got, "FAILED:")) {
		return false, fmt.Sprintf("ssl-client-verify %q, want %q", got, verify)
	}
	subject, issuer, escaped := headerLine(r.body, "ssl-client-subject-dn"), headerLine(r.body, "ssl-client-issuer-dn"), headerLine(r.body, "ssl-client-cert")
	if cert == nil {
		if subject != "" || issuer != "" || escaped != "" {
			return false, fmt.Sprintf("certificate headers without a certificate: %q, %q, %q", subject, issuer, escaped)
		}
		return true, ""
	}
	if want := "CN=" + cert.Leaf.Subject.CommonName; subject != want {
		return false, fmt.Sprintf("ssl-client-subject-dn %q, want %q", subject, want)
	}
	if want := "CN=" + cert.Leaf.Issuer.CommonName; issuer != want {
		return false, fmt.Sprintf("ssl-client-issuer-dn %q, want %q", issuer, want)
	}
	if strings.ContainsAny(escaped, " \n+/=") {
		return false, fmt.Sprintf("ssl-client-cert %q is not URL-escaped", escaped)
	}
	text, err := url.PathUnescape(escaped)
	if err != nil {
		return false, fmt.Sprintf("ssl-client-cert %q: %v", escaped, err)
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE" || string(block.Bytes) != string(cert.Leaf.Raw) {
		return false, fmt.Sprintf("ssl-client-cert %q is not the client's certificate", text)
	}
	return true, ""
}

// mtlsGet makes a new TLS connection to port with SNI serverName (none if
// ""), offering cert when asked for one, sends GET / with Host host
// (serverName if "") and hdr, and returns the reply.
func (l *lab) mtlsGet(port int32, serverName, host string, cert *tls.Certificate, hdr ...string) reply {
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c := &tls.Config{ServerName: serverName, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
			if cert != nil {
				c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
			}
			return (&tls.Dialer{Config: c}).DialContext(ctx, network, net.JoinHostPort(l.addr, strconv.Itoa(int(port))))
		},
	}
	defer tr.CloseIdleConnections()
	if host == "" {
		host = serverName
	}
	hdr = append(hdr, "X-Echo-Headers", "1")
	return l.getURL(&http.Client{Transport: tr, Timeout: 10 * time.Second}, "https://"+net.JoinHostPort(l.addr, strconv.Itoa(int(port)))+"/", host, hdr...)
}

func newCA(t *testing.T, cn string) *selfsigned.Certificate {
	t.Helper()
	ca, err := selfsigned.NewCA(cn, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// issueClient makes a client certificate of ca valid for validity from
// now (expired if negative).
func issueClient(t *testing.T, ca *selfsigned.Certificate, cn string, validity time.Duration) *selfsigned.Certificate {
	t.Helper()
	c, err := ca.Issue(cn, validity, selfsigned.ClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
