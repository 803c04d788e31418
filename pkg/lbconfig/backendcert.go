package lbconfig

import (
	"crypto/tls"
	"fmt"
)

// MaxClientCertificatePEMBytes bounds a backend's client certificate
// chain and, apart, its key: a chain of a hundred certificates, and any
// key. Every provider parses them at each Apply, and HAProxy reads them
// from a file.
const MaxClientCertificatePEMBytes = 256 << 10

// CheckClientCertificate returns an error unless certPEM (a chain, leaf
// first) and keyPEM make a certificate and its private key within
// MaxClientCertificatePEMBytes each. The error never quotes key material.
func CheckClientCertificate(certPEM, keyPEM []byte) error {
	switch {
	case len(certPEM) > MaxClientCertificatePEMBytes:
		return fmt.Errorf("the client certificate chain is larger than %d bytes", MaxClientCertificatePEMBytes)
	case len(keyPEM) > MaxClientCertificatePEMBytes:
		return fmt.Errorf("the client certificate's key is larger than %d bytes", MaxClientCertificatePEMBytes)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("the client certificate and key do not make a pair: %w", err)
	}
	return nil
}
