package lbconfig_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

func backendTLSConfig(t *testing.T) (*lbconfig.Config, *selfsigned.Certificate) {
	t.Helper()
	ca, err := selfsigned.NewCA("test ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue("client", time.Hour, selfsigned.ClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	return &lbconfig.Config{Backends: []lbconfig.Backend{{
		Name:     "ns/web:443",
		Protocol: lbconfig.BackendHTTPS,
		TLS: &lbconfig.BackendTLS{
			Verify: true, CAPEM: ca.ChainPEM, ServerName: "web.ns.svc", SNI: true,
			ClientCertificatePEM: client.ChainPEM, ClientKeyPEM: client.KeyPEM,
			MinVersion: lbconfig.TLS12, MaxVersion: lbconfig.TLS13,
		},
	}}}, client
}

func TestValidateBackendTLS(t *testing.T) {
	c, _ := backendTLSConfig(t)
	if err := c.Validate(); err != nil {
		t.Fatalf("valid backend TLS: %v", err)
	}
	other, err := selfsigned.New("other", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		mutate func(*lbconfig.BackendTLS, *lbconfig.Backend)
		field  string
	}{
		"plain backend":         {func(_ *lbconfig.BackendTLS, b *lbconfig.Backend) { b.Protocol = lbconfig.BackendH2C }, "backends[0].tls"},
		"verify without CA":     {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.CAPEM = nil }, "backends[0].tls.caPEM"},
		"CA not PEM":            {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.CAPEM = []byte("not pem") }, "backends[0].tls.caPEM"},
		"CA is a key":           {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.CAPEM = other.KeyPEM }, "backends[0].tls.caPEM"},
		"CA with trailing junk": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.CAPEM = append(x.CAPEM, "junk"...) }, "backends[0].tls.caPEM"},
		"CA too large": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.CAPEM = []byte(strings.Repeat(string(other.ChainPEM), lbconfig.MaxBackendCAPEMBytes/len(other.ChainPEM)+1))
		}, "backends[0].tls.caPEM"},
		"CA without verify":   {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.Verify = false }, "backends[0].tls.caPEM"},
		"verify without name": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ServerName, x.SNI = "", false }, "backends[0].tls.serverName"},
		"sni without name": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.Verify, x.CAPEM, x.ServerName = false, nil, ""
		}, "backends[0].tls.serverName"},
		"name with CRLF":   {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ServerName = "a.b\r\nverify none" }, "backends[0].tls.serverName"},
		"name with space":  {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ServerName = "a b" }, "backends[0].tls.serverName"},
		"name upper case":  {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ServerName = "Web.ns" }, "backends[0].tls.serverName"},
		"wildcard name":    {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ServerName = "*.ns.svc" }, "backends[0].tls.serverName"},
		"huge name":        {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ServerName = strings.Repeat("a.", 200) + "a" }, "backends[0].tls.serverName"},
		"key of another":   {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ClientKeyPEM = other.KeyPEM }, "backends[0].tls.clientCertificatePEM"},
		"key without cert": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ClientCertificatePEM = nil }, "backends[0].tls.clientCertificatePEM"},
		"cert without key": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.ClientKeyPEM = nil }, "backends[0].tls.clientCertificatePEM"},
		"old version":      {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.MinVersion = "TLSv1" }, "backends[0].tls.minVersion"},
		"unknown max":      {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) { x.MaxVersion = "TLSv1.4" }, "backends[0].tls.maxVersion"},
		"SAN both kinds": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.SubjectAltNames = []lbconfig.SubjectAltName{{DNS: "a.b", URI: "spiffe://a/b"}}
		}, "backends[0].tls.subjectAltNames[0]"},
		"SAN empty": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.SubjectAltNames = []lbconfig.SubjectAltName{{DNS: "a.b"}, {}}
		}, "backends[0].tls.subjectAltNames[1]"},
		"SAN DNS with CRLF": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.SubjectAltNames = []lbconfig.SubjectAltName{{DNS: "a.b\r\nverify none"}}
		}, "backends[0].tls.subjectAltNames[0]"},
		"SAN URI with space": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.SubjectAltNames = []lbconfig.SubjectAltName{{URI: "spiffe://a/b c"}}
		}, "backends[0].tls.subjectAltNames[0]"},
		"SAN URI not absolute": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.SubjectAltNames = []lbconfig.SubjectAltName{{URI: "/a/b"}}
		}, "backends[0].tls.subjectAltNames[0]"},
		"SAN URI huge": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.SubjectAltNames = []lbconfig.SubjectAltName{{URI: "spiffe://a/" + strings.Repeat("b", 4096)}}
		}, "backends[0].tls.subjectAltNames[0]"},
		"SANs too many": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			for range lbconfig.MaxSubjectAltNames + 1 {
				x.SubjectAltNames = append(x.SubjectAltNames, lbconfig.SubjectAltName{DNS: "a.b"})
			}
		}, "backends[0].tls.subjectAltNames"},
		"SANs without verify": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.Verify, x.CAPEM = false, nil
			x.SubjectAltNames = []lbconfig.SubjectAltName{{DNS: "a.b"}}
		}, "backends[0].tls.subjectAltNames"},
		"max below min": {func(x *lbconfig.BackendTLS, _ *lbconfig.Backend) {
			x.MinVersion, x.MaxVersion = lbconfig.TLS13, lbconfig.TLS12
		}, "backends[0].tls.maxVersion"},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := backendTLSConfig(t)
			tc.mutate(c.Backends[0].TLS, &c.Backends[0])
			err := c.Validate()
			var fe *lbconfig.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Validate() = %v, want an error on %s", err, tc.field)
			}
		})
	}
}

func TestValidateBackendTLSMinimal(t *testing.T) {
	for name, x := range map[string]*lbconfig.BackendTLS{
		"nothing":        {},
		"sni only":       {ServerName: "web.ns.svc", SNI: true},
		"name, no sni":   {ServerName: "web.example.com"},
		"only tls 1.3":   {MinVersion: lbconfig.TLS13},
		"only up to 1.2": {MaxVersion: lbconfig.TLS12},
	} {
		c := &lbconfig.Config{Backends: []lbconfig.Backend{{Name: "ns/web:443", Protocol: lbconfig.BackendGRPCS, TLS: x}}}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDiffBackendTLS(t *testing.T) {
	old, _ := backendTLSConfig(t)
	cur, _ := backendTLSConfig(t) // another CA and client certificate
	cur.Backends[0].TLS.CAPEM = old.Backends[0].TLS.CAPEM
	if ch := lbconfig.Diff(old, cur); !ch.Structure {
		t.Errorf("a changed client certificate is not a structural change: %+v", ch)
	}
	cur.Backends[0].TLS = old.Backends[0].TLS
	if ch := lbconfig.Diff(old, cur); !ch.Empty() {
		t.Errorf("the same TLS is a change: %+v", ch)
	}
	cur2 := *cur.Backends[0].TLS
	cur2.ServerName = "other.ns.svc"
	cur.Backends[0].TLS = &cur2
	if ch := lbconfig.Diff(old, cur); !ch.Structure {
		t.Errorf("a changed server name is not a structural change: %+v", ch)
	}
}
