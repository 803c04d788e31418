package builtin

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
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

// lockedBuffer is a log destination safe for the proxy's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBackendTLSFailureLogged: a backend whose certificate fails answers
// 502, and the log line names the backend and why, without key material.
func TestBackendTLSFailureLogged(t *testing.T) {
	var logs lockedBuffer
	p := startProxy(t, slog.New(slog.NewTextHandler(&logs, nil)))
	ca, err := selfsigned.NewCA("ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue("client", time.Hour, selfsigned.ClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	stranger := nettest.NewCert(t, "stranger", "web.ns.svc")
	ep := nettest.TLSEchoEndpoint(t, "tls", stranger)
	port := nettest.FreePort(t)
	b := protoBackend("ns/web:443", lbconfig.BackendHTTPS, ep)
	b.TLS = &lbconfig.BackendTLS{Verify: true, CAPEM: ca.ChainPEM, ServerName: "web.ns.svc",
		ClientCertificatePEM: client.ChainPEM, ClientKeyPEM: client.KeyPEM}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{b}, nil, vh("web.test", prefix("/", "ns/web:443"))))
	if a := get(t, testClient(t), port, "web.test", "/"); a.status != http.StatusBadGateway || a.server() != "" {
		t.Fatalf("GET through a backend whose certificate another CA signed: %d from %q, want 502 from the proxy", a.status, a.server())
	}
	out := logs.String()
	for _, want := range []string{"backend=ns/web:443", `backend certificate not verified for \"web.ns.svc\"`, "unknown authority"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log does not say %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, string(client.KeyPEM[40:80])) {
		t.Errorf("the log holds key material:\n%s", out)
	}
}
