package builtin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Header changes and CORS (lbconfig.Route.RequestHeaders, ResponseHeaders
// and CORS) are served on net/http's path only: the fast path hands a
// request for such a route over (serveRequest), so that routes without
// them keep a fast path that allocates nothing. Request fields are
// changed in r.Header before the request goes out, on every backend
// protocol; response fields when a backend's response head is written
// (respond, and ModifyResponse of the reverse proxy), never on the
// proxy's own answers or on a protocol switch.

// headerRules are a route's compiled header changes and CORS.
type headerRules struct {
	// host, if set, is the Host sent to the backend.
	host     string
	request  headerChanges
	response headerChanges
	cors     *corsRules
}

// headerChanges is a compiled lbconfig.HeaderModifier, names in
// canonical form.
type headerChanges struct {
	set, add []lbconfig.Header
	remove   []string
}

// corsRules is a compiled lbconfig.CORS, its lists joined as sent.
type corsRules struct {
	cors                     lbconfig.CORS
	methods, headers, expose string
	maxAge                   string
	// echoMethods and echoHeaders: a preflight gets what it asked for
	// (EchoWildcards with "*"), not methods and headers.
	echoMethods, echoHeaders bool
}

// compileHeaders returns rt's header rules, or nil when it has none.
func compileHeaders(rt lbconfig.Route) *headerRules {
	if rt.RequestHeaders == nil && rt.ResponseHeaders == nil && rt.CORS == nil {
		return nil
	}
	h := &headerRules{}
	if m := rt.RequestHeaders; m != nil {
		h.request = compileChanges(m)
		h.request.set = slices.DeleteFunc(h.request.set, func(f lbconfig.Header) bool {
			if f.Name == "Host" {
				h.host = f.Value
				return true
			}
			return false
		})
	}
	if m := rt.ResponseHeaders; m != nil {
		h.response = compileChanges(m)
	}
	if c := rt.CORS; c != nil {
		cr := &corsRules{
			cors: lbconfig.CORS{AllowOrigins: slices.Clone(c.AllowOrigins), AllowCredentials: c.AllowCredentials,
				MultiLabel: c.MultiLabel, EchoWildcards: c.EchoWildcards, PreflightExposes: c.PreflightExposes},
			methods: strings.Join(c.AllowMethods, ", "), headers: strings.Join(c.AllowHeaders, ", "),
			expose:      strings.Join(c.ExposeHeaders, ", "),
			echoMethods: c.EchoWildcards && slices.Equal(c.AllowMethods, []string{"*"}),
			echoHeaders: c.EchoWildcards && slices.Equal(c.AllowHeaders, []string{"*"}),
		}
		if c.MaxAge > 0 {
			cr.maxAge = strconv.Itoa(int(c.MaxAge))
		}
		h.cors = cr
	}
	return h
}

func compileChanges(m *lbconfig.HeaderModifier) headerChanges {
	var hc headerChanges
	for _, f := range m.Set {
		hc.set = append(hc.set, lbconfig.Header{Name: http.CanonicalHeaderKey(f.Name), Value: f.Value})
	}
	for _, f := range m.Add {
		hc.add = append(hc.add, lbconfig.Header{Name: http.CanonicalHeaderKey(f.Name), Value: f.Value})
	}
	for _, n := range m.Remove {
		hc.remove = append(hc.remove, http.CanonicalHeaderKey(n))
	}
	return hc
}

// apply makes the changes to h: remove, then set, then add.
func (hc *headerChanges) apply(h http.Header) {
	for _, n := range hc.remove {
		delete(h, n)
	}
	for _, f := range hc.set {
		h[f.Name] = []string{f.Value}
	}
	for _, f := range hc.add {
		h[f.Name] = append(h[f.Name], f.Value)
	}
}

// responseHeaders is what a request's response needs of its route's
// header rules: the rules, and the Origin to grant, if any.
type responseHeaders struct {
	rules  *headerRules
	origin string
	// pages, if set, replaces error responses (errorpages.go).
	pages *pageRequest
	// auth are the auth server's cookies (extauth.go).
	auth authCookies
}

// apply changes the head of a backend's response of status: the route's
// response changes, then CORS, which the backend cannot override, and
// the auth server's cookies.
func (rh responseHeaders) apply(h http.Header, status int) {
	rh.auth.add(h, status)
	if rh.rules == nil {
		return
	}
	rh.rules.response.apply(h)
	c := rh.rules.cors
	if c == nil {
		return
	}
	if c.varies() {
		h["Vary"] = append(h["Vary"], "Origin")
	}
	if rh.origin == "" {
		delete(h, "Access-Control-Allow-Origin")
		delete(h, "Access-Control-Allow-Credentials")
		delete(h, "Access-Control-Expose-Headers")
		return
	}
	h["Access-Control-Allow-Origin"] = []string{rh.origin}
	setOrDelete(h, "Access-Control-Allow-Credentials", c.cors.AllowCredentials, "true")
	setOrDelete(h, "Access-Control-Expose-Headers", c.expose != "", c.expose)
}

// varies reports whether the answers depend on the request's Origin.
func (c *corsRules) varies() bool {
	return !c.cors.AnyOrigin() || c.cors.EchoWildcards
}

func setOrDelete(h http.Header, name string, set bool, value string) {
	if set {
		h[name] = []string{value}
	} else {
		delete(h, name)
	}
}

// grant returns what r's response needs: the Origin to send in
// Access-Control-Allow-Origin ("*", the request's own Origin when
// allowed, else ""). A request with more than one Origin field is not
// allowed.
func (hr *headerRules) grant(r *http.Request) responseHeaders {
	out := responseHeaders{rules: hr}
	c := hr.cors
	switch origins := r.Header["Origin"]; {
	case c == nil:
	case c.cors.AnyOrigin() && !c.cors.EchoWildcards:
		out.origin = "*"
	case len(origins) == 1 && c.cors.Allows(origins[0]):
		out.origin = origins[0]
	}
	return out
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && len(r.Header["Origin"]) > 0 && len(r.Header["Access-Control-Request-Method"]) > 0
}

// preflight answers r, a preflight for a route with CORS, with 204: with
// the grant when its origin is allowed, without it when not; it never
// reaches the backend.
func preflight(w http.ResponseWriter, r *http.Request, c *corsRules, grant responseHeaders) {
	h := w.Header()
	if c.varies() {
		h["Vary"] = []string{"Origin"}
	}
	if grant.origin != "" {
		h["Access-Control-Allow-Origin"] = []string{grant.origin}
		if c.cors.AllowCredentials {
			h["Access-Control-Allow-Credentials"] = []string{"true"}
		}
		methods, headers := c.methods, c.headers
		if c.echoMethods {
			methods = echo(r.Header["Access-Control-Request-Method"], false)
		}
		if c.echoHeaders {
			headers = echo(r.Header["Access-Control-Request-Headers"], true)
		}
		if methods != "" {
			h["Access-Control-Allow-Methods"] = []string{methods}
		}
		if headers != "" {
			h["Access-Control-Allow-Headers"] = []string{headers}
		}
		if c.expose != "" && c.cors.PreflightExposes {
			h["Access-Control-Expose-Headers"] = []string{c.expose}
		}
		if c.maxAge != "" {
			h["Access-Control-Max-Age"] = []string{c.maxAge}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// echo returns what a preflight's request field may have sent back: its
// only value, when lbconfig.IsEchoable takes it, else "".
func echo(values []string, list bool) string {
	if len(values) != 1 || !lbconfig.IsEchoable(values[0], list) {
		return ""
	}
	return values[0]
}

// servePreflight answers r itself when it is a CORS preflight for rt
// (and returns true), before authentication, since a browser's preflight
// carries no credentials; else it returns what r's response needs. The
// request changes (rt.headers.request) are the caller's, after
// authentication.
func (h *portHandler) servePreflight(w http.ResponseWriter, r *http.Request, rt *route, start time.Time) (responseHeaders, bool) {
	hr := rt.headers
	grant := hr.grant(r)
	if hr.cors != nil && isPreflight(r) {
		preflight(w, r, hr.cors, grant)
		rt.backend.metrics.observe(http.StatusNoContent, time.Since(start))
		h.p.logAccess(r, rt.backend, outcome{status: http.StatusNoContent}, start)
		return grant, true
	}
	return grant, false
}

// upstreamHost is the Host to send to the backend for r.
func (rh responseHeaders) upstreamHost(r *http.Request) string {
	if rh.rules != nil && rh.rules.host != "" {
		return rh.rules.host
	}
	return r.Host
}
