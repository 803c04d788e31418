package builtin

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

func testClientAuth(t *testing.T, mode lbconfig.ClientAuthMode, depth int32) (*clientAuth, *selfsigned.Certificate) {
	t.Helper()
	ca, err := selfsigned.NewCA("client ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pr := &portRoutes{exact: map[string]*vhost{"a.example": {}}, wildcard: map[string]*vhost{}}
	l := lbconfig.Listener{Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
		{Hostname: "a.example", ClientAuth: &lbconfig.ClientAuth{CAPEM: ca.ChainPEM, Mode: mode, Depth: depth}},
	}}
	if err := attachClientAuth(pr, l); err != nil {
		t.Fatal(err)
	}
	return pr.clientAuthFor("A.example."), ca
}

// TestClientAuthDepth: a chain with more certificates above the client's
// than Depth is refused; 0 bounds nothing.
func TestClientAuthDepth(t *testing.T) {
	a, ca := testClientAuth(t, lbconfig.ClientAuthRequired, 1)
	leaf, mid := &x509.Certificate{}, &x509.Certificate{}
	short := [][]*x509.Certificate{{leaf, ca.Leaf}}
	long := [][]*x509.Certificate{{leaf, mid, ca.Leaf}}
	switch {
	case !a.deepEnough(short):
		t.Error("depth 1 refuses a certificate its CA signed")
	case a.deepEnough(long):
		t.Error("depth 1 takes an intermediate")
	case a.deepEnough(nil):
		t.Error("no verified chain is deep enough")
	}
	a.depth = 0
	if !a.deepEnough(long) {
		t.Error("depth 0 bounds the chain")
	}
}

// TestClientAuthAdmits: a connection whose chains end at another CA, as
// one made before an Apply changed the host's CA, does not satisfy it,
// and its headers say it failed.
func TestClientAuthAdmits(t *testing.T) {
	a, ca := testClientAuth(t, lbconfig.ClientAuthRequired, 0)
	other, err := selfsigned.NewCA("other ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	good, err := ca.Issue("good", time.Hour, selfsigned.ClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := other.Issue("wrong", time.Hour, selfsigned.ClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		cs     tls.ConnectionState
		admits bool
		verify string
	}{
		{"no certificate", tls.ConnectionState{}, false, "NONE"},
		{"verified by this CA", tls.ConnectionState{PeerCertificates: []*x509.Certificate{good.Leaf}, VerifiedChains: [][]*x509.Certificate{{good.Leaf, ca.Leaf}}}, true, "SUCCESS"},
		{"verified by another CA", tls.ConnectionState{PeerCertificates: []*x509.Certificate{wrong.Leaf}, VerifiedChains: [][]*x509.Certificate{{wrong.Leaf, other.Leaf}}}, false, "FAILED"},
		{"not verified", tls.ConnectionState{PeerCertificates: []*x509.Certificate{good.Leaf}}, false, "SUCCESS"},
	} {
		if got := a.admits(&c.cs); got != c.admits {
			t.Errorf("%s: admits %v", c.name, got)
		}
		if got := a.verify(&c.cs); !strings.HasPrefix(got, c.verify) || strings.ContainsAny(got, "\r\n") {
			t.Errorf("%s: verify %q, want %s", c.name, got, c.verify)
		}
	}
}

// TestEscapeComponent: only unreserved bytes stay as they are.
func TestEscapeComponent(t *testing.T) {
	in := "-----BEGIN CERTIFICATE-----\nab+/=\r\n%\x00\xff~._-\n"
	got := escapeComponent([]byte(in))
	if strings.ContainsAny(got, " \n\r+/=\x00\xff") {
		t.Errorf("escapeComponent left %q", got)
	}
	if back, err := url.PathUnescape(got); err != nil || back != in {
		t.Errorf("unescaped %q, %v", back, err)
	}
}
