package translate

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Listener isolation: a request whose host matches several HTTP
// listeners of a Gateway on one port belongs to the most specific of
// them, and only the routes attached to that listener serve it. The
// virtual hosts of a port pick the most specific hostname, and a route
// hostname that a more specific listener covers is not served through a
// less specific one (routeHosts, gatewayroute.go). What is left: a
// listener hostname with a less specific listener beside it always has
// a virtual host, without routes when none attaches, so that its hosts
// get 404 rather than the less specific listener's routes.
//
// Within one listener a request that no route of its exact hostname
// takes goes on to the routes of the listener's wildcard hostnames, then
// those without hostname; never to another listener's
// (gatewayfallthrough.go).

// isolatedListeners returns the usable HTTP listeners of st whose
// hostname a less specific usable HTTP listener of the same port also
// takes.
func isolatedListeners(st *gatewayState) []*listenerState {
	var out []*listenerState
	for _, ls := range st.listeners {
		if !routesHTTP(ls) || ls.hostname() == "" {
			continue
		}
		for _, o := range st.listeners {
			if o != ls && routesHTTP(o) && o.l.Port == ls.l.Port && specificity(o.hostname()) < specificity(ls.hostname()) &&
				(o.hostname() == "" || hostnameCovers(o.hostname(), ls.hostname())) {
				out = append(out, ls)
				break
			}
		}
	}
	return out
}

// routesHTTP reports whether ls serves and routes HTTP requests by
// hostname.
func routesHTTP(ls *listenerState) bool {
	return ls.usable() && (ls.l.Protocol == gatewayv1.HTTPProtocolType || ls.l.Protocol == gatewayv1.HTTPSProtocolType)
}
