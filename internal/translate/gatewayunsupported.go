package translate

import gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

// HTTPRoute features that the generic config does not have yet, one
// function each, so that each can be wired to its lbconfig field alone.
// Each reports a problem; those whose absence would serve requests other
// than asked leave the match or rule out (the caller does).

// queryMatchNotSupported: a match on query parameters is left out, so
// that requests without them do not take its route.
func queryMatchNotSupported(g *gatewayAPI, r *routeState, field string) {
	g.leaveOut(r, field, string(gatewayv1.RouteReasonUnsupportedValue), "query parameter matches are not supported yet; the match is not served")
}

// methodMatchNotSupported: a match on the method is left out, for the
// same reason.
func methodMatchNotSupported(g *gatewayAPI, r *routeState, field string) {
	g.leaveOut(r, field, string(gatewayv1.RouteReasonUnsupportedValue), "method matches are not supported yet; the match is not served")
}

// prefixRewriteNotSupported: a URLRewrite with ReplacePrefixMatch leaves
// its rule out, as its backends would get paths they do not expect.
func prefixRewriteNotSupported(g *gatewayAPI, r *routeState, field string) {
	g.leaveOut(r, field, string(gatewayv1.RouteReasonUnsupportedValue), "URLRewrite with ReplacePrefixMatch is not supported yet; the rule is not served")
}

// mirrorNotSupported: a RequestMirror filter is ignored; the rule is
// served without copies of its requests.
func mirrorNotSupported(g *gatewayAPI, r *routeState, field string) {
	g.t.problems.add(r.ref, field, string(gatewayv1.RouteReasonUnsupportedValue), "RequestMirror is not supported yet; the rule is served without mirroring")
}

// timeoutsNotSupported: the rule is served with the backends' default
// timeouts.
func timeoutsNotSupported(g *gatewayAPI, r *routeState, field string) {
	g.t.problems.add(r.ref, field, string(gatewayv1.RouteReasonUnsupportedValue), "per-route timeouts are not supported yet; the rule is served with the default timeouts")
}
