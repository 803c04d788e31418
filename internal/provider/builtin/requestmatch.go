package builtin

import (
	"fmt"
	"net/http"
	"regexp"

	"ingress-controller/pkg/lbconfig"
)

// Method and query parameter matches (lbconfig.Route.Method and
// QueryParams), conditions of a route like its header matches: such a
// route is served on net/http's path (split.go). A request takes the
// first route whose path matches and whose conditions hold, so one that
// none of a group's routes match goes on to a shorter path, as
// lbconfig's split.go says. The query is read where it lies in the
// request target, without decoding or copying it.

// queryMatch is a compiled lbconfig.QueryParamMatch.
type queryMatch struct {
	name  string
	exact string
	re    *regexp.Regexp
}

// compileQueryMatches compiles a route's query parameter matches.
func compileQueryMatches(ms []lbconfig.QueryParamMatch) ([]queryMatch, error) {
	var out []queryMatch
	for i, m := range ms {
		if err := lbconfig.CheckQueryName(m.Name); err != nil {
			return nil, fmt.Errorf("queryParams[%d]: %w", i, err)
		}
		qm := queryMatch{name: m.Name, exact: m.Value}
		switch m.Type {
		case lbconfig.HeaderExact:
		case lbconfig.HeaderRegularExpression:
			re, err := lbconfig.CompileQueryMatch(m)
			if err != nil {
				return nil, fmt.Errorf("queryParams[%d]: %w", i, err)
			}
			qm.re = re
		default:
			return nil, fmt.Errorf("queryParams[%d]: unknown query parameter match type %q", i, m.Type)
		}
		out = append(out, qm)
	}
	return out, nil
}

// queryHolds reports whether the query (after "?") meets every match.
func queryHolds(ms []queryMatch, query string) bool {
	for i := range ms {
		m := &ms[i]
		v, ok := lbconfig.QueryValue(query, m.name)
		if !ok || m.re != nil && !m.re.MatchString(v) || m.re == nil && v != m.exact {
			return false
		}
	}
	return true
}

// routeForRequest picks the route of r, whose normalized path is path:
// the first route of its virtual host whose path matches and whose
// conditions hold, trying those it falls through to next, else a route
// to the default backend, else nil.
func (pr *portRoutes) routeForRequest(r *http.Request, path string) *route {
	for v := pr.vhostFor(lbconfig.NormalizeHost(r.Host)); v != nil; v = v.next {
		for i := range v.routes {
			rt := &v.routes[i]
			if rt.matches(path) && (rt.split == nil || rt.split.holds(r)) {
				return rt
			}
		}
	}
	return pr.fallbackRoute
}
