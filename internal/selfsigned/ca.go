package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"time"
)

// Usage is what a certificate issued by a CA is for.
type Usage int

// Usages of issued certificates.
const (
	ServerAuth Usage = iota
	ClientAuth
)

// NewCA makes a self-signed CA certificate called cn, valid from an hour
// ago for validity, that Issue signs certificates with.
func NewCA(cn string, validity time.Duration) (*Certificate, error) {
	key, tmpl, err := template(cn, validity)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	return finish(tmpl, tmpl, key, key)
}

// Issue makes a certificate called cn for hosts (DNS names, possibly
// none), for usage, signed by ca (made by NewCA).
func (ca *Certificate) Issue(cn string, validity time.Duration, usage Usage, hosts ...string) (*Certificate, error) {
	caKey, ok := ca.TLS.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || ca.Leaf == nil || !ca.Leaf.IsCA {
		return nil, errors.New("selfsigned: the issuer is not a CA made by NewCA")
	}
	key, tmpl, err := template(cn, validity)
	if err != nil {
		return nil, err
	}
	tmpl.DNSNames = hosts
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if usage == ClientAuth {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return finish(tmpl, ca.Leaf, key, caKey)
}

// template returns a new key and the template of a certificate called cn
// for it, valid from an hour ago for validity.
func template(cn string, validity time.Duration) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	return key, &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		BasicConstraintsValid: true,
	}, nil
}

func finish(tmpl, parent *x509.Certificate, key, signer *ecdsa.PrivateKey) (*Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Certificate{
		ChainPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Leaf:     leaf,
		TLS:      tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
	}, nil
}
