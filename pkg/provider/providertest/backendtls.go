package providertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

// backendTLSName is the name the suite's TLS backends have certificates
// for, as a Service's DNS name.
const backendTLSName = "web.test.svc"

// pki is a CA, another CA, and what they issued for the suite.
type pki struct {
	ca, otherCA *selfsigned.Certificate
	// server is the backends' certificate for backendTLSName, from ca;
	// stranger is one for the same name from otherCA.
	server, stranger *selfsigned.Certificate
	// client is the load balancer's client certificate, from ca.
	client *selfsigned.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	must := func(c *selfsigned.Certificate, err error) *selfsigned.Certificate {
		t.Helper()
		if err != nil {
			t.Fatalf("providertest: %v", err)
		}
		return c
	}
	p := &pki{ca: must(selfsigned.NewCA("suite ca", time.Hour)), otherCA: must(selfsigned.NewCA("other ca", time.Hour))}
	p.server = must(p.ca.Issue("web", time.Hour, selfsigned.ServerAuth, backendTLSName))
	p.stranger = must(p.otherCA.Issue("web", time.Hour, selfsigned.ServerAuth, backendTLSName))
	p.client = must(p.ca.Issue("load balancer", time.Hour, selfsigned.ClientAuth))
	return p
}

// tlsBackend is an echo backend behind TLS that records the server names
// (SNI) of its handshakes and answers, in X-Client-Certificate, the
// common name of the client certificate it got.
type tlsBackend struct {
	*backend
	mu  sync.Mutex
	sni []string
}

func (b *tlsBackend) serverNames() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.sni...)
}

// startBackendTLS starts an echo backend serving cert over TLS; with
// clientCAs it requires a client certificate they signed.
func (l *lab) startBackendTLS(name string, cert *selfsigned.Certificate, clientCAs *x509.CertPool) *tlsBackend {
	l.t.Helper()
	b := &tlsBackend{backend: l.startBackend(name)}
	b.close() // reuse its definition, on a TLS listener instead
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, clientCAs
	}
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		b.mu.Lock()
		b.sni = append(b.sni, hello.ServerName)
		b.mu.Unlock()
		return nil, nil
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	echo := b.srv.Handler
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			w.Header().Set("X-Client-Certificate", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		echo.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	l.t.Cleanup(func() { _ = srv.Close() })
	b.endpoint.Port = int32(ln.Addr().(*net.TCPAddr).Port)
	return b
}

// over is b as an HTTPS backend spoken to with x.
func (b *tlsBackend) over(x *lbconfig.BackendTLS) lbconfig.Backend {
	p := b.pool()
	p.Protocol, p.TLS = lbconfig.BackendHTTPS, x
	return p
}

// verified is backend TLS that checks backendTLSName against ca.
func verified(ca *selfsigned.Certificate, sni bool) *lbconfig.BackendTLS {
	return &lbconfig.BackendTLS{Verify: true, CAPEM: ca.ChainPEM, ServerName: backendTLSName, SNI: sni}
}

// testBackendTLS checks lbconfig.Backend.TLS with real TLS backends: a
// certificate from the trusted CA for the right name is served; one from
// another CA or for another name is answered by the load balancer (502,
// or 503 on HAProxy) and the backend gets no request; the server name is sent as SNI only when asked; a backend
// that requires a client certificate gets the configured one, and
// refuses the load balancer without one; a changed CA applies to the
// next request, never served on a connection verified under the old one;
// GRPCS carries a real gRPC call over verified TLS.
func (s *Suite) testBackendTLS(t *testing.T) {
	l := s.start(t)
	p := newPKI(t)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(p.ca.Leaf)
	good := l.startBackendTLS("good", p.server, nil)
	noSNI := l.startBackendTLS("nosni", p.server, nil)
	wrongCA := l.startBackendTLS("wrongca", p.stranger, nil)
	wrongName := l.startBackendTLS("wrongname", p.server, nil)
	mtls := l.startBackendTLS("mtls", p.server, clientCAs)
	mtlsRefused := l.startBackendTLS("mtlsrefused", p.server, clientCAs)
	unverified := l.startBackendTLS("unverified", p.stranger, nil)
	port := l.freePort()

	otherName := verified(p.ca, false)
	otherName.ServerName = "other.test.svc"
	withClient := verified(p.ca, true)
	withClient.ClientCertificatePEM, withClient.ClientKeyPEM = p.client.ChainPEM, p.client.KeyPEM
	tls13 := verified(p.ca, false)
	tls13.MinVersion = lbconfig.TLS13
	cfg := func(goodCA *selfsigned.Certificate) *lbconfig.Config {
		return config(oneLB(port, nil,
			vhost("app.example.com",
				prefix("/good", good.backend), prefix("/nosni", noSNI.backend),
				prefix("/wrongca", wrongCA.backend), prefix("/wrongname", wrongName.backend),
				prefix("/mtls", mtls.backend), prefix("/mtlsrefused", mtlsRefused.backend),
				prefix("/unverified", unverified.backend),
			)),
			good.over(verified(goodCA, true)), noSNI.over(tls13),
			wrongCA.over(verified(p.ca, true)), wrongName.over(otherName),
			mtls.over(withClient), mtlsRefused.over(verified(p.ca, true)),
			unverified.over(nil))
	}
	l.apply(cfg(p.ca))
	l.expect(
		at(port, "app.example.com", "/good", from(good.backend)),
		at(port, "app.example.com", "/nosni", from(noSNI.backend)),
		at(port, "app.example.com", "/mtls", from(mtls.backend)),
		at(port, "app.example.com", "/unverified", from(unverified.backend)),
	)
	l.expectNotServed(port, "app.example.com", "/wrongca", "/wrongname", "/mtlsrefused")
	for _, b := range []*tlsBackend{wrongCA, wrongName, mtlsRefused} {
		if n := b.hits.Load(); n != 0 {
			t.Errorf("backend %s, whose certificate is not trusted or which refuses the load balancer, got %d requests, want none", b.name, n)
		}
	}
	if names := good.serverNames(); len(names) == 0 || names[0] != backendTLSName {
		t.Errorf("backend good saw server names %q, want %q (SNI on)", names, backendTLSName)
	}
	for _, name := range noSNI.serverNames() {
		if name != "" {
			t.Errorf("backend nosni saw server name %q, want none (SNI off)", name)
		}
	}
	if r := l.get(l.client, port, "app.example.com", "/mtls"); r.header.Get("X-Client-Certificate") != "load balancer" {
		t.Errorf("backend mtls saw client certificate %q, want the configured one (%s)", r.header.Get("X-Client-Certificate"), r)
	}

	// good's certificate is now from a CA no longer trusted: the kept-alive
	// connections verified under the old CA must not carry its requests.
	l.apply(cfg(p.otherCA))
	l.expectNotServed(port, "app.example.com", "/good")
	before := good.hits.Load()
	l.expectNotServed(port, "app.example.com", "/good")
	if n := good.hits.Load(); n != before {
		t.Errorf("backend good got %d requests after its CA was changed, want none", n-before)
	}

	s.testGRPCS(t, l, p)
}

// expectNotServed waits until the load balancer answers each path itself
// with 502 (builtin) or 503 (HAProxy, as to any endpoint it cannot
// connect to), then checks that it keeps doing so.
func (l *lab) expectNotServed(port int32, host string, paths ...string) {
	l.t.Helper()
	failed := func(r reply) bool {
		return r.err == nil && r.server == "" && (r.status == http.StatusBadGateway || r.status == http.StatusServiceUnavailable)
	}
	l.eventually("the backend not to be served", func() (bool, string) {
		for _, path := range paths {
			if r := l.get(l.client, port, host, path); !failed(r) {
				return false, path + ": " + r.String()
			}
		}
		return true, ""
	})
	for _, path := range paths {
		for range repeats {
			if r := l.get(l.client, port, host, path); !failed(r) {
				l.t.Errorf("GET %s: got %s, want 502 or 503 from the load balancer (it did before)", path, r)
				break
			}
		}
	}
}

// testGRPCS: a real gRPC client calls a real gRPC server behind GRPCS,
// with h2c to the load balancer; a server whose certificate is not
// trusted fails the call.
func (s *Suite) testGRPCS(t *testing.T, l *lab, p *pki) {
	start := func(cert *selfsigned.Certificate) lbconfig.Endpoint {
		return startGRPCServer(t, healthpb.HealthCheckResponse_SERVING, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12})))
	}
	backend := func(name string, ep lbconfig.Endpoint) lbconfig.Backend {
		return lbconfig.Backend{Name: "test/" + name + ":443", Protocol: lbconfig.BackendGRPCS, TLS: verified(p.ca, true), Endpoints: []lbconfig.Endpoint{ep}}
	}
	port := l.freePort()
	l.apply(config(oneLB(port, nil,
		vhost("grpc.example.com", route("/", lbconfig.MatchPrefix, "test/grpc:443")),
		vhost("stranger.example.com", route("/", lbconfig.MatchPrefix, "test/stranger:443")),
	), backend("grpc", start(p.server)), backend("stranger", start(p.stranger))))
	call := func(authority string) (*healthpb.HealthCheckResponse, error) {
		conn, err := grpc.NewClient(net.JoinHostPort(l.addr, strconv.Itoa(int(port))),
			grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(authority))
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "shop"})
	}
	l.eventually("a gRPC call over GRPCS", func() (bool, string) {
		resp, err := call("grpc.example.com")
		if err != nil {
			return false, err.Error()
		}
		return resp.Status == healthpb.HealthCheckResponse_SERVING, resp.String()
	})
	if resp, err := call("stranger.example.com"); err == nil {
		t.Errorf("a gRPC call to a server whose certificate is not trusted succeeded: %v", resp)
	}
}
