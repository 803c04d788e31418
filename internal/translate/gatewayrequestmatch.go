package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// gatewayMethods are the values of Gateway API's HTTPMethod enum; the
// spec makes any other an UnsupportedValue.
var gatewayMethods = []gatewayv1.HTTPMethod{
	gatewayv1.HTTPMethodGet, gatewayv1.HTTPMethodHead, gatewayv1.HTTPMethodPost,
	gatewayv1.HTTPMethodPut, gatewayv1.HTTPMethodDelete, gatewayv1.HTTPMethodConnect,
	gatewayv1.HTTPMethodOptions, gatewayv1.HTTPMethodTrace, gatewayv1.HTTPMethodPatch,
}

// readMethod sets route's Method from a match's method; false leaves the
// match out, as a route without it would take other methods' requests.
func (g *gatewayAPI) readMethod(r *routeState, f string, m *gatewayv1.HTTPMethod, route *lbconfig.Route) bool {
	route.Method = ""
	if m == nil {
		return true
	}
	if !slices.Contains(gatewayMethods, *m) {
		g.leaveOut(r, f, string(gatewayv1.RouteReasonUnsupportedValue), fmt.Sprintf("method %q is not one of %v; the match is not served", clip.Value(string(*m)), gatewayMethods))
		return false
	}
	route.Method = string(*m)
	return true
}

// readQueryParams sets route's QueryParams from a match's; only the
// first entry of a name counts, as the spec says. False leaves the match
// out.
func (g *gatewayAPI) readQueryParams(r *routeState, f string, qs []gatewayv1.HTTPQueryParamMatch, route *lbconfig.Route) bool {
	route.QueryParams = nil
	seen := map[string]bool{}
	for i, q := range qs {
		qf := fmt.Sprintf("%s[%d]", f, i)
		name := string(q.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		qm := lbconfig.QueryParamMatch{Name: name, Type: lbconfig.HeaderExact, Value: q.Value}
		if q.Type != nil {
			switch *q.Type {
			case gatewayv1.QueryParamMatchExact:
			case gatewayv1.QueryParamMatchRegularExpression:
				qm.Type = lbconfig.HeaderRegularExpression
			default:
				g.leaveOut(r, qf+".type", string(gatewayv1.RouteReasonUnsupportedValue), fmt.Sprintf("query parameter match type %q is not supported; the match is not served", clip.Value(string(*q.Type))))
				return false
			}
		}
		if err := checkQueryMatch(qm); err != nil {
			g.leaveOut(r, qf, string(gatewayv1.RouteReasonUnsupportedValue), err.Error()+"; the match is not served")
			return false
		}
		route.QueryParams = append(route.QueryParams, qm)
	}
	if n := len(route.Headers) + len(route.QueryParams); n > lbconfig.MaxMatches {
		g.leaveOut(r, f, string(gatewayv1.RouteReasonUnsupportedValue), fmt.Sprintf("more than %d header and query parameter matches; the match is not served", lbconfig.MaxMatches))
		return false
	}
	return true
}

// checkQueryMatch checks a query match as lbconfig will.
func checkQueryMatch(m lbconfig.QueryParamMatch) error {
	if err := lbconfig.CheckQueryName(m.Name); err != nil {
		return err
	}
	if m.Type == lbconfig.HeaderRegularExpression {
		return lbconfig.CheckHeaderRegexp(m.Value)
	}
	return lbconfig.CheckQueryValue(m.Value)
}

// requestMatchKey is the part of routeMatchKey for the method and query
// parameter matches.
func requestMatchKey(r lbconfig.Route) string {
	var b strings.Builder
	b.WriteString("\x01" + r.Method)
	qs := slices.Clone(r.QueryParams)
	slices.SortFunc(qs, func(x, y lbconfig.QueryParamMatch) int { return cmp.Compare(x.Name, y.Name) })
	for _, q := range qs {
		b.WriteString("\x01" + q.Name + "\x00" + string(q.Type) + "\x00" + q.Value)
	}
	return b.String()
}
