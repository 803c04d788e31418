package lbconfig

import (
	"fmt"
	"slices"
	"strings"
)

// ClientAuth asks the TLS clients of a virtual host for a certificate and
// checks it against CAPEM: mutual TLS, as ingress-nginx's auth-tls-*
// annotations and Gateway API's frontend validation ask.
//
// The certificate is asked for during the handshake, which the server
// name (SNI) picks a virtual host for; a request whose Host picks a
// virtual host with other client authentication than the server name's
// answers 421 (Misdirected Request), so a connection made for one host
// (or reused for another, as HTTP/2 coalescing does) never reaches a
// host that asks more of its clients.
type ClientAuth struct {
	// CAPEM are the PEM certificates of the CAs that sign the clients'
	// certificates (CAPool checks it).
	CAPEM []byte `json:"caPEM"`
	// Mode says which clients are served.
	Mode ClientAuthMode `json:"mode"`
	// Depth, if not 0, bounds the certificates above the client's in
	// its verified chain: 1 takes only certificates a CA of CAPEM
	// signed. 0 sets no bound.
	Depth int32 `json:"depth,omitempty"`
	// PassCertificate sends the backend the outcome of the check and
	// the client's certificate in request headers (ClientCertHeaders).
	// Those headers are removed from every request of the virtual host
	// whatever this says, so that a client can never send its own.
	PassCertificate bool `json:"passCertificate,omitempty"`
}

// ClientAuthMode says which clients a ClientAuth serves.
type ClientAuthMode string

// Client authentication modes, named after ingress-nginx's
// auth-tls-verify-client values.
const (
	// ClientAuthRequired serves only clients with a certificate that
	// CAPEM verifies (ingress-nginx "on", Gateway API AllowValidOnly).
	ClientAuthRequired ClientAuthMode = "Required"
	// ClientAuthOptional serves clients without a certificate too, but
	// refuses a certificate that CAPEM does not verify (ingress-nginx
	// "optional").
	ClientAuthOptional ClientAuthMode = "Optional"
	// ClientAuthOptionalNoCA asks for a certificate and serves every
	// client, whether it sends one or not and whether it verifies or
	// not; the backend decides from the headers (ingress-nginx
	// "optional_no_ca", Gateway API AllowInsecureFallback).
	ClientAuthOptionalNoCA ClientAuthMode = "OptionalNoCA"
)

// MaxClientAuthDepth bounds ClientAuth.Depth.
const MaxClientAuthDepth = 16

// ClientCertHeaders are the request headers that carry a client
// certificate to the backend, as ingress-nginx names them: the check's
// outcome ("SUCCESS", "NONE" without a certificate, "FAILED:<reason>"),
// the subject and issuer distinguished names (RFC 2253), and the
// certificate, PEM, URL-escaped.
var ClientCertHeaders = [4]string{ClientVerifyHeader, "ssl-client-subject-dn", "ssl-client-issuer-dn", "ssl-client-cert"}

// ClientVerifyHeader is the first of ClientCertHeaders.
const ClientVerifyHeader = "ssl-client-verify"

// IsClientCertHeader reports whether a request field name is one of
// ClientCertHeaders, case aside and with "_" for any "-": servers that
// map field names to variables (CGI, WSGI) read "ssl_client_verify" as
// "ssl-client-verify", so a client must not send either.
func IsClientCertHeader(name string) bool {
	for _, h := range ClientCertHeaders {
		if len(name) == len(h) && sameSpelling(name, h) {
			return true
		}
	}
	return false
}

func sameSpelling(name, h string) bool {
	for i := 0; i < len(h); i++ {
		c := name[i] | 0x20 // lower case for letters; '-' and '_' stay apart
		if c != h[i] && !(h[i] == '-' && name[i] == '_') {
			return false
		}
	}
	return true
}

// ClientCertHeaderSpellings are the spellings of ClientCertHeaders with
// "-" or "_" at each separator, which IsClientCertHeader matches (case
// aside), sorted.
func ClientCertHeaderSpellings() []string {
	var out []string
	for _, h := range ClientCertHeaders {
		names := []string{""}
		for _, part := range strings.Split(h, "-") {
			var next []string
			for _, n := range names {
				if n == "" {
					next = append(next, part)
					continue
				}
				next = append(next, n+"-"+part, n+"_"+part)
			}
			names = next
		}
		out = append(out, names...)
	}
	slices.Sort(out)
	return out
}

// Same reports whether a and b (either may be nil) authenticate clients
// alike, so that one handshake serves both.
func (a *ClientAuth) Same(b *ClientAuth) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Mode == b.Mode && a.Depth == b.Depth && string(a.CAPEM) == string(b.CAPEM)
}

// clientAuth checks the ClientAuth of a virtual host on a listener of
// protocol proto.
func (v *validator) clientAuth(f string, proto Protocol, vh *VirtualHost) {
	a := vh.ClientAuth
	if a == nil {
		return
	}
	switch {
	case proto != ProtocolHTTPS:
		v.add(f, "only virtual hosts of HTTPS listeners authenticate clients")
	case vh.Passthrough != nil:
		v.add(f, "a passthrough virtual host does not terminate TLS, so it cannot authenticate clients")
	}
	if _, err := CAPool(a.CAPEM); err != nil {
		v.add(f+".caPEM", err.Error())
	}
	switch a.Mode {
	case ClientAuthRequired, ClientAuthOptional, ClientAuthOptionalNoCA:
	default:
		v.add(f+".mode", fmt.Sprintf("unknown mode %q", a.Mode))
	}
	if a.Depth < 0 || a.Depth > MaxClientAuthDepth {
		v.add(f+".depth", fmt.Sprintf("%d is not between 0 and %d", a.Depth, MaxClientAuthDepth))
	}
}
