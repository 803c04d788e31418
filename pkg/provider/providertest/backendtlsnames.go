package providertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"testing"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

// backendTLSURI is the URI subject alternative name of the suite's
// backend certificate with one.
const backendTLSURI = "spiffe://test.svc/web"

// issueWithURI returns a server certificate from ca for backendTLSName
// and backendTLSURI, as a SPIFFE workload has.
func issueWithURI(t *testing.T, ca *selfsigned.Certificate) *selfsigned.Certificate {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("providertest: %v", err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	uri, err := url.Parse(backendTLSURI)
	must(err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "web"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{backendTLSName}, URIs: []*url.URL{uri},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Leaf, &key.PublicKey, ca.TLS.PrivateKey)
	must(err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(err)
	leaf, err := x509.ParseCertificate(der)
	must(err)
	return &selfsigned.Certificate{
		ChainPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Leaf:     leaf,
		TLS:      tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
	}
}

// sans is backend TLS that checks names against ca, sending sni.
func sans(ca *selfsigned.Certificate, sni string, names ...lbconfig.SubjectAltName) *lbconfig.BackendTLS {
	return &lbconfig.BackendTLS{Verify: true, CAPEM: ca.ChainPEM, ServerName: sni, SNI: true, SubjectAltNames: names}
}

// testBackendTLSNames checks lbconfig.BackendTLS.SubjectAltNames, as
// Gateway API's BackendTLSPolicy has them, with real TLS backends: a
// certificate for the one DNS name asked for is served, and the server
// name is sent as SNI; a name the certificate lacks, a CA that did not
// sign it, or a backend that does not speak TLS at all is answered by
// the load balancer, and the backend gets no request. With
// SubjectAltNameLists, URIs, lists of names (any one of them) and a name
// other than the one sent as SNI are checked too; without, a config with
// them is refused and the one before keeps serving.
func (s *Suite) testBackendTLSNames(t *testing.T) {
	l := s.start(t)
	p := newPKI(t)
	withURI := issueWithURI(t, p.ca)
	good := l.startBackendTLS("good", withURI, nil)
	wrongSAN := l.startBackendTLS("wrongsan", withURI, nil)
	wrongCA := l.startBackendTLS("wrongca", p.stranger, nil)
	plain := l.startBackend("plain")
	port := l.freePort()

	dns := func(name string) lbconfig.SubjectAltName { return lbconfig.SubjectAltName{DNS: name} }
	uri := func(u string) lbconfig.SubjectAltName { return lbconfig.SubjectAltName{URI: u} }
	noSNI := sans(p.ca, backendTLSName, dns("other.test.svc"))
	noSNI.SNI = false
	plainTLS := plain.pool()
	plainTLS.Protocol, plainTLS.TLS = lbconfig.BackendHTTPS, sans(p.ca, backendTLSName, dns(backendTLSName))
	l.apply(config(oneLB(port, nil,
		vhost("app.example.com",
			prefix("/good", good.backend), prefix("/wrongsan", wrongSAN.backend),
			prefix("/wrongca", wrongCA.backend), prefix("/plain", plain),
		)),
		good.over(sans(p.ca, backendTLSName, dns(backendTLSName))),
		wrongSAN.over(noSNI),
		wrongCA.over(sans(p.ca, backendTLSName, dns(backendTLSName))),
		plainTLS))
	l.expect(at(port, "app.example.com", "/good", from(good.backend)))
	l.expectNotServed(port, "app.example.com", "/wrongsan", "/wrongca", "/plain")
	for _, b := range []*backend{wrongSAN.backend, wrongCA.backend, plain} {
		if n := b.hits.Load(); n != 0 {
			t.Errorf("backend %s, whose certificate is not for the name or not trusted, or which speaks no TLS, got %d requests, want none", b.name, n)
		}
	}
	if names := good.serverNames(); len(names) == 0 || names[0] != backendTLSName {
		t.Errorf("backend good saw server names %q, want %q", names, backendTLSName)
	}

	otherSNI := l.startBackendTLS("othersni", withURI, nil)
	uriGood := l.startBackendTLS("urigood", withURI, nil)
	uriWrong := l.startBackendTLS("uriwrong", withURI, nil)
	anyOf := l.startBackendTLS("anyof", withURI, nil)
	noneOf := l.startBackendTLS("noneof", withURI, nil)
	lists := config(oneLB(port, nil,
		vhost("app.example.com",
			prefix("/good", good.backend), prefix("/othersni", otherSNI.backend),
			prefix("/urigood", uriGood.backend), prefix("/uriwrong", uriWrong.backend),
			prefix("/anyof", anyOf.backend), prefix("/noneof", noneOf.backend),
		)),
		good.over(sans(p.ca, backendTLSName, dns(backendTLSName))),
		otherSNI.over(sans(p.ca, "policy.example.com", dns(backendTLSName))),
		uriGood.over(sans(p.ca, backendTLSName, uri(backendTLSURI))),
		uriWrong.over(sans(p.ca, backendTLSName, uri("spiffe://test.svc/other"))),
		anyOf.over(sans(p.ca, backendTLSName, uri("spiffe://test.svc/other"), dns(backendTLSName))),
		noneOf.over(sans(p.ca, backendTLSName, uri("spiffe://test.svc/other"), dns("other.test.svc"))),
	)
	if !s.Capabilities.SubjectAltNameLists {
		if _, err := l.tryApply(lists); err == nil {
			t.Fatalf("%s: Apply accepted URI and listed subject alternative names, which the provider does not declare", l.p.Name())
		}
		l.expectNow(10, at(port, "app.example.com", "/good", from(good.backend)))
		return
	}
	l.apply(lists)
	l.expect(
		at(port, "app.example.com", "/othersni", from(otherSNI.backend)),
		at(port, "app.example.com", "/urigood", from(uriGood.backend)),
		at(port, "app.example.com", "/anyof", from(anyOf.backend)),
	)
	l.expectNotServed(port, "app.example.com", "/uriwrong", "/noneof")
	for _, b := range []*tlsBackend{uriWrong, noneOf} {
		if n := b.hits.Load(); n != 0 {
			t.Errorf("backend %s, whose certificate holds none of the names, got %d requests, want none", b.name, n)
		}
	}
	for _, name := range otherSNI.serverNames() {
		if name != "policy.example.com" {
			t.Errorf("backend othersni saw server name %q, want policy.example.com (the server name, not the subject alternative name)", name)
		}
	}
}
