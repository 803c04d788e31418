package lbconfig_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/selfsigned"
	"ingress-controller/pkg/lbconfig"
)

// TestCheckClientCertificate tries chains and keys that must not reach a
// provider: too large, mismatched, not PEM, half present.
func TestCheckClientCertificate(t *testing.T) {
	ca, err := selfsigned.NewCA("test ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue("client", time.Hour, selfsigned.ClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.Issue("other", time.Hour, selfsigned.ClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	crlf := bytes.ReplaceAll(client.ChainPEM, []byte("\n"), []byte("\r\n"))
	withCA := append(append([]byte(nil), client.ChainPEM...), ca.ChainPEM...)
	for name, tc := range map[string]struct {
		cert, key []byte
		ok        bool
	}{
		"pair":                 {client.ChainPEM, client.KeyPEM, true},
		"chain with its CA":    {withCA, client.KeyPEM, true},
		"CRLF line ends":       {crlf, client.KeyPEM, true},
		"key of another":       {client.ChainPEM, other.KeyPEM, false},
		"no key":               {client.ChainPEM, nil, false},
		"no certificate":       {nil, client.KeyPEM, false},
		"key as certificate":   {client.KeyPEM, client.KeyPEM, false},
		"not PEM":              {[]byte("tls.crt"), []byte("tls.key"), false},
		"NUL in the PEM":       {append([]byte("\x00"), client.ChainPEM...), client.KeyPEM, false},
		"chain too large":      {bytes.Repeat(client.ChainPEM, lbconfig.MaxClientCertificatePEMBytes/len(client.ChainPEM)+1), client.KeyPEM, false},
		"key padded too large": {client.ChainPEM, append([]byte(strings.Repeat("\n", lbconfig.MaxClientCertificatePEMBytes)), client.KeyPEM...), false},
	} {
		err := lbconfig.CheckClientCertificate(tc.cert, tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok %v", name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: the error quotes the key: %v", name, err)
		}
	}
}

// TestValidateClientCertificateSize: a chain over the bound is reported
// at its field, before any provider parses it.
func TestValidateClientCertificateSize(t *testing.T) {
	c, client := backendTLSConfig(t)
	c.Backends[0].TLS.ClientCertificatePEM = bytes.Repeat(client.ChainPEM, lbconfig.MaxClientCertificatePEMBytes/len(client.ChainPEM)+1)
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "backends[0].tls.clientCertificatePEM") || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v, want the chain's size reported at backends[0].tls.clientCertificatePEM", err)
	}
}
