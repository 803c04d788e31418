package builtin

import (
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

func backendTLSTable(t *testing.T, x *lbconfig.BackendTLS, prev *table) (*table, error) {
	t.Helper()
	cfg := &lbconfig.Config{Backends: []lbconfig.Backend{
		{Name: "ns/web:443", Protocol: lbconfig.BackendHTTPS, TLS: x},
		{Name: "ns/plain:443", Protocol: lbconfig.BackendHTTPS},
		{Name: "ns/grpc:443", Protocol: lbconfig.BackendGRPCS},
	}}
	return buildTable(cfg, "127.0.0.1", prev)
}

// TestBackendTLSKeptWhileUnchanged: an unchanged backend TLS keeps its
// transport (and pool) from one table to the next; any change is a new
// one; HTTPS without settings uses the shared transport, GRPCS always has
// its own.
func TestBackendTLSKeptWhileUnchanged(t *testing.T) {
	ca, err := selfsigned.NewCA("ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	x := &lbconfig.BackendTLS{Verify: true, CAPEM: ca.ChainPEM, ServerName: "web.ns.svc"}
	first, err := backendTLSTable(t, x, nil)
	if err != nil {
		t.Fatal(err)
	}
	web, plain, grpc := first.backends[0], first.backends[1], first.backends[2]
	if web.name != "ns/web:443" || web.tls == nil || plain.tls != nil || grpc.tls == nil || !grpc.tls.grpc {
		t.Fatalf("backend TLS: web %+v, plain %+v, grpc %+v", web.tls, plain.tls, grpc.tls)
	}
	same, err := backendTLSTable(t, &lbconfig.BackendTLS{Verify: true, CAPEM: ca.ChainPEM, ServerName: "web.ns.svc"}, first)
	if err != nil {
		t.Fatal(err)
	}
	if same.backends[0].tls != web.tls || same.backends[2].tls != grpc.tls {
		t.Errorf("an unchanged backend TLS got a new transport")
	}
	for name, change := range map[string]func(*lbconfig.BackendTLS){
		"name":    func(x *lbconfig.BackendTLS) { x.ServerName = "other.ns.svc" },
		"sni":     func(x *lbconfig.BackendTLS) { x.SNI = true },
		"version": func(x *lbconfig.BackendTLS) { x.MinVersion = lbconfig.TLS13 },
		"ca":      func(x *lbconfig.BackendTLS) { x.CAPEM = append(append([]byte(nil), x.CAPEM...), x.CAPEM...) },
		"verify":  func(x *lbconfig.BackendTLS) { x.Verify, x.CAPEM, x.SNI = false, nil, true },
	} {
		y := *x
		change(&y)
		next, err := backendTLSTable(t, &y, first)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if next.backends[0].tls == web.tls {
			t.Errorf("a changed %s kept the old transport", name)
		}
	}
}

// TestBackendTLSRejected: what Validate would refuse, buildTable refuses
// too, so that Apply never serves a backend without its protection.
func TestBackendTLSRejected(t *testing.T) {
	other, err := selfsigned.New("other", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string]*lbconfig.BackendTLS{
		"CA not PEM":     {Verify: true, CAPEM: []byte("-----BEGIN CERTIFICATE-----\r\nnot base64\r\n-----END CERTIFICATE-----\r\n"), ServerName: "a.b"},
		"no CA":          {Verify: true, ServerName: "a.b"},
		"CA is a key":    {Verify: true, CAPEM: other.KeyPEM, ServerName: "a.b"},
		"huge CA":        {Verify: true, CAPEM: []byte(strings.Repeat(string(other.ChainPEM), lbconfig.MaxBackendCAPEMBytes/len(other.ChainPEM)+1)), ServerName: "a.b"},
		"key of another": {ClientCertificatePEM: other.ChainPEM, ClientKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
	} {
		if _, err := backendTLSTable(t, x, nil); err == nil {
			t.Errorf("%s: buildTable took it", name)
		}
	}
}
