package lbconfig

import (
	"fmt"
	"strings"
)

// A weighted backend of a route may change the requests sent to it
// (WeightedBackend.RequestHeaders), as Gateway API's filters on an
// HTTPBackendRef: the changes apply only to the requests the weighted
// choice (or the affinity cookie) gives that backend, after the route's
// own RequestHeaders, before the request goes out. Mirrors get the
// request as the route changed it, without any backend's changes. Host
// cannot be changed there: the virtual host sent upstream is the
// route's (RequestHeaders, or a rewrite's), whatever the backend.

// HasBackendHeaders reports whether a weighted backend of r changes its
// requests.
func (r *Route) HasBackendHeaders() bool {
	for _, b := range r.Backends {
		if b.RequestHeaders != nil {
			return true
		}
	}
	return false
}

// CheckBackendHeaders returns the first problem Validate would find in
// m, the request changes of a weighted backend; its field is relative
// to m.
func CheckBackendHeaders(m *HeaderModifier) error {
	v := validator{}
	v.backendHeader("", m)
	return firstError(v.errs)
}

// backendHeaders checks the request changes of weighted backends bs at
// field f.
func (v *validator) backendHeaders(f string, bs []WeightedBackend) {
	for i, b := range bs {
		if m := b.RequestHeaders; m != nil {
			v.backendHeader(fmt.Sprintf("%s[%d].requestHeaders", f, i), m)
		}
	}
}

func (v *validator) backendHeader(f string, m *HeaderModifier) {
	v.headers(f, m, true)
	for i, h := range m.Set {
		if strings.EqualFold(h.Name, "host") {
			v.add(fmt.Sprintf("%s.set[%d].name", f, i), "a backend's changes cannot set Host; set it on the route")
		}
	}
}

// sortBackendHeaders sorts the request changes of r's weighted backends.
func (r *Route) sortBackendHeaders() {
	for i := range r.Backends {
		if m := r.Backends[i].RequestHeaders; m != nil {
			m.sort()
		}
	}
}

// noBackendHeaders refuses request changes on weighted backends bs at
// field f, which are not HTTP (a TCP listener's).
func (v *validator) noBackendHeaders(f string, bs []WeightedBackend) {
	for i, b := range bs {
		if b.RequestHeaders != nil {
			v.add(fmt.Sprintf("%s[%d].requestHeaders", f, i), "only the backends of an HTTP route change requests")
		}
	}
}
