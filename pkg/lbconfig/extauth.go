package lbconfig

import (
	"fmt"
	"net/netip"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"ingress-controller/internal/clip"
)

// ExternalAuth asks an authentication server whether to serve each
// request of a route, as ingress-nginx's auth-url does. The check comes
// after Access, the redirects, the rate limit, a CORS preflight and
// BasicAuth, and before the route's header changes and rewrite.
//
// The subrequest goes to URL with Method and without a body. It carries
// the client's header fields less the hop-by-hop and framing ones (so
// its cookies and Authorization too), with Host set to URL's host and
// these set by the load balancer, replacing any the client sent:
//
//	X-Original-URL           <scheme>://<Host of the request><path and query>
//	X-Original-Method        the request's method
//	X-Original-URI           the path and query
//	X-Sent-From              nginx-ingress-controller (what auth servers
//	                         written for ingress-nginx look for)
//	X-Real-IP, X-Forwarded-For  the client's address (the TCP peer)
//	X-Forwarded-Host, -Proto, -Port  as sent to backends
//	X-Auth-Request-Redirect  RequestRedirect, else the path and query
//
// The path and query are the normalized ones the route matched
// (NormalizePath), as the backend gets them before a rewrite.
//
// What the answer does:
//
//   - 2xx: the request is served; each field of ResponseHeaders that the
//     answer holds replaces the client's field of that name on the
//     request the backend gets. A listed field the answer does not hold
//     is removed from the request anyway, so that a client cannot forge
//     it.
//   - 401: with SigninURL, 302 to SigninURL with the query parameter
//     RedirectParam set to the original URL, every byte but letters,
//     digits and "-._~" percent-encoded (unless SigninURL already has
//     that parameter); without, 401 to the client, with the answer's
//     WWW-Authenticate fields.
//   - 403: 403 to the client.
//   - anything else (redirects are not followed), a head over
//     MaxAuthAnswerHeaderBytes, a copied or WWW-Authenticate field with
//     a control character, no answer within Timeout, or a failed
//     connect: 500.
//
// The request reaches the backend only after a 2xx: the check fails
// closed.
//
// The answer's Set-Cookie fields (the first MaxAuthCookies, whatever its
// status) are added to the response the client gets when its status is
// one of SetCookieStatuses, or to every response with AlwaysSetCookie,
// as ingress-nginx's add_header does: an auth server can renew its
// session cookie.
type ExternalAuth struct {
	// URL is an absolute http or https URL (CheckExternalAuthURL).
	URL string `json:"url"`
	// Method is the subrequest's method; empty means GET.
	Method string `json:"method,omitempty"`
	// SigninURL, if set, is where a 401 sends the client: an absolute
	// http or https URL, which may hold the variables of
	// SigninVariables (CheckSigninURL).
	SigninURL string `json:"signinURL,omitempty"`
	// RedirectParam is the query parameter of SigninURL that carries the
	// original URL; empty means DefaultRedirectParam.
	RedirectParam string `json:"redirectParam,omitempty"`
	// RequestRedirect, if set, is the X-Auth-Request-Redirect value sent
	// to the auth server, instead of the request target.
	RequestRedirect string `json:"requestRedirect,omitempty"`
	// ResponseHeaders are the fields copied from a 2xx answer to the
	// request: canonical (textproto) names, sorted, each once, at most
	// MaxAuthResponseHeaders, none a hop-by-hop, framing or Host field.
	ResponseHeaders []string `json:"responseHeaders,omitempty"`
	// Timeout bounds the whole subrequest, from connect to the answer's
	// head; zero means DefaultExternalAuthTimeout.
	Timeout Duration `json:"timeout,omitzero"`
	// AlwaysSetCookie adds the answer's cookies to every response, also
	// the 401, 403 and 500 of the check itself.
	AlwaysSetCookie bool `json:"alwaysSetCookie,omitempty"`
	// Backend, if set, is where the subrequest goes instead of URL's
	// host: one of the backend's ready endpoints (see authservice.go).
	// URL, then http, still gives the target and the Host field.
	Backend *BackendRef `json:"backend,omitempty"`
}

// SetCookieStatuses are the statuses of the responses that get the auth
// server's cookies without AlwaysSetCookie: nginx's add_header's.
var SetCookieStatuses = []int{200, 201, 204, 206, 301, 302, 303, 304, 307, 308}

// MaxAuthCookies is how many Set-Cookie fields of an answer are passed
// on; the rest are dropped.
const MaxAuthCookies = 8

// Defaults and limits of ExternalAuth.
const (
	DefaultRedirectParam = "rd"
	// DefaultExternalAuthTimeout is nginx's proxy_read_timeout, which
	// bounds ingress-nginx's auth subrequest (its auth location sets no
	// timeout of its own).
	DefaultExternalAuthTimeout = 60 * time.Second
	MaxExternalAuthTimeout     = 10 * time.Minute
	MaxAuthResponseHeaders     = 32
	// MaxAuthAnswerHeaderBytes bounds the head of the auth server's
	// answer a provider reads; a longer one fails the check (500).
	MaxAuthAnswerHeaderBytes = 16 << 10
	// MaxAuthAnswerBodyBytes is how much of the answer's body a provider
	// reads to keep the connection; a longer body closes it.
	MaxAuthAnswerBodyBytes = 64 << 10
)

// ExternalAuthMethods are the methods the subrequest may use, as
// ingress-nginx allows them.
var ExternalAuthMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}

// SentFrom is the X-Sent-From value of the subrequest.
const SentFrom = "nginx-ingress-controller"

// EffectiveTimeout is Timeout, or the default.
func (a *ExternalAuth) EffectiveTimeout() time.Duration {
	if a.Timeout <= 0 {
		return DefaultExternalAuthTimeout
	}
	return time.Duration(a.Timeout)
}

// EffectiveMethod is Method, or GET.
func (a *ExternalAuth) EffectiveMethod() string {
	if a.Method == "" {
		return "GET"
	}
	return a.Method
}

// EffectiveRedirectParam is RedirectParam, or the default.
func (a *ExternalAuth) EffectiveRedirectParam() string {
	if a.RedirectParam == "" {
		return DefaultRedirectParam
	}
	return a.RedirectParam
}

// SigninHasParam reports whether SigninURL already carries the redirect
// parameter, which is then not added.
func (a *ExternalAuth) SigninHasParam() bool {
	u, err := url.Parse(ExpandSignin(a.SigninURL, sampleRequest))
	return err == nil && u.Query().Get(a.EffectiveRedirectParam()) != ""
}

// SigninRequest is what the variables of a sign-in URL are expanded from.
type SigninRequest struct {
	// Scheme is http or https, the listener's.
	Scheme string
	// Host is the request's host without port, lower case, and HostPort
	// the Host field as sent; both checked by CheckSigninHost.
	Host, HostPort string
	// RequestURI is the path and query.
	RequestURI string
}

// SigninVariables are the variables a SigninURL may hold, expanded per
// request as nginx expands them in ingress-nginx's auth-signin:
//
//	$scheme               http or https, the listener's
//	$host                 the request's host, lower case, without port
//	$http_host            the Host field as sent
//	$request_uri          the path and query
//	$escaped_request_uri  the path and query percent-encoded as a query
//	                      value (every byte but letters, digits, "-._~")
//
// A name runs as far as letters, digits and '_' go, as in nginx, so
// "$hostname" is not "$host" and is refused.
var SigninVariables = []string{"scheme", "host", "http_host", "request_uri", "escaped_request_uri"}

// sampleRequest stands in for a request where a sign-in URL is checked.
var sampleRequest = SigninRequest{Scheme: "https", Host: "example.com", HostPort: "example.com:8443", RequestURI: "/path?q=1"}

// ExpandSignin returns u with its variables expanded for r; a "$" that
// starts no variable is left as it is (CheckSigninURL refuses it).
func ExpandSignin(u string, r SigninRequest) string {
	if !strings.Contains(u, "$") {
		return u
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(u, '$')
		if i < 0 {
			b.WriteString(u)
			return b.String()
		}
		b.WriteString(u[:i])
		name := variableName(u[i+1:])
		switch name {
		case "scheme":
			b.WriteString(r.Scheme)
		case "host":
			b.WriteString(r.Host)
		case "http_host":
			b.WriteString(r.HostPort)
		case "request_uri":
			b.WriteString(r.RequestURI)
		case "escaped_request_uri":
			b.WriteString(EscapeQueryValue(r.RequestURI))
		default:
			b.WriteString("$" + name)
		}
		u = u[i+1+len(name):]
	}
}

// variableName is the nginx variable name s starts with.
func variableName(s string) string {
	n := 0
	for n < len(s) && (s[n] == '_' || 'a' <= s[n] && s[n] <= 'z' || 'A' <= s[n] && s[n] <= 'Z' || '0' <= s[n] && s[n] <= '9') {
		n++
	}
	return s[:n]
}

// EscapeQueryValue percent-encodes every byte of s but letters, digits
// and "-._~".
func EscapeQueryValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// CheckSigninURL returns an error unless u, its variables expanded for
// any request, is an absolute http or https URL (CheckExternalAuthURL),
// and every "$" in it starts one of SigninVariables.
func CheckSigninURL(u string) error {
	for rest := u; ; {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			break
		}
		name := variableName(rest[i+1:])
		if !slices.Contains(SigninVariables, name) {
			return fmt.Errorf("%q: $%s is not one of the variables $%s", clip.Value(u), clip.Value(name), strings.Join(SigninVariables, ", $"))
		}
		rest = rest[i+1+len(name):]
	}
	expanded := ExpandSignin(u, sampleRequest)
	if err := CheckExternalAuthURL(expanded); err != nil {
		if expanded == u {
			return err
		}
		return fmt.Errorf("%q, its variables expanded: %w", clip.Value(u), err)
	}
	return nil
}

// CheckSigninHost returns an error unless host (lower case, without
// port) is a DNS name or an IP address, and hostPort is it with an
// optional port: what a sign-in URL may take from a request.
func CheckSigninHost(host, hostPort string) error {
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil {
		if CheckHostname(host) != nil || host == "" || strings.HasPrefix(host, "*") {
			return fmt.Errorf("host %q is not a DNS name or an IP address", clip.Value(host))
		}
	}
	if len(hostPort) < len(host) || !strings.EqualFold(hostPort[:len(host)], host) {
		return fmt.Errorf("Host %q is not %q with an optional port", clip.Value(hostPort), clip.Value(host))
	}
	if port := hostPort[len(host):]; port != "" && (port[0] != ':' || len(port) == 1 || len(port) > 6 || strings.Trim(port[1:], "0123456789") != "") {
		return fmt.Errorf("Host %q is not %q with an optional port", clip.Value(hostPort), clip.Value(host))
	}
	return nil
}

// CheckExternalAuthURL returns an error unless u is an absolute http or
// https URL with a host (a DNS name or an IP address), an optional port,
// and no user information or fragment, at most MaxRedirectURL bytes of
// the characters a URL holds as they are.
func CheckExternalAuthURL(u string) error {
	if strings.HasPrefix(u, "/") {
		return fmt.Errorf("%q is not an absolute http or https URL", clip.Value(u))
	}
	if err := CheckRedirectURL(u); err != nil {
		return err
	}
	if strings.ContainsRune(u, '#') {
		return fmt.Errorf("%q must not hold a fragment", clip.Value(u))
	}
	return nil
}

// AuthURLParts splits a checked URL into what a client needs: whether it
// is https, the host as sent in Host, the host to connect to (brackets
// off), the port (the scheme's by default) and the request target.
func AuthURLParts(u string) (https bool, hostHeader, host string, port int, target string, err error) {
	p, err := url.Parse(u)
	if err != nil {
		return false, "", "", 0, "", err
	}
	https = p.Scheme == "https"
	port = 80
	if https {
		port = 443
	}
	if s := p.Port(); s != "" {
		if port, err = strconv.Atoi(s); err != nil {
			return false, "", "", 0, "", err
		}
	}
	target = p.EscapedPath()
	if target == "" {
		target = "/"
	}
	if p.RawQuery != "" {
		target += "?" + p.RawQuery
	}
	return https, p.Host, p.Hostname(), port, target, nil
}

// CheckRedirectParam returns an error unless p is a query parameter name
// of 1 to 64 letters, digits, '-', '_' and '.'.
func CheckRedirectParam(p string) error {
	if p == "" || len(p) > 64 {
		return fmt.Errorf("redirect parameter %q must have 1 to 64 characters", clip.Value(p))
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("redirect parameter %q holds %q; only letters, digits, '-', '_' and '.' are allowed", clip.Value(p), c)
		}
	}
	return nil
}

// authSetFields are the fields of the subrequest the load balancer sets,
// which the auth server's answer cannot be copied into either: a copy
// would read as the load balancer's word.
var authSetFields = []string{"host", "x-original-url", "x-original-method", "x-original-uri", "x-sent-from", "x-real-ip", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-auth-request-redirect"}

// CheckAuthResponseHeader returns an error unless name can be copied from
// the auth server's answer to the request: a header name that neither
// frames a message nor belongs to one hop, and not one the load balancer
// sets.
func CheckAuthResponseHeader(name string) error {
	if err := CheckHeaderName(name); err != nil {
		return err
	}
	lower := strings.ToLower(name)
	if slices.Contains(framingFields, lower) || slices.Contains(authSetFields, lower) {
		return fmt.Errorf("header %q is set by the load balancer or frames the message, and is not copied", clip.Value(name))
	}
	return nil
}

func (v *validator) externalAuth(f string, a *ExternalAuth, ref func(string, *BackendRef)) {
	if err := CheckExternalAuthURL(a.URL); err != nil {
		v.add(f+".url", err.Error())
	}
	v.authBackend(f, a, ref) // authservice.go
	if a.Method != "" && !slices.Contains(ExternalAuthMethods, a.Method) {
		v.add(f+".method", fmt.Sprintf("%q is not one of %s", clip.Value(a.Method), strings.Join(ExternalAuthMethods, ", ")))
	}
	if a.SigninURL != "" {
		if err := CheckSigninURL(a.SigninURL); err != nil {
			v.add(f+".signinURL", err.Error())
		}
	}
	if a.RedirectParam != "" {
		if err := CheckRedirectParam(a.RedirectParam); err != nil {
			v.add(f+".redirectParam", err.Error())
		}
	}
	if a.RequestRedirect != "" {
		if err := CheckHeaderValue(a.RequestRedirect); err != nil {
			v.add(f+".requestRedirect", err.Error())
		}
	}
	if len(a.ResponseHeaders) > MaxAuthResponseHeaders {
		v.add(f+".responseHeaders", fmt.Sprintf("%d fields, more than %d", len(a.ResponseHeaders), MaxAuthResponseHeaders))
	}
	for i, h := range a.ResponseHeaders {
		hf := fmt.Sprintf("%s.responseHeaders[%d]", f, i)
		switch err := CheckAuthResponseHeader(h); {
		case err != nil:
			v.add(hf, err.Error())
		case h != canonicalHeader(h):
			v.add(hf, fmt.Sprintf("%q is not in canonical form %q", h, canonicalHeader(h)))
		case i > 0 && a.ResponseHeaders[i-1] >= h:
			v.add(hf, fmt.Sprintf("%q must come after %q, once (sorted without duplicates)", h, a.ResponseHeaders[i-1]))
		}
	}
	if t := time.Duration(a.Timeout); t < 0 || t > MaxExternalAuthTimeout {
		v.add(f+".timeout", fmt.Sprintf("%s is not between 0 and %s", t, MaxExternalAuthTimeout))
	}
}

// sortExternalAuth puts the copied fields in canonical form and order.
func (a *ExternalAuth) sort() {
	for i, h := range a.ResponseHeaders {
		if CheckHeaderName(h) == nil {
			a.ResponseHeaders[i] = canonicalHeader(h)
		}
	}
	slices.Sort(a.ResponseHeaders)
	a.ResponseHeaders = slices.Compact(a.ResponseHeaders)
}

// canonicalHeader is name in textproto's canonical form.
func canonicalHeader(name string) string { return textproto.CanonicalMIMEHeaderKey(name) }
