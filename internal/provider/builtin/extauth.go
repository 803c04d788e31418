package builtin

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"ingress-controller/internal/provider/builtin/http1"
	"ingress-controller/pkg/lbconfig"
)

// External authentication (lbconfig.ExternalAuth): before a request of
// such a route is forwarded, net/http's path asks the auth server with a
// subrequest without body, on a client of the provider's own whose
// connections are pooled and bounded. The fast path hands such routes to
// net/http's path, so that routes without it keep their cost.
//
// The check fails closed: the request goes on only after a 2xx answer.
// The answer's head is bounded (MaxAuthAnswerHeaderBytes), its body read
// up to MaxAuthAnswerBodyBytes and dropped, and the whole exchange ends
// within the timeout, else 500.

const (
	// authMaxIdlePerHost and authMaxConnsPerHost bound the connections
	// to one auth server: those kept for the next subrequests, and those
	// open at once (more subrequests wait for one, within their
	// timeout).
	authMaxIdlePerHost  = 64
	authMaxConnsPerHost = 512
	authIdleTimeout     = 60 * time.Second
	authConnectTimeout  = 5 * time.Second
)

// newAuthClient returns the client of the subrequests: an answer that
// redirects is an answer (500), never followed.
func newAuthClient() *http.Client {
	return &http.Client{
		Transport:     newAuthTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newAuthTransport returns the transport of the subrequests: never an
// environment proxy, no compression asked for, bounded heads and pools.
func newAuthTransport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            (&net.Dialer{Timeout: authConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:    authMaxIdlePerHost,
		MaxConnsPerHost:        authMaxConnsPerHost,
		IdleConnTimeout:        authIdleTimeout,
		MaxResponseHeaderBytes: lbconfig.MaxAuthAnswerHeaderBytes,
		DisableCompression:     true,
		TLSHandshakeTimeout:    authConnectTimeout,
		ForceAttemptHTTP2:      false,
	}
}

// extAuth is a compiled lbconfig.ExternalAuth.
type extAuth struct {
	url, method     string
	signin, param   string
	addParam        bool
	requestRedirect string
	// copy are the fields copied from an allowing answer, canonical.
	copy    []string
	timeout time.Duration
	always  bool
	// service, if set, is where the subrequest goes (authservice.go).
	service *authService
}

func compileExtAuth(a *lbconfig.ExternalAuth, lookup func(*lbconfig.BackendRef) (*backend, error)) (*extAuth, error) {
	if a == nil {
		return nil, nil
	}
	service, err := compileAuthService(a, lookup)
	if err != nil {
		return nil, err
	}
	return &extAuth{
		service:         service,
		url:             a.URL,
		method:          a.EffectiveMethod(),
		signin:          a.SigninURL,
		param:           a.EffectiveRedirectParam(),
		addParam:        a.SigninURL != "" && !a.SigninHasParam(),
		requestRedirect: a.RequestRedirect,
		copy:            append([]string(nil), a.ResponseHeaders...),
		timeout:         a.EffectiveTimeout(),
		always:          a.AlwaysSetCookie,
	}, nil
}

// authFailedBody answers a request whose check failed.
const authFailedBody = "500 internal server error: the authentication service failed"

// authCookies are the auth server's Set-Cookie fields for the response.
type authCookies struct {
	values []string
	// always adds them whatever the status, else only to
	// lbconfig.SetCookieStatuses.
	always bool
}

// add adds the cookies to the head of a response of status.
func (c authCookies) add(h http.Header, status int) {
	if len(c.values) > 0 && (c.always || slices.Contains(lbconfig.SetCookieStatuses, status)) {
		h["Set-Cookie"] = append(h["Set-Cookie"], c.values...)
	}
}

// checkExtAuth asks rt's auth server about r and reports whether r may go
// on, with the answer's fields copied into it, and the cookies for its
// response; if not, it answered w and returns the status.
func (p *Provider) checkExtAuth(w http.ResponseWriter, r *http.Request, pr *portRoutes, a *extAuth) (int, authCookies, bool) {
	status, cookies, ok := p.judgeAuth(w, r, pr, a)
	if !ok && status != 0 {
		cookies.add(w.Header(), status)
		p.answerAuth(w, status)
	}
	return status, cookies, ok
}

// answerAuth writes the load balancer's answer of status to a request
// the check refused, the head already set.
func (p *Provider) answerAuth(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusFound:
		w.WriteHeader(status)
	case http.StatusUnauthorized:
		http.Error(w, "401 unauthorized", status)
	case http.StatusForbidden:
		http.Error(w, "403 forbidden", status)
	default:
		http.Error(w, authFailedBody, http.StatusInternalServerError)
	}
}

// judgeAuth asks the auth server and sets what the answer says on r or,
// for a refusal, on w's head; it returns the status to answer (0 when the
// client went away), the cookies, and whether r may go on.
func (p *Provider) judgeAuth(w http.ResponseWriter, r *http.Request, pr *portRoutes, a *extAuth) (int, authCookies, bool) {
	res, err := p.askAuth(r, pr, a)
	if err != nil {
		if r.Context().Err() != nil {
			return 0, authCookies{}, false // the client went away
		}
		p.log.Warn("external authentication failed", "url", a.url, "error", err)
		return http.StatusInternalServerError, authCookies{}, false
	}
	cookies := authCookies{values: res.header["Set-Cookie"], always: a.always}
	switch {
	case res.status >= 200 && res.status < 300:
		for _, name := range a.copy {
			// The client's own copy goes whatever the answer holds.
			delete(r.Header, name)
			if vs := res.header[name]; len(vs) > 0 {
				r.Header[name] = vs
			}
		}
		return 0, cookies, true
	case res.status == http.StatusUnauthorized && a.signin != "":
		loc, err := a.signinLocation(r, pr)
		if err != nil {
			p.log.Warn("external authentication: no sign-in URL for this request", "url", a.url, "error", err)
			return http.StatusInternalServerError, cookies, false
		}
		w.Header().Set("Location", loc)
		return http.StatusFound, cookies, false
	case res.status == http.StatusUnauthorized:
		if vs := res.header["Www-Authenticate"]; len(vs) > 0 {
			w.Header()["Www-Authenticate"] = vs
		}
		return http.StatusUnauthorized, cookies, false
	case res.status == http.StatusForbidden:
		return http.StatusForbidden, cookies, false
	}
	p.log.Warn("external authentication answered an unexpected status", "url", a.url, "status", res.status)
	return http.StatusInternalServerError, cookies, false
}

// authAnswer is what the check needs of the auth server's answer: its
// status and the fields it may pass on, checked.
type authAnswer struct {
	status int
	header http.Header
}

// askAuth sends the subrequest and reads the answer's head; its body is
// read up to a bound, so that the connection can serve the next one, and
// dropped.
func (p *Provider) askAuth(r *http.Request, pr *portRoutes, a *extAuth) (authAnswer, error) {
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	header := a.subrequestHeader(r, pr)
	var res *http.Response
	var err error
	if a.service != nil {
		res, err = p.askAuthService(ctx, a, header)
	} else {
		res, err = p.sendAuth(ctx, a.url, "", a.method, header)
	}
	if err != nil {
		return authAnswer{}, err
	}
	_, _ = io.CopyN(io.Discard, res.Body, lbconfig.MaxAuthAnswerBodyBytes)
	_ = res.Body.Close()
	out := authAnswer{status: res.StatusCode, header: http.Header{}}
	cookies := res.Header["Set-Cookie"]
	if len(cookies) > lbconfig.MaxAuthCookies {
		cookies = cookies[:lbconfig.MaxAuthCookies]
	}
	// Clipped: the route's list is shared by every request.
	for _, name := range append(slices.Clip(a.copy), "Www-Authenticate", "Set-Cookie") {
		if _, done := out.header[name]; done {
			continue // listed twice
		}
		vs := res.Header[name]
		if name == "Set-Cookie" {
			vs = cookies
		}
		for _, v := range vs {
			// A value that could end a field, or smuggle one, fails
			// the check, as a malformed head does.
			v = strings.TrimSpace(v)
			if err := lbconfig.CheckHeaderValue(v); err != nil {
				return authAnswer{}, fmt.Errorf("the answer's %s: %w", name, err)
			}
			out.header[name] = append(out.header[name], v)
		}
	}
	return out, nil
}

// sendAuth sends the subrequest to url, with Host host unless it is "".
func (p *Provider) sendAuth(ctx context.Context, url, host, method string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header = header
	if host != "" {
		req.Host = host
	}
	return p.authClient.Do(req)
}

// subrequestHeader is the client's fields less the hop-by-hop, framing
// and set ones, and the fields the load balancer sets (see
// lbconfig.ExternalAuth).
func (a *extAuth) subrequestHeader(r *http.Request, pr *portRoutes) http.Header {
	h := make(http.Header, len(r.Header)+10)
	listed := map[string]bool{}
	for _, v := range r.Header["Connection"] {
		for token := range strings.SplitSeq(v, ",") {
			listed[http.CanonicalHeaderKey(strings.TrimSpace(token))] = true
		}
	}
	for k, vs := range r.Header {
		if http1.IsHopByHop(k) || listed[k] || authDropped[k] {
			continue
		}
		h[k] = vs
	}
	client := remoteIP(r.RemoteAddr)
	scheme := pr.protoValue[0]
	h.Set("X-Original-Url", scheme+"://"+r.Host+r.RequestURI)
	h.Set("X-Original-Method", r.Method)
	h.Set("X-Original-Uri", r.RequestURI)
	h.Set("X-Sent-From", lbconfig.SentFrom)
	h.Set("X-Real-Ip", client)
	h.Set("X-Forwarded-For", client)
	h.Set("X-Forwarded-Host", r.Host)
	h.Set("X-Forwarded-Proto", scheme)
	h.Set("X-Forwarded-Port", pr.portValue[0])
	if a.requestRedirect != "" {
		h.Set("X-Auth-Request-Redirect", a.requestRedirect)
	} else {
		h.Set("X-Auth-Request-Redirect", r.RequestURI)
	}
	return h
}

// authDropped are client fields the subrequest never carries: it has no
// body, and Host is the auth server's.
var authDropped = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true,
	"Expect": true, "Trailer": true, "Te": true, "Upgrade": true,
}

// signinLocation is the sign-in URL, its variables expanded, with the
// original URL in its redirect parameter, percent-encoded as a query
// value (every byte but letters, digits and "-._~"). A Host that a
// variable would copy into it must be a host name or address.
func (a *extAuth) signinLocation(r *http.Request, pr *portRoutes) (string, error) {
	loc := a.signin
	if strings.Contains(loc, "$") {
		host := strings.ToLower(r.Host)
		if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
			host = host[:i]
		}
		if err := lbconfig.CheckSigninHost(host, r.Host); err != nil {
			return "", err
		}
		loc = lbconfig.ExpandSignin(loc, lbconfig.SigninRequest{Scheme: pr.protoValue[0], Host: host, HostPort: r.Host, RequestURI: r.RequestURI})
	}
	if !a.addParam {
		return loc, nil
	}
	sep := "?"
	if strings.Contains(a.signin, "?") {
		sep = "&"
		if strings.HasSuffix(a.signin, "?") || strings.HasSuffix(a.signin, "&") {
			sep = ""
		}
	}
	original := pr.protoValue[0] + "://" + r.Host + r.RequestURI
	return loc + sep + a.param + "=" + lbconfig.EscapeQueryValue(original), nil
}
