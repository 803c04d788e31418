// Package selfsigned makes self-signed ECDSA P-256 certificates: the
// default certificate that providers serve to names no certificate of the
// config covers, and certificates for tests.
package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"
)

// DefaultName is the common name of the providers' default certificate,
// for no host, so that clients see at once that it is not the site's.
const DefaultName = "ingress-controller default"

// Certificate is a certificate with its key, as PEM and parsed.
type Certificate struct {
	ChainPEM []byte
	KeyPEM   []byte
	Leaf     *x509.Certificate
	TLS      tls.Certificate
}

// New makes a certificate called cn for hosts (DNS names, possibly none),
// valid from an hour ago for validity.
func New(cn string, validity time.Duration, hosts ...string) (*Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              hosts,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	return finish(tmpl, tmpl, key, key)
}
