package lbconfig_test

import (
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

func clientAuthConfig(t *testing.T) *lbconfig.Config {
	t.Helper()
	ca, err := selfsigned.NewCA("client ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 443, Protocol: lbconfig.ProtocolHTTPS,
			VirtualHosts: []lbconfig.VirtualHost{{
				Hostname:   "a.example",
				ClientAuth: &lbconfig.ClientAuth{CAPEM: ca.ChainPEM, Mode: lbconfig.ClientAuthRequired, Depth: 1, PassCertificate: true},
				Routes:     []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: "ns/web:80"}}},
			}},
		}}}},
		Backends: []lbconfig.Backend{{Name: "ns/web:80", Policy: lbconfig.Policy{Algorithm: lbconfig.RoundRobin}}},
	}
}

func TestValidateClientAuth(t *testing.T) {
	if err := clientAuthConfig(t).Validate(); err != nil {
		t.Fatalf("valid client auth: %v", err)
	}
	other, err := selfsigned.New("other", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const f = "loadBalancers[0].listeners[0].virtualHosts[0].clientAuth"
	for name, tc := range map[string]struct {
		mutate func(*lbconfig.Listener)
		field  string
	}{
		"no CA":       {func(l *lbconfig.Listener) { l.VirtualHosts[0].ClientAuth.CAPEM = nil }, f + ".caPEM"},
		"blank CA":    {func(l *lbconfig.Listener) { l.VirtualHosts[0].ClientAuth.CAPEM = []byte(" \n\t") }, f + ".caPEM"},
		"CA not PEM":  {func(l *lbconfig.Listener) { l.VirtualHosts[0].ClientAuth.CAPEM = []byte("ca.crt") }, f + ".caPEM"},
		"CA is a key": {func(l *lbconfig.Listener) { l.VirtualHosts[0].ClientAuth.CAPEM = other.KeyPEM }, f + ".caPEM"},
		"CA with junk": {func(l *lbconfig.Listener) {
			l.VirtualHosts[0].ClientAuth.CAPEM = append(other.ChainPEM, "\r\nverify none"...)
		}, f + ".caPEM"},
		"CA too large": {func(l *lbconfig.Listener) {
			l.VirtualHosts[0].ClientAuth.CAPEM = []byte(strings.Repeat(string(other.ChainPEM), lbconfig.MaxBackendCAPEMBytes/len(other.ChainPEM)+1))
		}, f + ".caPEM"},
		"unknown mode":  {func(l *lbconfig.Listener) { l.VirtualHosts[0].ClientAuth.Mode = "on" }, f + ".mode"},
		"no mode":       {func(l *lbconfig.Listener) { l.VirtualHosts[0].ClientAuth.Mode = "" }, f + ".mode"},
		"depth < 0":     {func(l *lbconfig.Listener) { l.VirtualHosts[0].ClientAuth.Depth = -1 }, f + ".depth"},
		"depth too big": {func(l *lbconfig.Listener) { l.VirtualHosts[0].ClientAuth.Depth = lbconfig.MaxClientAuthDepth + 1 }, f + ".depth"},
		"HTTP listener": {func(l *lbconfig.Listener) { l.Protocol, l.Port = lbconfig.ProtocolHTTP, 80 }, f},
		"passthrough": {func(l *lbconfig.Listener) {
			l.VirtualHosts[0].Routes = nil
			l.VirtualHosts[0].Passthrough = &lbconfig.BackendRef{Name: "ns/web:80"}
		}, f},
	} {
		t.Run(name, func(t *testing.T) {
			c := clientAuthConfig(t)
			tc.mutate(&c.LoadBalancers[0].Listeners[0])
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("got %v, want an error at %s", err, tc.field)
			}
		})
	}
}

func TestClientAuthSame(t *testing.T) {
	a := clientAuthConfig(t).LoadBalancers[0].Listeners[0].VirtualHosts[0].ClientAuth
	b := *a
	b.PassCertificate = false
	switch {
	case !a.Same(&b):
		t.Error("passing the certificate or not needs no other handshake")
	case a.Same(nil) || (*lbconfig.ClientAuth)(nil).Same(a):
		t.Error("client auth is the same as none")
	case !(*lbconfig.ClientAuth)(nil).Same(nil):
		t.Error("none is not none")
	}
	b.Mode = lbconfig.ClientAuthOptional
	if a.Same(&b) {
		t.Error("another mode is the same")
	}
	b.Mode, b.CAPEM = a.Mode, append([]byte(nil), a.CAPEM[:len(a.CAPEM)-1]...)
	if a.Same(&b) {
		t.Error("another CA is the same")
	}
}

func TestIsClientCertHeader(t *testing.T) {
	for _, name := range []string{"ssl-client-verify", "SSL-Client-Verify", "ssl_client_verify", "Ssl_Client-Subject_DN", "ssl-client-issuer-dn", "SSL_CLIENT_CERT"} {
		if !lbconfig.IsClientCertHeader(name) {
			t.Errorf("%q is not a client certificate header", name)
		}
	}
	for _, name := range []string{"", "ssl-client", "ssl-client-verifyx", "xssl-client-verify", "ssl.client.verify", "ssl-client-dn", "ssl--client-verify"} {
		if lbconfig.IsClientCertHeader(name) {
			t.Errorf("%q is a client certificate header", name)
		}
	}
	sp := lbconfig.ClientCertHeaderSpellings()
	if len(sp) != 4+8+8+4 {
		t.Errorf("%d spellings: %q", len(sp), sp)
	}
	for _, s := range sp {
		if !lbconfig.IsClientCertHeader(s) {
			t.Errorf("spelling %q is not matched", s)
		}
	}
}
