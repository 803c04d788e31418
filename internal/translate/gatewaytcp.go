package translate

import (
	"fmt"
	"slices"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// TCP listeners and TCPRoutes: a listener of protocol TCP takes TCPRoutes
// (attached as HTTPRoutes are, by parentRefs and allowedRoutes; a TCP
// listener's hostname is ignored) and becomes an lbconfig TCP listener
// whose connections go to the route's backendRefs, by weight, one choice
// per connection. A backendRef that cannot be resolved keeps its share,
// which goes to a backend without endpoints: those connections are
// closed, as the spec asks them to be refused.
//
// Several TCPRoutes on one listener are all Accepted and counted in its
// attachedRoutes, but only the oldest (creationTimestamp, then
// namespace/name) is served there, as the spec's conflict rules say;
// the others get a problem. A listener without a route closes every
// connection.

const kindTCPRoute = "TCPRoute"

// tcpRouteState is one TCPRoute being translated.
type tcpRouteState struct {
	routeCommon
	route *gatewayv1.TCPRoute
	// backend and backends are where its connections go: the primary
	// backend and, for more than one, all of them by weight.
	backend  lbconfig.BackendRef
	backends []lbconfig.WeightedBackend
}

// readTCPRoutes attaches the TCPRoutes of snap, oldest first, and reads
// the backends of those attached to one of our Gateways.
func (g *gatewayAPI) readTCPRoutes(snap *Snapshot) {
	for _, r := range snap.TCPRoutes {
		if r == nil {
			continue
		}
		g.tcpRoutes = append(g.tcpRoutes, &tcpRouteState{route: r, routeCommon: routeCommon{
			ref:        lbconfig.ObjectRef{Kind: kindTCPRoute, Namespace: r.Namespace, Name: r.Name},
			generation: r.Generation, parentRefs: r.Spec.ParentRefs, anyHost: true,
		}})
	}
	slices.SortFunc(g.tcpRoutes, func(a, b *tcpRouteState) int { return byAge(a.route, b.route) })
	g.tcpRoutes = slices.CompactFunc(g.tcpRoutes, func(a, b *tcpRouteState) bool { return a.ref == b.ref })
	for _, r := range g.tcpRoutes {
		g.attach(&r.routeCommon) // gatewayroute.go
		if len(r.parents) > 0 {
			g.readTCPRules(r)
		}
	}
}

// readTCPRules reads the backendRefs of r's rule. The CRD allows one
// rule; further rules (from manifests that were not validated) are left
// out.
func (g *gatewayAPI) readTCPRules(r *tcpRouteState) {
	invalid := g.invalidBackend(r.ref)
	r.backend = lbconfig.BackendRef{Name: invalid}
	rules := r.route.Spec.Rules
	if len(rules) == 0 {
		g.leaveOut(r, "spec.rules", string(gatewayv1.RouteReasonUnsupportedValue), "a TCPRoute needs a rule; its connections are refused")
		return
	}
	for i := range rules[1:] {
		g.leaveOut(r, fmt.Sprintf("spec.rules[%d]", i+1), string(gatewayv1.RouteReasonUnsupportedValue), "a TCPRoute has one rule; this one is not served")
	}
	weights := map[string]int64{}
	for i, br := range rules[0].BackendRefs {
		bf := fmt.Sprintf("spec.rules[0].backendRefs[%d]", i)
		if _, field, msg := g.weighRef(&r.routeCommon, bf, br, "its share of the connections is refused", weights); field != "" {
			g.leaveOut(r, field, string(gatewayv1.RouteReasonUnsupportedValue), msg+"; the route's connections are refused")
			return
		}
	}
	primary, backends, msg := spreadWeights(weights, invalid)
	if msg != "" {
		g.leaveOut(r, "spec.rules[0].backendRefs", string(gatewayv1.RouteReasonUnsupportedValue), msg+"; the route's connections are refused")
		return
	}
	r.backend, r.backends = primary, backends
}

// tcpListener is the lbconfig listener of TCP listener ls of st, before
// any route is added: it closes every connection.
func (g *gatewayAPI) tcpListener(st *gatewayState, ls *listenerState) *lbconfig.Listener {
	return &lbconfig.Listener{Port: ls.l.Port, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: g.invalidBackend(st.ref)}}
}

// addTCPRoutes sends the connections of each TCP listener of st (in
// listeners, by port) to the oldest TCPRoute attached to it, and adds
// the routes to lb's sources.
func (g *gatewayAPI) addTCPRoutes(st *gatewayState, lb *lbconfig.LoadBalancer, listeners map[int32]*lbconfig.Listener) {
	held := map[*listenerState]lbconfig.ObjectRef{}
	for _, r := range g.tcpRoutes {
		for _, ps := range r.parents {
			if ps.gw != st || !ps.accepted {
				continue
			}
			lb.Sources = append(lb.Sources, r.ref)
			for _, ls := range ps.listeners {
				l := listeners[ls.l.Port]
				if !ls.usable() || l == nil || l.Protocol != lbconfig.ProtocolTCP {
					continue
				}
				if owner, ok := held[ls]; ok {
					if owner != r.ref {
						g.t.problems.add(r.ref, ps.field, "RouteConflict", "%s (older) already holds listener %q; this route is not served there", owner, ls.l.Name)
					}
					continue
				}
				held[ls] = r.ref
				l.TCP = &lbconfig.BackendRef{Name: r.backend.Name}
				l.TCPBackends = slices.Clone(r.backends)
			}
		}
	}
}

// tcpRouteStatuses are the status.parents entries of the TCPRoutes with a
// parentRef to one of our Gateways, by "<namespace>/<name>".
func (g *gatewayAPI) tcpRouteStatuses() map[string][]gatewayv1.RouteParentStatus {
	out := map[string][]gatewayv1.RouteParentStatus{}
	for _, r := range g.tcpRoutes {
		k := r.ref.Namespace + "/" + r.ref.Name
		for _, ps := range r.parents {
			out[k] = append(out[k], routeParentStatus(&r.routeCommon, ps))
		}
	}
	return out
}
