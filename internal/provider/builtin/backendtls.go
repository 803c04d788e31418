package builtin

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// TLS to backends with settings of their own (lbconfig.BackendTLS), and
// GRPCS. Each such backend gets a tls.Config made at Apply and a
// transport of its own, made on first use, whose connections only that
// configuration ever made: a changed setting is a new transport, so no
// request goes out on a connection verified (or not) under the old one.
// The next table takes over the transport of an unchanged backend, pool
// and all; Apply closes the idle connections of the transports no
// backend has any more.
//
// The endpoint's certificate is checked by VerifyConnection rather than
// by crypto/tls's own check, which would also send the name it checks as
// SNI: here the name to check and whether to send it are separate
// settings, as in nginx and HAProxy. A certificate that fails fails the
// handshake, before any byte of the request is sent; the ReverseProxy's
// error handler answers 502 and logs it with the backend's name.

// backendTLS is the TLS of one backend and the reverse proxy that speaks
// it.
type backendTLS struct {
	// key is the protocol and a digest of the settings: equal keys
	// mean equal tls.Configs.
	key    string
	config *tls.Config
	grpc   bool

	mu        sync.Mutex
	transport *http.Transport
	proxy     *httputil.ReverseProxy
}

// compileBackendTLS returns the TLS of b, an HTTPS or GRPCS backend: prev's
// when it has one with the same key, else a new one; nil for an HTTPS
// backend without settings, which the shared transport serves.
func compileBackendTLS(b *lbconfig.Backend, prev map[string]*backendTLS) (*backendTLS, error) {
	if b.TLS == nil && b.Protocol != lbconfig.BackendGRPCS {
		return nil, nil
	}
	key := backendTLSKey(b)
	if bt := prev[key]; bt != nil {
		return bt, nil
	}
	cfg, err := clientTLSConfig(b.TLS)
	if err != nil {
		return nil, fmt.Errorf("backend %q: tls: %w", b.Name, err)
	}
	return &backendTLS{key: key, config: cfg, grpc: b.Protocol == lbconfig.BackendGRPCS}, nil
}

// backendTLSKey digests everything that makes a backend's tls.Config and
// transport, the key included.
func backendTLSKey(b *lbconfig.Backend) string {
	h := sha256.New()
	field := func(v []byte) {
		var n [8]byte
		for i := range n {
			n[i] = byte(len(v) >> (8 * i))
		}
		h.Write(n[:])
		h.Write(v)
	}
	field([]byte(b.Protocol))
	if t := b.TLS; t != nil {
		flags := []byte{0, 0}
		if t.Verify {
			flags[0] = 1
		}
		if t.SNI {
			flags[1] = 1
		}
		field(flags)
		field(t.CAPEM)
		field([]byte(t.ServerName))
		field(t.ClientCertificatePEM)
		field(t.ClientKeyPEM)
		field([]byte(t.MinVersion))
		field([]byte(t.MaxVersion))
		for _, san := range t.SubjectAltNames {
			field([]byte(san.DNS))
			field([]byte(san.URI))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// clientTLSConfig makes the tls.Config of t (nil: no settings).
func clientTLSConfig(t *lbconfig.BackendTLS) (*tls.Config, error) {
	cfg := &tls.Config{
		// Checked by VerifyConnection, with Verify; never by name
		// otherwise: most in-cluster backends have self-signed
		// certificates.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
	}
	if t == nil {
		return cfg, nil
	}
	cfg.MinVersion = t.MinVersion.Std(tls.VersionTLS12)
	cfg.MaxVersion = t.MaxVersion.Std(tls.VersionTLS13)
	if t.SNI {
		cfg.ServerName = t.ServerName
	}
	if t.Verify {
		pool, err := lbconfig.CAPool(t.CAPEM)
		if err != nil {
			return nil, err
		}
		cfg.VerifyConnection = verifier(pool, t.ServerName, t.SubjectAltNames)
	}
	if len(t.ClientCertificatePEM) > 0 {
		pair, err := tls.X509KeyPair(t.ClientCertificatePEM, t.ClientKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		// Sent whenever asked, whatever CAs the endpoint names, as nginx
		// and HAProxy send theirs.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return cfg, nil
}

// errNoPeerCertificate is a handshake without the endpoint's certificate.
var errNoPeerCertificate = errors.New("the endpoint sent no certificate")

// verifier checks that the endpoint's certificate chains to pool and is
// for name, or, with sans, for one of them.
func verifier(pool *x509.CertPool, name string, sans []lbconfig.SubjectAltName) func(tls.ConnectionState) error {
	if len(sans) > 0 {
		name = ""
	}
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errNoPeerCertificate
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		leaf := cs.PeerCertificates[0]
		_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: name})
		if err != nil {
			return fmt.Errorf("backend certificate not verified for %q: %w", name, err)
		}
		if len(sans) > 0 && !slices.ContainsFunc(sans, func(san lbconfig.SubjectAltName) bool { return hasSAN(leaf, san) }) {
			return errors.New("backend certificate holds none of the subject alternative names asked for")
		}
		return nil
	}
}

// hasSAN reports whether cert is for san: a DNS name as crypto/x509
// matches host names (wildcards included), a URI byte for byte.
func hasSAN(cert *x509.Certificate, san lbconfig.SubjectAltName) bool {
	if san.DNS != "" {
		return cert.VerifyHostname(san.DNS) == nil
	}
	return slices.ContainsFunc(cert.URIs, func(u *url.URL) bool { return u.String() == san.URI })
}

// reverseProxy returns bt's reverse proxy, made on first use.
func (bt *backendTLS) reverseProxy(p *Provider) *httputil.ReverseProxy {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.proxy == nil {
		tr := &http.Transport{
			Proxy:                 nil,
			DialContext:           p.dialTarget,
			TLSClientConfig:       bt.config,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   maxIdlePerEndpoint,
			IdleConnTimeout:       idleTimeout,
			ExpectContinueTimeout: expectContinueTimeout,
			DisableCompression:    true,
		}
		if bt.grpc {
			// HTTP/2 only, offered by ALPN.
			tr.Protocols = new(http.Protocols)
			tr.Protocols.SetHTTP2(true)
			tr.HTTP2 = &http.HTTP2Config{SendPingTimeout: 30 * time.Second}
		}
		bt.transport = tr
		bt.proxy = p.reverseProxy("https", tr)
	}
	return bt.proxy
}

// closeIdle closes the idle connections of bt's transport, if made.
// Requests still in flight on an old table may leave some idle again,
// which the idle timeout closes.
func (bt *backendTLS) closeIdle() {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.transport != nil {
		bt.transport.CloseIdleConnections()
	}
}

// backendTLSByKey returns the backends' TLS of t by key; nil t has none.
func backendTLSByKey(t *table) map[string]*backendTLS {
	if t == nil {
		return nil
	}
	m := map[string]*backendTLS{}
	for _, b := range t.backends {
		if b.tls != nil {
			m[b.tls.key] = b.tls
		}
	}
	return m
}

// closeDroppedTLS closes the idle connections of the transports that old
// had and cur does not.
func closeDroppedTLS(old, cur *table) {
	kept := backendTLSByKey(cur)
	for key, bt := range backendTLSByKey(old) {
		if kept[key] != bt {
			bt.closeIdle()
		}
	}
}
