package lbconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
)

// BackendTLS says how a provider speaks TLS to the endpoints of an HTTPS
// or GRPCS backend. A backend of those protocols without it speaks TLS
// without checking the endpoint's certificate and without SNI or a client
// certificate.
//
// With Verify, a connection whose endpoint's certificate does not chain
// to CAPEM or is not for ServerName is closed before a request is sent,
// and the request answers 502. ServerName is the name checked (with
// Verify) and sent as SNI (with SNI); it is never taken from the request.
type BackendTLS struct {
	// Verify checks the endpoint's certificate against CAPEM and
	// ServerName.
	Verify bool `json:"verify,omitempty"`
	// CAPEM are the PEM certificates of the CAs trusted to sign the
	// endpoints' certificates; needed with Verify, and only then used.
	CAPEM []byte `json:"caPEM,omitempty"`
	// ServerName is a lower-case DNS name (no wildcard); needed with
	// Verify or SNI.
	ServerName string `json:"serverName,omitempty"`
	// SNI sends ServerName in the TLS ClientHello.
	SNI bool `json:"sni,omitempty"`
	// SubjectAltNames, if any, are checked with Verify instead of
	// ServerName: the endpoint's certificate must hold one of them.
	SubjectAltNames []SubjectAltName `json:"subjectAltNames,omitempty"`
	// ClientCertificatePEM (a chain, leaf first) and ClientKeyPEM, if
	// set, are the certificate sent to endpoints that ask for one.
	ClientCertificatePEM []byte `json:"clientCertificatePEM,omitempty"`
	ClientKeyPEM         []byte `json:"-"` // never serialized, so never logged
	// MinVersion and MaxVersion bound the TLS versions offered: "",
	// TLS12 or TLS13; "" is TLS12 for MinVersion and TLS13 for
	// MaxVersion.
	MinVersion TLSVersion `json:"minVersion,omitempty"`
	MaxVersion TLSVersion `json:"maxVersion,omitempty"`
}

// SubjectAltName is a name an endpoint's certificate may be for: a DNS
// name or a URI (a SPIFFE ID, say), exactly one of them set.
type SubjectAltName struct {
	DNS string `json:"dns,omitempty"`
	URI string `json:"uri,omitempty"`
}

// MaxSubjectAltNames bounds the SubjectAltNames of a backend (Gateway
// API allows 5).
const MaxSubjectAltNames = 16

// maxSANURIBytes bounds a URI SubjectAltName.
const maxSANURIBytes = 2048

// TLSVersion is a version of TLS, written as OpenSSL and HAProxy write it.
type TLSVersion string

// TLS versions a backend may be spoken to with. Older ones are not
// offered: both providers' TLS libraries refuse them by default.
const (
	TLS12 TLSVersion = "TLSv1.2"
	TLS13 TLSVersion = "TLSv1.3"
)

// MaxBackendCAPEMBytes bounds a CA bundle, so that neither the controller
// nor a provider parses without bound (about 500 certificates).
const MaxBackendCAPEMBytes = 1 << 20

// Std returns the crypto/tls constant of v; "" is def.
func (v TLSVersion) Std(def uint16) uint16 {
	switch v {
	case TLS12:
		return tls.VersionTLS12
	case TLS13:
		return tls.VersionTLS13
	}
	return def
}

// CAPool parses a CA bundle: at least one certificate, PEM blocks of type
// CERTIFICATE only, nothing else but space between them.
func CAPool(caPEM []byte) (*x509.CertPool, error) {
	if len(caPEM) > MaxBackendCAPEMBytes {
		return nil, fmt.Errorf("the CA bundle is larger than %d bytes", MaxBackendCAPEMBytes)
	}
	pool := x509.NewCertPool()
	rest, n := caPEM, 0
	for len(bytes.TrimSpace(rest)) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("the CA bundle holds something other than PEM certificates")
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("the CA bundle holds a PEM block of type %q, not CERTIFICATE", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("the CA bundle holds no certificate")
	}
	return pool, nil
}

// backendTLS checks t, the TLS of a backend speaking proto.
func (v *validator) backendTLS(f string, proto BackendProtocol, t *BackendTLS) {
	if t == nil {
		return
	}
	if proto != BackendHTTPS && proto != BackendGRPCS {
		v.add(f, fmt.Sprintf("only HTTPS and GRPCS backends speak TLS, not %q", proto))
	}
	if t.Verify {
		if _, err := CAPool(t.CAPEM); err != nil {
			v.add(f+".caPEM", err.Error())
		}
	} else if len(t.CAPEM) > 0 {
		v.add(f+".caPEM", "is only used with verify")
	}
	switch {
	case t.ServerName == "" && (t.Verify || t.SNI):
		v.add(f+".serverName", "is needed with verify or sni")
	case t.ServerName != "":
		if err := CheckServerName(t.ServerName); err != nil {
			v.add(f+".serverName", err.Error())
		}
	}
	v.subjectAltNames(f+".subjectAltNames", t)
	if len(t.ClientCertificatePEM) > 0 || len(t.ClientKeyPEM) > 0 {
		if err := CheckClientCertificate(t.ClientCertificatePEM, t.ClientKeyPEM); err != nil {
			v.add(f+".clientCertificatePEM", err.Error()) // backendcert.go
		}
	}
	for _, ver := range []struct {
		field string
		v     TLSVersion
	}{{".minVersion", t.MinVersion}, {".maxVersion", t.MaxVersion}} {
		if ver.v != "" && ver.v != TLS12 && ver.v != TLS13 {
			v.add(f+ver.field, fmt.Sprintf("%q is not %s or %s", ver.v, TLS12, TLS13))
		}
	}
	if t.MinVersion.Std(tls.VersionTLS12) > t.MaxVersion.Std(tls.VersionTLS13) {
		v.add(f+".maxVersion", fmt.Sprintf("%s is older than minVersion %s", t.MaxVersion, t.MinVersion))
	}
}

// subjectAltNames checks the SubjectAltNames of t at f.
func (v *validator) subjectAltNames(f string, t *BackendTLS) {
	if len(t.SubjectAltNames) == 0 {
		return
	}
	if !t.Verify {
		v.add(f, "are only used with verify")
	}
	if len(t.SubjectAltNames) > MaxSubjectAltNames {
		v.add(f, fmt.Sprintf("more than %d names", MaxSubjectAltNames))
		return
	}
	for i, san := range t.SubjectAltNames {
		if err := CheckSubjectAltName(san); err != nil {
			v.add(fmt.Sprintf("%s[%d]", f, i), err.Error())
		}
	}
}

// CheckSubjectAltName returns an error unless san is one DNS name, as
// CheckServerName has it, or one absolute URI of printable ASCII without
// spaces.
func CheckSubjectAltName(san SubjectAltName) error {
	switch {
	case (san.DNS == "") == (san.URI == ""):
		return errors.New("exactly one of dns and uri must be set")
	case san.DNS != "":
		return CheckServerName(san.DNS)
	case len(san.URI) > maxSANURIBytes:
		return fmt.Errorf("the uri is longer than %d bytes", maxSANURIBytes)
	}
	for i := 0; i < len(san.URI); i++ {
		if c := san.URI[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("uri %q holds a byte other than printable ASCII", san.URI)
		}
	}
	u, err := url.Parse(san.URI)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("uri %q is not an absolute URI", san.URI)
	}
	return nil
}

// CheckServerName returns an error unless name is a lower-case DNS name
// without wildcard, as a backend's certificate is checked against and
// sent as SNI.
func CheckServerName(name string) error {
	if name == "" {
		return errors.New("a server name must not be empty")
	}
	if name[0] == '*' {
		return fmt.Errorf("server name %q must not be a wildcard", name)
	}
	return CheckHostname(name)
}
