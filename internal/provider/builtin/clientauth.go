package builtin

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Client certificates (lbconfig.ClientAuth). The handshake asks for one
// when the server name picks a virtual host with client authentication
// (GetConfigForClient gives it a config of its own); a request whose Host
// picks a virtual host that authenticates otherwise than the server
// name's answers 421, and on a listener with any such host the
// certificate headers are always removed from requests, then set for the
// hosts that pass the certificate on.

// clientAuth is one compiled lbconfig.ClientAuth, shared by the virtual
// hosts of a listener that authenticate alike, so that comparing
// pointers compares settings.
type clientAuth struct {
	mode  lbconfig.ClientAuthMode
	pool  *x509.CertPool
	depth int
	// roots holds the DER of the pool's certificates, the ends of
	// chains it verified.
	roots map[string]bool
}

// attachClientAuth compiles the ClientAuth of l's virtual hosts.
func attachClientAuth(pr *portRoutes, l lbconfig.Listener) error {
	var seen []*lbconfig.ClientAuth
	var compiled []*clientAuth
	for k, vh := range l.VirtualHosts {
		a := vh.ClientAuth
		if a == nil {
			continue
		}
		if l.Protocol != lbconfig.ProtocolHTTPS {
			return fmt.Errorf("virtual host %d (%q): clientAuth: only HTTPS listeners authenticate clients", k, vh.Hostname)
		}
		v := pr.vhostNamed(vh.Hostname)
		v.passCert = a.PassCertificate
		pr.clientAuth = true
		for i, s := range seen {
			if s.Same(a) {
				v.client = compiled[i]
				break
			}
		}
		if v.client != nil {
			continue
		}
		pool, err := lbconfig.CAPool(a.CAPEM)
		if err != nil {
			return fmt.Errorf("virtual host %d (%q): clientAuth: %w", k, vh.Hostname, err)
		}
		v.client = &clientAuth{mode: a.Mode, pool: pool, depth: int(a.Depth), roots: derSet(a.CAPEM)}
		seen, compiled = append(seen, a), append(compiled, v.client)
	}
	return nil
}

// clientAuthFor returns the client authentication of a handshake by
// server name, picked as its certificate is; nil asks for none.
func (pr *portRoutes) clientAuthFor(serverName string) *clientAuth {
	if !pr.clientAuth {
		return nil
	}
	if v := pr.vhostFor(lbconfig.NormalizeHost(serverName)); v != nil {
		return v.client
	}
	return nil
}

// clientConfig returns base as a handshake with client authentication a
// needs it. Session tickets are off: a ticket from a handshake that
// asked for less, or trusted other CAs, must not stand in for this one.
func (a *clientAuth) clientConfig(base *tls.Config) *tls.Config {
	c := base.Clone()
	c.GetConfigForClient = nil
	c.SessionTicketsDisabled = true
	c.ClientCAs = a.pool
	switch a.mode {
	case lbconfig.ClientAuthRequired:
		c.ClientAuth = tls.RequireAndVerifyClientCert
	case lbconfig.ClientAuthOptional:
		c.ClientAuth = tls.VerifyClientCertIfGiven
	default: // OptionalNoCA: checked for the headers only (verify)
		c.ClientAuth = tls.RequestClientCert
		return c
	}
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) > 0 && !a.deepEnough(cs.VerifiedChains) {
			return errTooDeep
		}
		return nil
	}
	return c
}

var errTooDeep = errors.New("the client certificate's chain is deeper than allowed")

// deepEnough reports whether a verified chain has at most depth
// certificates above the client's.
func (a *clientAuth) deepEnough(chains [][]*x509.Certificate) bool {
	if a.depth == 0 {
		return len(chains) > 0
	}
	for _, ch := range chains {
		if len(ch)-1 <= a.depth {
			return true
		}
	}
	return false
}

// derSet returns the DER of the certificates of caPEM, checked by
// lbconfig.CAPool.
func derSet(caPEM []byte) map[string]bool {
	set := map[string]bool{}
	for rest := caPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return set
		}
		set[string(b.Bytes)] = true
	}
}

// ownChains returns the chains of cs that a verified, or nil: a
// connection made while another table was in service may have been
// checked against other CAs, or not at all.
func (a *clientAuth) ownChains(cs *tls.ConnectionState) [][]*x509.Certificate {
	for _, ch := range cs.VerifiedChains {
		if len(ch) > 0 && a.roots[string(ch[len(ch)-1].Raw)] {
			return cs.VerifiedChains
		}
	}
	return nil
}

// admits reports whether a connection's handshake satisfies a.
func (a *clientAuth) admits(cs *tls.ConnectionState) bool {
	switch {
	case a.mode == lbconfig.ClientAuthOptionalNoCA:
		return true
	case len(cs.PeerCertificates) == 0:
		return a.mode == lbconfig.ClientAuthOptional
	}
	return a.deepEnough(a.ownChains(cs))
}

// verify is the ssl-client-verify value of a connection: "NONE" without
// a certificate, "SUCCESS" if it verifies, else "FAILED:<reason>".
func (a *clientAuth) verify(cs *tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return "NONE"
	}
	chains := a.ownChains(cs)
	if len(chains) == 0 {
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		var err error
		chains, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots: a.pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			return "FAILED:" + headerSafe(err.Error())
		}
	}
	if !a.deepEnough(chains) {
		return "FAILED:" + errTooDeep.Error()
	}
	return "SUCCESS"
}

// headerSafe keeps a reason to the bytes a header value may hold.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
}

// checkClientAuth answers 421 to a request on pr, a listener with client
// authentication, whose Host picks a virtual host that authenticates
// otherwise than the one its connection's server name picked, or whose
// connection's handshake does not satisfy it (one made before an Apply
// changed the host), and reports whether it did. Else it removes the certificate headers the
// client sent and sets them where the Host's virtual host asks.
func (pr *portRoutes) checkClientAuth(w http.ResponseWriter, r *http.Request) bool {
	if r.TLS == nil {
		return false
	}
	v := pr.vhostFor(lbconfig.NormalizeHost(r.Host))
	var a *clientAuth
	if v != nil {
		a = v.client
	}
	if a != pr.clientAuthFor(r.TLS.ServerName) || (a != nil && !a.admits(r.TLS)) {
		http.Error(w, misdirectedBody, http.StatusMisdirectedRequest)
		return true
	}
	for k := range r.Header {
		if lbconfig.IsClientCertHeader(k) {
			delete(r.Header, k)
		}
	}
	if a != nil && v.passCert {
		setClientCertHeaders(r.Header, a, r.TLS)
	}
	return false
}

const misdirectedBody = "421 misdirected request: this host needs a connection of its own"

// setClientCertHeaders writes lbconfig.ClientCertHeaders.
func setClientCertHeaders(h http.Header, a *clientAuth, cs *tls.ConnectionState) {
	h[lbconfig.ClientVerifyHeader] = []string{a.verify(cs)}
	if len(cs.PeerCertificates) == 0 {
		return
	}
	c := cs.PeerCertificates[0]
	h[lbconfig.ClientCertHeaders[1]] = []string{headerSafe(c.Subject.String())}
	h[lbconfig.ClientCertHeaders[2]] = []string{headerSafe(c.Issuer.String())}
	h[lbconfig.ClientCertHeaders[3]] = []string{escapeComponent(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))}
}

// escapeComponent percent-encodes every byte of b but the unreserved
// ones (RFC 3986), as ingress-nginx escapes the certificate.
func escapeComponent(b []byte) string {
	const hex = "0123456789ABCDEF"
	var s strings.Builder
	s.Grow(len(b) * 3 / 2)
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			s.WriteByte(c)
		default:
			s.WriteByte('%')
			s.WriteByte(hex[c>>4])
			s.WriteByte(hex[c&15])
		}
	}
	return s.String()
}
