package providertest

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

// testBackendClientCertificate checks the client certificates sent to
// backends (lbconfig.BackendTLS.ClientCertificatePEM) when several
// backends with different identities share one endpoint, as the copies
// of a backend do that Gateways with different client certificates use:
// each request is made with its own backend's certificate, in turns on
// kept-alive connections and from many clients at once; a backend without
// a certificate, or with one the endpoint does not trust, is refused by
// the endpoint and answered by the load balancer (502, or 503 on
// HAProxy); and a changed certificate applies to the next request, never
// sent on a connection made with the old one.
func (s *Suite) testBackendClientCertificate(t *testing.T) {
	l := s.start(t)
	p := newPKI(t)
	issue := func(ca *selfsigned.Certificate, cn string) *selfsigned.Certificate {
		c, err := ca.Issue(cn, time.Hour, selfsigned.ClientAuth)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	idA, idB, stranger := p.client, issue(p.ca, "gateway b"), issue(p.otherCA, "stranger")
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(p.ca.Leaf)
	mtls := l.startBackendTLS("mtls", p.server, clientCAs)
	port := l.freePort()

	as := func(name string, id *selfsigned.Certificate) lbconfig.Backend {
		x := verified(p.ca, true)
		if id != nil {
			x.ClientCertificatePEM, x.ClientKeyPEM = id.ChainPEM, id.KeyPEM
		}
		b := mtls.over(x)
		b.Name = "test/" + name + ":443"
		return b
	}
	cfg := func(forA *selfsigned.Certificate) *lbconfig.Config {
		return config(oneLB(port, nil,
			vhost("app.example.com",
				route("/a", lbconfig.MatchPrefix, "test/as-a:443"), route("/b", lbconfig.MatchPrefix, "test/as-b:443"),
				route("/none", lbconfig.MatchPrefix, "test/none:443"), route("/stranger", lbconfig.MatchPrefix, "test/stranger:443"),
			)),
			as("as-a", forA), as("as-b", idB), as("none", nil), as("stranger", stranger))
	}
	l.apply(cfg(idA))
	l.expect(at(port, "app.example.com", "/a", from(mtls.backend)), at(port, "app.example.com", "/b", from(mtls.backend)))
	before := mtls.hits.Load()
	l.expectNotServed(port, "app.example.com", "/none", "/stranger")
	if n := mtls.hits.Load() - before; n != 0 {
		t.Errorf("the endpoint got %d requests from backends without a certificate it trusts, want none", n)
	}
	want := map[string]string{"/a": idA.Leaf.Subject.CommonName, "/b": "gateway b"}
	l.expectIdentities(port, want, 40)
	l.expectIdentitiesConcurrently(port, want, 8, 50)

	// as-a now presents B: the connections made as A, kept alive, must
	// not carry its requests.
	l.apply(cfg(idB))
	l.eventually("backend as-a to present the changed certificate", func() (bool, string) {
		r := l.get(l.client, port, "app.example.com", "/a")
		return r.header.Get("X-Client-Certificate") == "gateway b", r.String() + " as " + r.header.Get("X-Client-Certificate")
	})
	l.expectIdentities(port, map[string]string{"/a": "gateway b", "/b": "gateway b"}, 20)

	// as-a now presents a certificate the endpoint does not trust: no
	// request of its may go out on the connections made as A or B.
	l.apply(cfg(stranger))
	l.expectNotServed(port, "app.example.com", "/a")
	before = mtls.hits.Load()
	l.expectNotServed(port, "app.example.com", "/a")
	if n := mtls.hits.Load() - before; n != 0 {
		t.Errorf("the endpoint got %d requests of backend as-a after its certificate became one it does not trust, want none", n)
	}
	l.expectIdentities(port, map[string]string{"/b": "gateway b"}, 10)
}

// expectIdentities sends rounds of requests, one to each path of want in
// turn, on the lab's kept-alive client: each must reach the endpoint
// with the client certificate whose common name want gives.
func (l *lab) expectIdentities(port int32, want map[string]string, rounds int) {
	l.t.Helper()
	for i := range rounds {
		for path, cn := range want {
			if err := l.identity(l.client, port, path, cn); err != nil {
				l.t.Errorf("round %d: %v", i, err)
				return
			}
		}
	}
}

// expectIdentitiesConcurrently is expectIdentities from clients
// goroutines at once, each with its own kept-alive connections.
func (l *lab) expectIdentitiesConcurrently(port int32, want map[string]string, clients, rounds int) {
	l.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}, Timeout: 10 * time.Second}
			defer c.CloseIdleConnections()
			for range rounds {
				for path, cn := range want {
					if err := l.identity(c, port, path, cn); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		l.t.Errorf("concurrent clients: %v", err)
	}
}

// identity checks that GET path reaches the endpoint with the client
// certificate of common name cn.
func (l *lab) identity(c *http.Client, port int32, path, cn string) error {
	r := l.get(c, port, "app.example.com", path)
	if r.server == "" || r.status != http.StatusOK {
		return fmt.Errorf("GET %s: got %s, want 200 from the endpoint", path, r)
	}
	if got := r.header.Get("X-Client-Certificate"); got != cn {
		return fmt.Errorf("GET %s: the endpoint saw client certificate %q, want %q", path, got, cn)
	}
	return nil
}
