package translate

import (
	"fmt"
	"regexp"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// A GRPCRoute attaches as an HTTPRoute does, and its rules are read as
// the HTTPRoute rules they amount to, so that both kinds share one
// translation (GEP-1016). A gRPC request is a POST to
// "/<service>/<method>", so a method match becomes a path match:
//
//   - Exact service and method: the exact path.
//   - Exact service alone: the prefix "/<service>" (whole segments).
//   - Exact method alone: the regular expression "/[^/]+/<method>$".
//   - RegularExpression: "/(?:<service>)/(?:<method>)$", an empty part
//     being "[^/]+". RE2 syntax, checked as lbconfig checks patterns.
//   - None: the regular expression "/", after all others.
//
// Header matches and the RequestHeaderModifier, ResponseHeaderModifier and
// RequestMirror filters are those of HTTPRoutes. Backends speak gRPC:
// HTTP/2 in the clear (lbconfig.BackendGRPC), under names of their own so
// that an HTTPRoute to the same Service port keeps HTTP/1.1. A rule with
// a match or filter that cannot be honoured is left out whole.

// grpcBackendSuffix ends the names of the backends of GRPCRoutes, and
// h2cBackendSuffix those of HTTPRoutes to a Service port of appProtocol
// kubernetes.io/h2c, so that another route to the same port keeps its
// own protocol.
const (
	grpcBackendSuffix = "!grpc"
	h2cBackendSuffix  = "!h2c"
)

// maxGRPCName is the longest service or method, as the CRD has it.
const maxGRPCName = 1024

// Exact service and method names, as the GRPCRoute CRD validates them.
var (
	grpcServiceName = regexp.MustCompile(`^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$`)
	grpcMethodName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*$`)
)

// grpcRoute is the state of a GRPCRoute.
func grpcRoute(r *gatewayv1.GRPCRoute) *routeState {
	return &routeState{
		obj: r, routeCommon: routeCommon{
			ref: routeRef(kindGRPCRoute, r), generation: r.Generation, parentRefs: r.Spec.ParentRefs, hostnames: r.Spec.Hostnames,
			protocol: lbconfig.BackendGRPC,
		},
		rules: func(g *gatewayAPI, rs *routeState) []*gatewayv1.HTTPRouteRule {
			out := make([]*gatewayv1.HTTPRouteRule, len(r.Spec.Rules))
			for i, rule := range r.Spec.Rules {
				out[i] = g.grpcRule(rs, fmt.Sprintf("spec.rules[%d]", i), rule)
			}
			return out
		},
	}
}

// protocolSuffix ends the name of a backend of a route whose backends
// speak p.
func protocolSuffix(p lbconfig.BackendProtocol) string {
	switch p {
	case lbconfig.BackendGRPC:
		return grpcBackendSuffix
	case lbconfig.BackendH2C:
		return h2cBackendSuffix
	}
	return ""
}

// grpcRule returns the HTTPRoute rule a GRPCRoute rule amounts to, or nil
// when it is left out.
func (g *gatewayAPI) grpcRule(r *routeState, f string, rule gatewayv1.GRPCRouteRule) *gatewayv1.HTTPRouteRule {
	out := &gatewayv1.HTTPRouteRule{Name: rule.Name, SessionPersistence: rule.SessionPersistence}
	var ok bool
	if out.Filters, ok = g.grpcFilters(r, f, rule.Filters); !ok {
		return nil
	}
	for i, br := range rule.BackendRefs {
		hb := gatewayv1.HTTPBackendRef{BackendRef: br.BackendRef}
		if hb.Filters, ok = g.grpcFilters(r, fmt.Sprintf("%s.backendRefs[%d]", f, i), br.Filters); !ok {
			return nil
		}
		out.BackendRefs = append(out.BackendRefs, hb)
	}
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.GRPCRouteMatch{{}}
	}
	for i, m := range matches {
		path, err := methodPath(m.Method)
		if err != nil {
			g.leaveOut(r, fmt.Sprintf("%s.matches[%d].method", f, i), string(gatewayv1.RouteReasonUnsupportedValue), err.Error()+"; the rule is not served")
			return nil
		}
		hm := gatewayv1.HTTPRouteMatch{Path: path}
		for _, h := range m.Headers {
			hm.Headers = append(hm.Headers, gatewayv1.HTTPHeaderMatch{Type: (*gatewayv1.HeaderMatchType)(h.Type), Name: gatewayv1.HTTPHeaderName(h.Name), Value: h.Value})
		}
		out.Matches = append(out.Matches, hm)
	}
	return out
}

// grpcFilters returns GRPCRoute filters as HTTPRoute filters; false when
// one is of a type GRPCRoutes do not have.
func (g *gatewayAPI) grpcFilters(r *routeState, f string, filters []gatewayv1.GRPCRouteFilter) ([]gatewayv1.HTTPRouteFilter, bool) {
	var out []gatewayv1.HTTPRouteFilter
	for i, flt := range filters {
		switch flt.Type {
		case gatewayv1.GRPCRouteFilterRequestHeaderModifier, gatewayv1.GRPCRouteFilterResponseHeaderModifier, gatewayv1.GRPCRouteFilterRequestMirror:
		default:
			g.leaveOut(r, fmt.Sprintf("%s.filters[%d]", f, i), string(gatewayv1.RouteReasonUnsupportedValue),
				fmt.Sprintf("filter type %q is not supported; the rule is not served", clip.Value(string(flt.Type))))
			return nil, false
		}
		out = append(out, gatewayv1.HTTPRouteFilter{
			Type:                   gatewayv1.HTTPRouteFilterType(flt.Type),
			RequestHeaderModifier:  flt.RequestHeaderModifier,
			ResponseHeaderModifier: flt.ResponseHeaderModifier,
			RequestMirror:          flt.RequestMirror,
		})
	}
	return out, true
}

// methodPath returns the path match of a method match. Without one,
// every path matches by the regular expression "/", so that a route with
// a method alone, a regular expression, takes precedence as the spec
// says: lbconfig orders Regex routes after Prefix ones, longest first.
func methodPath(m *gatewayv1.GRPCMethodMatch) (*gatewayv1.HTTPPathMatch, error) {
	if m == nil {
		return pathMatch(gatewayv1.PathMatchRegularExpression, "/"), nil
	}
	var service, method string
	if m.Service != nil {
		service = *m.Service
	}
	if m.Method != nil {
		method = *m.Method
	}
	if service == "" && method == "" {
		return nil, fmt.Errorf("a method match needs a service or a method")
	}
	if len(service) > maxGRPCName || len(method) > maxGRPCName {
		return nil, fmt.Errorf("a service or method is longer than %d bytes", maxGRPCName)
	}
	typ := gatewayv1.GRPCMethodMatchExact
	if m.Type != nil {
		typ = *m.Type
	}
	switch typ {
	case gatewayv1.GRPCMethodMatchExact:
		return exactMethodPath(service, method)
	case gatewayv1.GRPCMethodMatchRegularExpression:
		return regexMethodPath(service, method)
	}
	return nil, fmt.Errorf("method match type %q is not supported", clip.Value(string(typ)))
}

func exactMethodPath(service, method string) (*gatewayv1.HTTPPathMatch, error) {
	if service != "" && !grpcServiceName.MatchString(service) {
		return nil, fmt.Errorf("%q is not a gRPC service name", clip.Value(service))
	}
	if method != "" && !grpcMethodName.MatchString(method) {
		return nil, fmt.Errorf("%q is not a gRPC method name", clip.Value(method))
	}
	switch {
	case method == "":
		return pathMatch(gatewayv1.PathMatchPathPrefix, "/"+service), nil
	case service == "":
		return pathMatch(gatewayv1.PathMatchRegularExpression, "/[^/]+/"+method+"$"), nil
	}
	return pathMatch(gatewayv1.PathMatchExact, "/"+service+"/"+method), nil
}

func regexMethodPath(service, method string) (*gatewayv1.HTTPPathMatch, error) {
	part := func(p string) string {
		if p == "" {
			return "[^/]+"
		}
		return p
	}
	for _, p := range []string{service, method} {
		if p == "" {
			continue
		}
		if err := lbconfig.CheckRegex(p); err != nil {
			return nil, err
		}
	}
	p := "/(?:" + part(service) + ")/(?:" + part(method) + ")$"
	if err := lbconfig.CheckRegex(p); err != nil {
		return nil, err
	}
	return pathMatch(gatewayv1.PathMatchRegularExpression, p), nil
}

func pathMatch(typ gatewayv1.PathMatchType, value string) *gatewayv1.HTTPPathMatch {
	return &gatewayv1.HTTPPathMatch{Type: &typ, Value: &value}
}

// routeHost is a hostname a route got on a listener.
type routeHost struct {
	route lbconfig.ObjectRef
	host  string
}

// checkKindConflict takes ps off r when, on one of its listeners, an
// older route of the other kind (HTTPRoute or GRPCRoute) has a hostname
// in common with r: the spec accepts exactly one of the two, the oldest
// (routes attach oldest first), and GRPCRoutes and HTTPRoutes are never
// merged on one hostname. Otherwise r's hostnames are recorded on the
// listeners.
func (g *gatewayAPI) checkKindConflict(r *routeCommon, ps *parentState) {
	if !ps.accepted {
		return
	}
	for k, ls := range ps.listeners {
		for _, h := range ps.hosts[k] {
			for _, o := range ls.routeHosts {
				if o.route.Kind == r.ref.Kind {
					continue
				}
				if _, ok := intersectHostnames(o.host, h); ok || o.host == "" || h == "" {
					ps.accepted, ps.reason = false, routeReasonKindConflict
					ps.message = fmt.Sprintf("%s (older) has hostname %q in common with this route on listener %q, and an %s and a %s may not share a hostname", o.route, h, ls.l.Name, kindHTTPRoute, kindGRPCRoute)
					ps.listeners, ps.hosts = nil, nil
					return
				}
			}
		}
	}
	for k, ls := range ps.listeners {
		for _, h := range ps.hosts[k] {
			ls.routeHosts = append(ls.routeHosts, routeHost{route: r.ref, host: h})
		}
	}
}

// routeReasonKindConflict is the Accepted reason of a route that an older
// route of the other kind holds a hostname of; the spec names none.
const routeReasonKindConflict gatewayv1.RouteConditionReason = "KindConflict"
