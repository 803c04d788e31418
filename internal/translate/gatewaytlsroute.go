package translate

import (
	"fmt"
	"maps"
	"slices"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// TLSRoutes (gateway.networking.k8s.io/v1) attach to TLS listeners as
// HTTPRoutes attach to HTTP ones (gatewayroute.go). Each hostname the
// route gets on a listener becomes a virtual host of the listener's
// lbconfig.ProtocolTLSPassthrough listener that takes the TLS
// connections whose server name (SNI) picks it, as
// lbconfig.Listener.VirtualHostFor picks virtual hosts: the same rule as
// HTTP virtual hosts, wildcards included. On a listener of mode
// Passthrough its Passthrough backend gets them as they are; on one of
// mode Terminate the virtual host has the listener's certificate and its
// TCP backend gets the decrypted bytes. The oldest route keeps a
// hostname, whichever listener of the port gave it. A TLSRoute has one rule; its backendRefs that cannot
// be resolved, or with no weight, send the connections to a backend
// without endpoints, which closes them, as the spec asks. Weights over
// several backends are not supported yet: such a rule's connections are
// closed too (UnsupportedValue), rather than all sent to one backend.

// addTLSRoutes adds the TLSRoutes of snap to g.routes.
func (g *gatewayAPI) addTLSRoutes(snap *Snapshot) {
	for _, r := range snap.TLSRoutes {
		if r == nil {
			continue
		}
		g.routes = append(g.routes, &routeState{
			obj: r, tls: r, routeCommon: routeCommon{
				ref: routeRef(kindTLSRoute, r), generation: r.Generation, parentRefs: r.Spec.ParentRefs, hostnames: r.Spec.Hostnames,
			},
		})
	}
}

// readTLSRule resolves the backendRefs of TLSRoute r to r.backend.
func (g *gatewayAPI) readTLSRule(r *routeState) {
	if r.read {
		return
	}
	r.read = true
	weights := map[string]int64{}
	for i, rule := range r.tls.Spec.Rules {
		for j, br := range rule.BackendRefs {
			if br.Weight != nil && *br.Weight <= 0 {
				continue
			}
			name, reason, msg := g.resolveRef(&r.routeCommon, br.BackendObjectReference)
			if reason != "" {
				g.unresolvedRef(&r.routeCommon, fmt.Sprintf("spec.rules[%d].backendRefs[%d]", i, j), reason, msg, "its connections are closed")
				name = g.invalidBackend(r.ref)
			}
			weights[name]++
		}
	}
	names := slices.Sorted(maps.Keys(weights))
	switch len(names) {
	case 0:
		r.backend = g.invalidBackend(r.ref)
	case 1:
		r.backend = names[0]
	default:
		r.backend = g.invalidBackend(r.ref)
		g.leaveOut(r, "spec.rules[0].backendRefs", string(gatewayv1.RouteReasonUnsupportedValue),
			fmt.Sprintf("TLS connections cannot be spread over %d backends yet; the connections are closed", len(names)))
	}
}

// addTLSRoute passes the TLS connections of the hostnames TLSRoute r
// gets on the listeners of ps through to its backend, on the virtual
// hosts vhost makes.
func (g *gatewayAPI) addTLSRoute(r *routeState, ps *parentState, vhost func(*listenerState, string) *vhostBuild) {
	for k, ls := range ps.listeners {
		if !ls.usable() {
			continue
		}
		for _, h := range ps.hosts[k] {
			vb := vhost(ls, h)
			if owner, ok := vb.owners[""]; ok {
				if owner != r.ref {
					g.t.problems.add(r.ref, ps.field, "RouteConflict",
						"%s (older) already takes the TLS connections for hostname %q; they do not come to this route", owner, h)
				}
				continue
			}
			vb.owners[""] = r.ref
			backend := &lbconfig.BackendRef{Name: r.backend}
			if ls.terminates() {
				vb.vh.TLS, vb.vh.TCP = &lbconfig.CertificateRef{Name: ls.cert.Name}, backend
			} else {
				vb.vh.TLS, vb.vh.Passthrough = nil, backend
			}
		}
	}
}
