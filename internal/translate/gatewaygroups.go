package translate

import (
	"cmp"
	"slices"

	"ingress-controller/pkg/lbconfig"
)

// In Gateway API a request whose path matches a rule but none of its
// header matches goes on to the next rule that matches, e.g. a shorter
// prefix. lbconfig instead gives every group of routes of one path a
// route without conditions (see lbconfig/split.go), so fillGroups adds
// to a group that has none the routes the request would go on to: those
// of the longest shorter prefix that matches the whole group, with the
// group's path. A group nothing falls back to (a regular expression, or
// no shorter prefix) gets a route to the backend that answers 404
// (NotFoundBackend), as a request that matches no path gets: a route
// rather than lbconfig's fall-through, which HAProxy cannot take to
// Regex routes.

// fillGroups returns routes with every group completed; notFound names
// the backend that answers 404 for a route's source.
func fillGroups(routes []lbconfig.Route, notFound func(lbconfig.ObjectRef) string) []lbconfig.Route {
	var keys [][2]string
	plain := map[[2]string]bool{}
	for _, r := range routes {
		k := routeKeyOf(r)
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		if !r.HasConditions() {
			plain[k] = true
		}
	}
	// Shorter prefixes first, so that a group copied from is complete;
	// then exact paths and patterns, which nothing copies from.
	slices.SortFunc(keys, func(a, b [2]string) int {
		return cmp.Or(
			cmp.Compare(matchOrder(a[0]), matchOrder(b[0])),
			cmp.Compare(len(a[1]), len(b[1])),
			cmp.Compare(a[1], b[1]),
		)
	})
	for _, k := range keys {
		if plain[k] {
			continue
		}
		first := routes[slices.IndexFunc(routes, func(r lbconfig.Route) bool { return routeKeyOf(r) == k })]
		if fb, ok := fallbackGroup(k, keys); ok {
			routes = copyGroup(routes, fb, first)
			plain[k] = slices.ContainsFunc(routes, func(r lbconfig.Route) bool { return routeKeyOf(r) == k && !r.HasConditions() })
		}
		if !plain[k] {
			routes = append(routes, lbconfig.Route{Path: first.Path, Match: first.Match, Backend: lbconfig.BackendRef{Name: notFound(first.Source)}, Source: first.Source})
			plain[k] = true
		}
	}
	return routes
}

func matchOrder(m string) int {
	if m == string(lbconfig.MatchPrefix) {
		return 0
	}
	return 1
}

// fallbackGroup is the group of the longest prefix, other than k's own,
// that matches every path of group k.
func fallbackGroup(k [2]string, keys [][2]string) ([2]string, bool) {
	if k[0] == string(lbconfig.MatchRegex) {
		return [2]string{}, false
	}
	best, found := [2]string{}, false
	for _, c := range keys {
		if c[0] != string(lbconfig.MatchPrefix) || c == k || !lbconfig.PrefixMatches(c[1], k[1]) {
			continue
		}
		if !found || len(c[1]) > len(best[1]) {
			best, found = c, true
		}
	}
	return best, found
}

// copyGroup appends to routes a copy of each route of group fb, with the
// path and match of like, unless the copy would change what it does (a
// redirect that replaces the matched prefix) or its conditions are taken
// in like's group already.
func copyGroup(routes []lbconfig.Route, fb [2]string, like lbconfig.Route) []lbconfig.Route {
	target := routeKeyOf(like)
	taken := map[string]bool{}
	for _, r := range routes {
		if routeKeyOf(r) == target {
			taken[routeMatchKey(r)] = true
		}
	}
	for _, r := range slices.Clone(routes) {
		if routeKeyOf(r) != fb {
			continue
		}
		if rd := r.Redirect; rd != nil && rd.Path != nil && rd.Path.Type == lbconfig.ReplacePrefixMatch {
			continue
		}
		c := r
		c.Path, c.Match = like.Path, like.Match
		if rd := c.Redirect; rd != nil && rd.Path != nil && rd.Path.Type == lbconfig.ReplacePrefixMatch && c.Match != lbconfig.MatchPrefix {
			continue
		}
		if key := routeMatchKey(c); !taken[key] {
			taken[key] = true
			routes = append(routes, c)
		}
	}
	return routes
}
