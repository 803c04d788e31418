package lbconfig

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ErrorPages has another backend answer a route's error responses, as
// ingress-nginx's custom-http-errors with its default-backend does. When
// the backend the route picked answers one of Statuses, that response is
// discarded (its backend connection is closed, never reused with unread
// bytes) and the proxy asks Backend for a page: "GET /" over HTTP/1.1,
// without a body, with the client's Host, the forwarding fields every
// request gets (X-Forwarded-For, ...) and the ErrorFields. The client
// gets the page's header fields and body with the status the route's
// backend answered, whatever status the page came with.
//
// The client gets that status with a short plain-text body of the
// proxy's instead when Backend cannot give a page: no ready endpoint, a
// failed connect, a timeout of its policy, or a page over
// MaxErrorPageBytes.
//
// Only the responses of the route's backend are replaced. The proxy's
// own answers (404 without a route, 503 without endpoints, 502 and 504
// when the backend fails, 413, 429, ...) are not, nor a response to a
// request that switches protocols, nor a page (no loops).
type ErrorPages struct {
	// Backend serves the pages; it speaks HTTP/1.1 in the clear (Protocol
	// empty or HTTP).
	Backend BackendRef `json:"backend"`
	// Statuses are the statuses replaced, 400 to 599, sorted without
	// duplicates; at least one.
	Statuses []int32 `json:"statuses"`
}

// MaxErrorPageBytes bounds the body of an error page: HAProxy answers
// with it from one buffer.
const MaxErrorPageBytes = 8 << 10

// PlainErrorBody is the body both providers answer status with when the
// error backend cannot give a page: "503 service unavailable\n".
func PlainErrorBody(status int) string {
	text := strings.ToLower(http.StatusText(status))
	if text == "" {
		text = "error"
	}
	return strconv.Itoa(status) + " " + text + "\n"
}

// Handles reports whether status is one of e's Statuses; a nil e
// handles none.
func (e *ErrorPages) Handles(status int) bool {
	if e == nil || status < 400 || status > 599 {
		return false
	}
	_, found := slices.BinarySearch(e.Statuses, int32(status))
	return found
}

// ErrorFields are the request header fields that tell an error page, or
// a Route.Fallback, what failed, with ingress-nginx's names. A field
// whose value would not be a valid header value (CheckHeaderValue) is
// left out; so are empty ones.
type ErrorFields struct {
	// Namespace and Ingress name the route's Source: X-Namespace and
	// X-Ingress-Name.
	Namespace, Ingress string
	// Service and Port name the route's backend as its name
	// "<namespace>/<service>:<port>" does: X-Service-Name and
	// X-Service-Port.
	Service, Port string
}

// Header field names of ErrorFields, and of the fields only the proxy
// knows per request: X-Code (the status replaced, "503" for a
// Fallback), X-Format (the client's Accept), X-Original-URI (the target
// the route got: its normalized path and query, before any rewrite; not
// sent to a Fallback, whose request is the client's) and X-Request-ID
// (the client's, else 32 random hexadecimal digits).
const (
	FieldCode        = "X-Code"
	FieldFormat      = "X-Format"
	FieldOriginalURI = "X-Original-URI"
	FieldNamespace   = "X-Namespace"
	FieldIngress     = "X-Ingress-Name"
	FieldService     = "X-Service-Name"
	FieldServicePort = "X-Service-Port"
	FieldRequestID   = "X-Request-ID"
)

// ErrorFieldsOf returns the ErrorFields of a route from source that
// picked the backend called backend.
func ErrorFieldsOf(source ObjectRef, backend string) ErrorFields {
	f := ErrorFields{Namespace: source.Namespace, Ingress: source.Name}
	name, _, _ := strings.Cut(backend, "@") // "@<ingress>": a policy of its own
	if _, rest, ok := strings.Cut(name, "/"); ok {
		name = rest
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		f.Service, f.Port = name[:i], name[i+1:]
	}
	for _, v := range []*string{&f.Namespace, &f.Ingress, &f.Service, &f.Port} {
		if CheckHeaderValue(*v) != nil {
			*v = ""
		}
	}
	return f
}

// Each calls yield with the name and value of each field of f that is
// not empty, in a fixed order.
func (f ErrorFields) Each(yield func(name, value string)) {
	for _, kv := range [...][2]string{
		{FieldNamespace, f.Namespace}, {FieldIngress, f.Ingress},
		{FieldService, f.Service}, {FieldServicePort, f.Port},
	} {
		if kv[1] != "" {
			yield(kv[0], kv[1])
		}
	}
}

// errorPages checks a route's ErrorPages and Fallback; ref checks that a
// backend exists.
func (v *validator) errorPages(f string, r Route, ref func(string, *BackendRef)) {
	if fb := r.Fallback; fb != nil {
		ref(f+".fallback", fb)
	}
	e := r.ErrorPages
	if e == nil {
		return
	}
	ref(f+".errorPages.backend", &e.Backend)
	if len(e.Statuses) == 0 {
		v.add(f+".errorPages.statuses", "must list a status; leave errorPages out to replace none")
	}
	for i, s := range e.Statuses {
		sf := fmt.Sprintf("%s.errorPages.statuses[%d]", f, i)
		switch {
		case s < 400 || s > 599:
			v.add(sf, fmt.Sprintf("%d is not an error status, 400 to 599", s))
		case i > 0 && e.Statuses[i-1] >= s:
			v.add(sf, fmt.Sprintf("%d must come after %d, once (sorted without duplicates)", s, e.Statuses[i-1]))
		}
	}
}

// errorPageBackends checks that the backends of error pages speak
// HTTP/1.1 in the clear.
func (v *validator) errorPageBackends(c *Config) {
	for i, lb := range c.LoadBalancers {
		for j, l := range lb.Listeners {
			for k, vh := range l.VirtualHosts {
				for n, r := range vh.Routes {
					if r.ErrorPages == nil {
						continue
					}
					b := c.Backend(r.ErrorPages.Backend.Name)
					if b != nil && b.Protocol != "" && b.Protocol != BackendHTTP {
						v.add(fmt.Sprintf("loadBalancers[%d].listeners[%d].virtualHosts[%d].routes[%d].errorPages.backend", i, j, k, n),
							fmt.Sprintf("backend %q speaks %s; error pages are fetched over HTTP/1.1 in the clear", b.Name, b.Protocol))
					}
				}
			}
		}
	}
}

// sortErrorPages puts a route's error statuses in order without
// duplicates.
func (r *Route) sortErrorPages() {
	if e := r.ErrorPages; e != nil {
		slices.Sort(e.Statuses)
		e.Statuses = slices.Compact(e.Statuses)
	}
}
