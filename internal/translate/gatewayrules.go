package translate

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// An HTTPRoute's rules become routes: one per match (a rule without
// matches matches every path), each with the rule's filters and
// backends. A rule whose filters cannot be honoured, or a match that
// cannot be expressed, is left out with a problem and makes the route
// PartiallyInvalid: leaving out a filter would serve the requests other
// than asked. A backendRef that cannot be resolved keeps its share of the
// requests, which get 500 from the route's invalid backend
// (InvalidBackendSuffix, gatewayanswers.go).

// readRules translates r's rules once.
func (g *gatewayAPI) readRules(r *routeState) []ruleRoute {
	if r.read {
		return r.routes
	}
	r.read = true
	for i, rule := range r.rules(g, r) {
		if rule == nil {
			continue
		}
		f := fmt.Sprintf("spec.rules[%d]", i)
		tmpl, ok := g.readRule(r, f, *rule)
		if !ok {
			continue
		}
		// Routes are read oldest first: the rank orders ties between
		// rules as the spec does, by the age of their route, then
		// their order in it.
		tmpl.Rank = g.rank
		g.rank++
		matches := rule.Matches
		if len(matches) == 0 {
			matches = []gatewayv1.HTTPRouteMatch{{}}
		}
		for j, m := range matches {
			mf := fmt.Sprintf("%s.matches[%d]", f, j)
			route := tmpl
			if !g.readMatch(r, mf, m, &route) {
				continue
			}
			r.routes = append(r.routes, ruleRoute{route: route, field: mf})
		}
	}
	return r.routes
}

// leaveOut records that a part of r is not served.
func (g *gatewayAPI) leaveOut(route anyRoute, field, reason, msg string) {
	r := route.common()
	g.t.problems.add(r.ref, field, reason, "%s", msg)
	if r.partial == "" {
		r.partial = field + ": " + msg
	}
}

// readRule translates the filters and backendRefs of a rule into a route
// without path or matches.
func (g *gatewayAPI) readRule(r *routeState, f string, rule gatewayv1.HTTPRouteRule) (lbconfig.Route, bool) {
	route := lbconfig.Route{Source: r.ref}
	if !g.readFilters(r, f, rule.Filters, &route) {
		return route, false
	}
	if !g.readTimeouts(r, f+".timeouts", rule.Timeouts, &route) {
		return route, false
	}
	if !g.readRetry(r, f+".retry", rule.Retry, &route) {
		return route, false
	}
	if rule.SessionPersistence != nil {
		g.t.problems.add(r.ref, f+".sessionPersistence", string(gatewayv1.RouteReasonUnsupportedValue), "session persistence is not supported; the rule is served without")
	}
	return route, g.readBackendRefs(r, f, rule.BackendRefs, &route)
}

// readFilters puts a rule's filters on route; false leaves the rule out.
func (g *gatewayAPI) readFilters(r *routeState, f string, filters []gatewayv1.HTTPRouteFilter, route *lbconfig.Route) bool {
	for i, flt := range filters {
		ff := fmt.Sprintf("%s.filters[%d]", f, i)
		var err error
		switch flt.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			err = mergeHeaderFilter(&route.RequestHeaders, flt.RequestHeaderModifier, true)
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			err = mergeHeaderFilter(&route.ResponseHeaders, flt.ResponseHeaderModifier, false)
		case gatewayv1.HTTPRouteFilterRequestRedirect:
			route.Redirect, err = readRedirect(flt.RequestRedirect)
		case gatewayv1.HTTPRouteFilterURLRewrite:
			err = readURLRewrite(flt.URLRewrite, route)
		case gatewayv1.HTTPRouteFilterRequestMirror:
			if g.mirrorUnserved(r, ff) { // gatewaymirror.go
				continue
			}
			err = g.readMirror(r, ff+".requestMirror", flt.RequestMirror, route)
		case gatewayv1.HTTPRouteFilterCORS:
			err = readCORSFilter(flt.CORS, route) // gatewaycors.go
		default:
			err = fmt.Errorf("filter type %q is not supported", flt.Type)
		}
		if err != nil {
			g.leaveOut(r, ff, string(gatewayv1.RouteReasonUnsupportedValue), err.Error()+"; the rule is not served")
			return false
		}
	}
	if route.Redirect != nil && route.Rewrite != nil {
		g.leaveOut(r, f+".filters", string(gatewayv1.RouteReasonIncompatibleFilters), "a rule cannot both redirect and rewrite; the rule is not served")
		return false
	}
	g.dropMirrorsOfRedirect(r, f, route)
	return true
}

// mergeHeaderFilter adds a Gateway API header filter to *m.
func mergeHeaderFilter(m **lbconfig.HeaderModifier, hf *gatewayv1.HTTPHeaderFilter, request bool) error {
	if hf == nil {
		return fmt.Errorf("the filter has no settings")
	}
	if *m == nil {
		*m = &lbconfig.HeaderModifier{}
	}
	out := *m
	for _, h := range hf.Set {
		out.Set = append(out.Set, lbconfig.Header{Name: string(h.Name), Value: h.Value})
	}
	for _, h := range hf.Add {
		out.Add = append(out.Add, lbconfig.Header{Name: string(h.Name), Value: h.Value})
	}
	out.Remove = append(out.Remove, hf.Remove...)
	return out.Check(request)
}

// readRedirect converts a RequestRedirect filter; the status code is 302
// unless set.
func readRedirect(rr *gatewayv1.HTTPRequestRedirectFilter) (*lbconfig.Redirect, error) {
	if rr == nil {
		return nil, fmt.Errorf("the filter has no settings")
	}
	rd := &lbconfig.Redirect{StatusCode: 302}
	if rr.StatusCode != nil {
		rd.StatusCode = int32(*rr.StatusCode)
	}
	if rr.Scheme != nil {
		rd.Scheme = *rr.Scheme
	}
	if rr.Hostname != nil {
		rd.Hostname = strings.ToLower(string(*rr.Hostname))
	} else {
		rd.RequestHost = true // gatewayhost.go
	}
	if rr.Port != nil {
		rd.Port = *rr.Port
	}
	if p := rr.Path; p != nil {
		switch p.Type {
		case gatewayv1.FullPathHTTPPathModifier:
			if p.ReplaceFullPath == nil {
				return nil, fmt.Errorf("path type ReplaceFullPath needs replaceFullPath")
			}
			rd.Path = &lbconfig.RedirectPath{Type: lbconfig.ReplaceFullPath, Value: *p.ReplaceFullPath}
		case gatewayv1.PrefixMatchHTTPPathModifier:
			if p.ReplacePrefixMatch == nil {
				return nil, fmt.Errorf("path type ReplacePrefixMatch needs replacePrefixMatch")
			}
			rd.Path = &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: *p.ReplacePrefixMatch}
		default:
			return nil, fmt.Errorf("path type %q is not supported", p.Type)
		}
	}
	return rd, checkRedirect(rd)
}

// checkRedirect checks what lbconfig can check of a redirect before it
// has a virtual host, with a route that would accept any path change.
func checkRedirect(rd *lbconfig.Redirect) error {
	cfg := redirectProbe(rd, "probe.invalid", lbconfig.MatchPrefix)
	return cfg.Validate()
}

// redirectProbe is a config with one route that redirects with rd on a
// virtual host named host, for lbconfig to check.
func redirectProbe(rd *lbconfig.Redirect, host string, match lbconfig.MatchType) *lbconfig.Config {
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "probe", Listeners: []lbconfig.Listener{{
			Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: host, Routes: []lbconfig.Route{{
				Path: "/", Match: match, Backend: lbconfig.BackendRef{Name: "probe"}, Redirect: rd,
			}}}},
		}}}},
		Backends: []lbconfig.Backend{{Name: "probe"}},
	}
}

// readURLRewrite converts the hostname and full-path parts of a URLRewrite
// filter: the hostname becomes the request's Host field.
func readURLRewrite(rw *gatewayv1.HTTPURLRewriteFilter, route *lbconfig.Route) error {
	if rw == nil {
		return fmt.Errorf("the filter has no settings")
	}
	if rw.Hostname != nil {
		host := strings.ToLower(string(*rw.Hostname))
		if err := mergeHeaderFilter(&route.RequestHeaders, &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "Host", Value: host}}}, true); err != nil {
			return err
		}
	}
	if p := rw.Path; p != nil {
		switch {
		case p.Type == gatewayv1.FullPathHTTPPathModifier && p.ReplaceFullPath != nil:
			route.Rewrite = &lbconfig.Rewrite{Path: *p.ReplaceFullPath}
		case p.Type == gatewayv1.PrefixMatchHTTPPathModifier && p.ReplacePrefixMatch != nil:
			route.Rewrite = &lbconfig.Rewrite{Type: lbconfig.ReplacePrefixMatch, Path: *p.ReplacePrefixMatch}
		default:
			return fmt.Errorf("path type %q without its value is not supported", clip.Value(string(p.Type)))
		}
		if err := lbconfig.CheckRewrite(route.Rewrite, 0); err != nil {
			return err
		}
	}
	return nil
}

// readBackendRefs sets the backends of route from a rule's backendRefs.
// A redirecting rule needs none; a rule without any, or whose weights
// are all zero, sends every request to the invalid backend, as the spec
// answers them with an error.
func (g *gatewayAPI) readBackendRefs(r *routeState, f string, refs []gatewayv1.HTTPBackendRef, route *lbconfig.Route) bool {
	shares := newBackendShares()
	weights := shares.weights
	invalid := g.invalidBackend(r.ref)
	for i, br := range refs {
		bf := fmt.Sprintf("%s.backendRefs[%d]", f, i)
		changes, served := g.readBackendFilters(r, bf, br.Filters) // gatewaybackendfilters.go
		if !served {
			// The share is answered with an error, not sent unfiltered.
			if w := weightOf(br.BackendRef); w >= 0 && w <= lbconfig.MaxWeight {
				weights[invalid] += w
				continue
			}
			g.leaveOut(r, bf+".weight", string(gatewayv1.RouteReasonUnsupportedValue), fmt.Sprintf("weight %d is not within 0 and %d; the rule is not served", weightOf(br.BackendRef), lbconfig.MaxWeight))
			return false
		}
		name, field, msg := g.weighRef(&r.routeCommon, bf, br.BackendRef, "its share of the requests is answered with an error", weights)
		if field != "" {
			g.leaveOut(r, field, string(gatewayv1.RouteReasonUnsupportedValue), msg+"; the rule is not served")
			return false
		}
		if name != invalid && !shares.addChanges(name, changes) {
			g.leaveOut(r, bf+".filters", string(gatewayv1.RouteReasonUnsupportedValue), "another backendRef of the rule sends to the same backend with other filters; the rule is not served")
			return false
		}
	}
	if route.Redirect != nil {
		route.Backend = lbconfig.BackendRef{Name: invalid}
		return true
	}
	primary, backends, msg := spreadWeights(weights, invalid)
	if msg != "" {
		g.leaveOut(r, f+".backendRefs", string(gatewayv1.RouteReasonUnsupportedValue), msg+"; the rule is not served")
		return false
	}
	route.Backend, route.Backends = primary, backends
	shares.withChanges(route)
	return true
}

// weighRef adds backendRef br of r, at field bf, to weights: its backend
// (the invalid backend when it cannot be resolved, which consequence
// explains) with its weight, and returns the backend's name. A weight
// out of bounds returns its field and why.
func (g *gatewayAPI) weighRef(r *routeCommon, bf string, br gatewayv1.BackendRef, consequence string, weights map[string]int64) (string, string, string) {
	w := weightOf(br)
	if w < 0 || w > lbconfig.MaxWeight {
		return "", bf + ".weight", fmt.Sprintf("weight %d is not within 0 and %d", w, lbconfig.MaxWeight)
	}
	name, reason, msg := g.resolveRef(r, br.BackendObjectReference)
	if reason != "" {
		g.unresolvedRef(r, bf, reason, msg, consequence)
		name = g.invalidBackend(r.ref)
	}
	weights[name] += w
	return name, "", ""
}

// weightOf is br's weight, 1 unless set.
func weightOf(br gatewayv1.BackendRef) int64 {
	if br.Weight != nil {
		return int64(*br.Weight)
	}
	return 1
}

// spreadWeights turns the weights of backends into the primary backend
// and, for more than one, the weighted backends; weights that are all
// zero, or no backend, send everything to the invalid backend, as the
// spec answers them with an error. Weights lbconfig cannot take return
// why.
func spreadWeights(weights map[string]int64, invalid string) (lbconfig.BackendRef, []lbconfig.WeightedBackend, string) {
	var total int64
	for _, w := range weights {
		total += w
	}
	switch {
	case total == 0:
		weights = map[string]int64{invalid: 1}
	case total > lbconfig.MaxWeight:
		return lbconfig.BackendRef{}, nil, fmt.Sprintf("the weights add up to %d, more than %d", total, lbconfig.MaxWeight)
	case len(weights) > lbconfig.MaxWeightedRefs:
		return lbconfig.BackendRef{}, nil, fmt.Sprintf("more than %d backends", lbconfig.MaxWeightedRefs)
	}
	names := slices.Sorted(maps.Keys(weights))
	// The heaviest backend is the primary, for readers that see only
	// that; ties go to the first by name.
	primary := lbconfig.BackendRef{Name: slices.MaxFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(weights[a], weights[b]), cmp.Compare(b, a)) })}
	if len(names) == 1 {
		return primary, nil, ""
	}
	var out []lbconfig.WeightedBackend
	for _, n := range names {
		out = append(out, lbconfig.WeightedBackend{Name: n, Weight: int32(weights[n])})
	}
	return primary, out, ""
}

// invalidBackend returns the name of the backend of the route ref that
// takes what cannot be resolved, making it on first use: for HTTPRoutes
// one that answers 500 and for GRPCRoutes one that answers 503, which a
// gRPC client reads as UNAVAILABLE, as the spec asks (gatewayanswers.go);
// for routes of connections (TLSRoute, TCPRoute), which have no status to
// answer with, one without endpoints, which closes them. Kinds other than
// HTTPRoute are in the name, so that routes of two kinds with one name
// never share.
func (g *gatewayAPI) invalidBackend(ref lbconfig.ObjectRef) string {
	name := ref.Namespace + "/" + ref.Name + InvalidBackendSuffix
	b := lbconfig.Backend{Name: name, Status: http.StatusInternalServerError}
	if ref.Kind != kindHTTPRoute {
		name = ref.Namespace + "/" + ref.Name + "!" + strings.ToLower(ref.Kind) + InvalidBackendSuffix
		b = lbconfig.Backend{Name: name}
		if ref.Kind == kindGRPCRoute {
			b.Status = http.StatusServiceUnavailable
		}
	}
	if g.t.shared.backends[name] == nil {
		g.t.shared.backends[name] = &resolvedBackend{backend: b}
	}
	return name
}

// unresolvedRef records on r that the ref at f is not resolved, and
// what becomes of it.
func (g *gatewayAPI) unresolvedRef(r *routeCommon, f string, reason gatewayv1.RouteConditionReason, msg, consequence string) {
	g.t.problems.add(r.ref, f, string(reason), "%s; %s", msg, consequence)
	if r.resolvedReason == "" {
		r.resolvedReason, r.resolvedMessage = reason, msg
	}
}

// resolveRef resolves a reference of r to a Service port to the name of
// its backend, or says why it cannot (a reason other than "").
func (g *gatewayAPI) resolveRef(r *routeCommon, ref gatewayv1.BackendObjectReference) (string, gatewayv1.RouteConditionReason, string) {
	group, kind := "", kindService
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	ns := r.ref.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	switch {
	case group != "" || kind != kindService:
		return "", gatewayv1.RouteReasonInvalidKind, fmt.Sprintf("backend kind %q of group %q is not supported, only Service", kind, group)
	case !g.granted(r.ref.Kind, r.ref.Namespace, "", kindService, ns, string(ref.Name)):
		return "", gatewayv1.RouteReasonRefNotPermitted, fmt.Sprintf("no ReferenceGrant in namespace %q lets %ss of namespace %q use Service %q", ns, r.ref.Kind, r.ref.Namespace, ref.Name)
	case ref.Port == nil:
		return "", gatewayv1.RouteReasonUnsupportedValue, fmt.Sprintf("backendRef to Service %q needs a port", ref.Name)
	case !isDNSLabel(string(ref.Name), 63):
		return "", gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("%q is not a Service name", ref.Name)
	}
	svc := &networkingv1.IngressServiceBackend{Name: string(ref.Name), Port: networkingv1.ServiceBackendPort{Number: *ref.Port}}
	proto := r.protocol
	if proto == "" && g.appProtocol(ns, svc) == appProtocolH2C {
		proto = lbconfig.BackendH2C
	}
	name := backendName(ns, svc) + protocolSuffix(proto)
	rb := g.t.shared.backends[name]
	if rb == nil {
		rb = g.t.shared.newBuilder().resolve(ns, svc)
		rb.backend.Name = name
		rb.backend.Policy = DefaultPolicy()
		rb.backend.Protocol = proto
		g.t.shared.backends[name] = rb
	}
	if rb.issue != nil {
		return "", gatewayv1.RouteReasonBackendNotFound, rb.issue.msg
	}
	if ps := g.tlsPolicyOf(r, ns, svc.Name, svc.Port.Number); ps != nil && r.ref.Kind != kindTLSRoute {
		return g.underPolicy(ps, name, rb), "", "" // gatewaybackendtls.go
	}
	return name, "", ""
}

// appProtocolH2C is the Service port appProtocol of HTTP/2 in the clear
// with prior knowledge (KEP-3726's standard application protocols).
const appProtocolH2C = "kubernetes.io/h2c"

// appProtocol returns the appProtocol of the port of svc in namespace ns
// that a backendRef names by number, "" when there is none.
func (g *gatewayAPI) appProtocol(ns string, svc *networkingv1.IngressServiceBackend) string {
	for _, s := range g.snap.Services {
		if s == nil || s.Namespace != ns || s.Name != svc.Name {
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.Port == svc.Port.Number && p.AppProtocol != nil {
				return *p.AppProtocol
			}
		}
	}
	return ""
}

// readMatch sets the path, header, query parameter and method matches of
// route from m; false leaves the match out.
func (g *gatewayAPI) readMatch(r *routeState, f string, m gatewayv1.HTTPRouteMatch, route *lbconfig.Route) bool {
	typ, value := gatewayv1.PathMatchPathPrefix, "/"
	if p := m.Path; p != nil {
		if p.Type != nil {
			typ = *p.Type
		}
		if p.Value != nil {
			value = *p.Value
		}
	}
	var err error
	switch typ {
	case gatewayv1.PathMatchExact:
		route.Match, err = lbconfig.MatchExact, lbconfig.CheckPath(value)
	case gatewayv1.PathMatchPathPrefix:
		route.Match, err = lbconfig.MatchPrefix, lbconfig.CheckPath(value)
	case gatewayv1.PathMatchRegularExpression:
		route.Match, err = lbconfig.MatchRegex, lbconfig.CheckRegex(value)
	default:
		err = fmt.Errorf("path match type %q is not supported", typ)
	}
	if err != nil {
		g.leaveOut(r, f+".path", string(gatewayv1.RouteReasonUnsupportedValue), err.Error()+"; the match is not served")
		return false
	}
	route.Path = value
	if rd := route.Redirect; rd != nil && rd.Path != nil && rd.Path.Type == lbconfig.ReplacePrefixMatch && route.Match != lbconfig.MatchPrefix {
		g.reject(r, f+".path", "a redirect that replaces the prefix needs a PathPrefix match")
		return false
	}
	if rw := route.Rewrite; rw != nil && rw.ReplacesPrefix() && route.Match != lbconfig.MatchPrefix {
		g.reject(r, f+".path", "a URLRewrite that replaces the prefix needs a PathPrefix match")
		return false
	}
	route.Headers = nil
	seen := map[string]bool{}
	for i, h := range m.Headers {
		name := strings.ToLower(string(h.Name))
		if seen[name] {
			continue // the spec: only the first match of a name counts
		}
		seen[name] = true
		hm := lbconfig.HeaderMatch{Name: name, Type: lbconfig.HeaderExact, Value: h.Value}
		if h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression {
			hm.Type = lbconfig.HeaderRegularExpression
		}
		if err := checkHeaderMatch(hm); err != nil {
			g.leaveOut(r, fmt.Sprintf("%s.headers[%d]", f, i), string(gatewayv1.RouteReasonUnsupportedValue), err.Error()+"; the match is not served")
			return false
		}
		route.Headers = append(route.Headers, hm)
	}
	if len(route.Headers) > lbconfig.MaxMatches {
		g.leaveOut(r, f+".headers", string(gatewayv1.RouteReasonUnsupportedValue), fmt.Sprintf("more than %d header matches; the match is not served", lbconfig.MaxMatches))
		return false
	}
	return g.readQueryParams(r, f+".queryParams", m.QueryParams, route) && g.readMethod(r, f+".method", m.Method, route)
}

func checkHeaderMatch(m lbconfig.HeaderMatch) error {
	if err := lbconfig.CheckMatchHeaderName(m.Name); err != nil {
		return err
	}
	if m.Type == lbconfig.HeaderRegularExpression {
		return lbconfig.CheckHeaderRegexp(m.Value)
	}
	return lbconfig.CheckMatchValue(m.Value, false)
}
