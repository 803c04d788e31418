package builtin

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"regexp"

	"ingress-controller/pkg/lbconfig"
)

// Request matches and weighted backends (lbconfig.Route.Headers, Cookies
// and Backends). A route that has them, or whose path group has a route
// with conditions, is served on net/http's path: the fast path hands it
// over, so routes without them stay allocation-free. Choosing among the
// routes of a group reads the request's fields without copying them, and
// the weighted choice draws from math/rand/v2's per-thread generator,
// without a lock.

// split is what a route of a group with conditions or weights needs.
type split struct {
	headers []headerMatch
	cookies []lbconfig.CookieMatch
	// method and query are the route's method and query parameter
	// matches (requestmatch.go).
	method string
	query  []queryMatch
	// weighted holds the backends of a route that splits; none means
	// every request goes to the route's backend.
	weighted
	// changes are the request changes of weighted's backends, by index;
	// nil when none has any (backendheaders.go).
	changes []*headerChanges
	// sticky lets an affinity cookie pick among backends (sticky.go).
	sticky bool
}

// weighted is a choice among backends by weight: their cumulative
// weights, total 0 when there is no choice to make.
type weighted struct {
	backends []*backend
	upTo     []int32
	total    int32
}

// compileWeighted looks up the backends of wbs, whose weights add up to
// at most lbconfig.MaxWeight.
func compileWeighted(wbs []lbconfig.WeightedBackend, lookup func(*lbconfig.BackendRef) (*backend, error)) (weighted, error) {
	var w weighted
	for i, wb := range wbs {
		b, err := lookup(&lbconfig.BackendRef{Name: wb.Name})
		if err != nil {
			return w, fmt.Errorf("backends[%d]: %w", i, err)
		}
		if wb.Weight < 0 {
			return w, fmt.Errorf("backends[%d]: negative weight", i)
		}
		w.total += wb.Weight
		w.backends, w.upTo = append(w.backends, b), append(w.upTo, w.total)
	}
	return w, nil
}

// pick draws one of w's backends by weight from math/rand/v2's
// per-thread generator, or returns dflt when w has no choice.
func (w *weighted) pick(dflt *backend) *backend {
	if w.total == 0 {
		return dflt
	}
	n := rand.Int32N(w.total)
	for i, upTo := range w.upTo {
		if n < upTo {
			return w.backends[i]
		}
	}
	return dflt
}

// headerMatch is a compiled lbconfig.HeaderMatch.
type headerMatch struct {
	// key is the canonical form net/http stores the field under.
	key   string
	exact string
	re    *regexp.Regexp
}

// compileSplit returns the split of route n of routes, or nil when its
// group has no conditions and it has no weights.
func compileSplit(n int, routes []lbconfig.Route, lookup func(*lbconfig.BackendRef) (*backend, error)) (s *split, err error) {
	rt := routes[n]
	grouped := rt.HasConditions() || (n > 0 && sameGroup(routes[n-1], rt) && routes[n-1].HasConditions())
	if !grouped && !rt.Split() {
		return nil, nil
	}
	s = &split{cookies: rt.Cookies, method: rt.Method, sticky: rt.StickyBackends}
	if s.query, err = compileQueryMatches(rt.QueryParams); err != nil {
		return nil, err
	}
	for i, m := range rt.Headers {
		hm := headerMatch{key: textproto.CanonicalMIMEHeaderKey(m.Name), exact: m.Value}
		if m.Type == lbconfig.HeaderRegularExpression {
			re, err := lbconfig.CompileHeaderMatch(m)
			if err != nil {
				return nil, fmt.Errorf("headers[%d]: %w", i, err)
			}
			hm.re = re
		} else if m.Type != lbconfig.HeaderExact {
			return nil, fmt.Errorf("headers[%d]: unknown header match type %q", i, m.Type)
		}
		s.headers = append(s.headers, hm)
	}
	if total := rt.TotalWeight(); rt.Split() && (total <= 0 || total > lbconfig.MaxWeight) {
		return nil, fmt.Errorf("backends: the weights add up to %d", total)
	}
	if s.weighted, err = compileWeighted(rt.Backends, lookup); err != nil {
		return nil, err
	}
	if s.changes, err = compileBackendHeaders(rt.Backends); err != nil {
		return nil, err
	}
	return s, nil
}

// sameGroup reports whether two routes have the same match and path.
func sameGroup(a, b lbconfig.Route) bool {
	return a.Match == b.Match && a.MatchPath() == b.MatchPath() ||
		a.Match == lbconfig.MatchPrefix && b.Match == lbconfig.MatchPrefix &&
			trimSlash(a.MatchPath()) == trimSlash(b.MatchPath())
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// holds reports whether every condition of s holds for r.
func (s *split) holds(r *http.Request) bool {
	if s.method != "" && r.Method != s.method {
		return false
	}
	h := r.Header
	for i := range s.headers {
		m := &s.headers[i]
		vs := h[m.key]
		if len(vs) == 0 {
			return false
		}
		if m.re != nil && !m.re.MatchString(vs[0]) || m.re == nil && vs[0] != m.exact {
			return false
		}
	}
	if len(s.query) > 0 && !queryHolds(s.query, r.URL.RawQuery) {
		return false
	}
	for _, c := range s.cookies {
		if !hasCookie(h["Cookie"], c) {
			return false
		}
	}
	return true
}

// hasCookie reports whether a cookie of c's name has c's value in any of
// the Cookie fields.
func hasCookie(fields []string, c lbconfig.CookieMatch) bool {
	found := false
	for _, f := range fields {
		lbconfig.CookieValues(f, c.Name, func(v string) bool {
			found = v == c.Value
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

// pickBackend returns the backend of req to r: by its affinity cookie
// when r's backends are sticky and it names one, else by weight when r
// splits, else r's backend.
func (r *route) pickBackend(req *http.Request) *backend {
	s := r.split
	if s == nil || s.total == 0 {
		return r.backend
	}
	if b := s.stickyBackend(req); b != nil {
		return b
	}
	return s.pick(r.backend)
}
