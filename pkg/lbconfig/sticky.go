package lbconfig

// A route's sticky backends (Route.StickyBackends): the weighted choice
// among Backends gives way to a client's affinity. A request that carries
// the affinity cookie of one of the route's Backends (its Policy's
// AffinityByCookie), with a value that names an endpoint of that backend
// the provider would pick by cookie (ready, not ejected), goes to that
// backend whatever the weights, even 0; any other request, a cookie
// naming no such endpoint included, is drawn by weight. It is
// ingress-nginx's affinity-canary-behavior: sticky, which keeps a client
// that reached the canary on it.

// stickyBackends checks Route.StickyBackends at field f: only a route
// that splits has backends to stick to.
func (v *validator) stickyBackends(f string, r Route) {
	if r.StickyBackends && !r.Split() {
		v.add(f+".stickyBackends", "a route without backends to split has none to stick to")
	}
}
