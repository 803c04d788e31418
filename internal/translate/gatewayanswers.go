package translate

import (
	"fmt"
	"net/http"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// What Gateway API answers itself, as backends that are answers
// (lbconfig.Backend.Status):
//
//   - a backendRef that cannot be resolved (an unknown kind, a missing
//     Service, another namespace without a ReferenceGrant) and a rule
//     without backendRefs: 500, for that ref's share of the rule's
//     requests (the route's invalid backend, InvalidBackendSuffix);
//   - a request whose path matches a rule but none of the matches of its
//     host, where nothing shorter takes it (fillGroups): 404, the
//     NotFoundBackend, as a request that matches no path gets 404.
//
// Listeners: only the protocols in protocolKinds are served; a listener
// of another is Accepted False (UnsupportedProtocol) and takes no route
// kinds, and a Gateway with such a listener, or a conflicted one, that is
// still accepted says so with the reason ListenersNotValid.

// NotFoundBackend is the backend, an answer of 404, of the requests a
// Gateway's routes match by path but by nothing else.
const NotFoundBackend = "gateway!not-found"

// protocolServed reports whether listeners of p are served, else says
// what is.
func protocolServed(p gatewayv1.ProtocolType) (bool, string) {
	if servedKinds(p) != nil {
		return true, ""
	}
	names := make([]string, len(protocolKinds))
	for i, pk := range protocolKinds {
		names[i] = string(pk.protocol)
	}
	return false, fmt.Sprintf("protocol %q is not supported, only %s", p, strings.Join(names, ", "))
}

// notFoundBackend returns NotFoundBackend, making it on first use; the
// route it is for does not matter.
func (g *gatewayAPI) notFoundBackend(lbconfig.ObjectRef) string {
	if g.t.shared.backends[NotFoundBackend] == nil {
		g.t.shared.backends[NotFoundBackend] = &resolvedBackend{backend: lbconfig.Backend{Name: NotFoundBackend, Status: http.StatusNotFound}}
	}
	return NotFoundBackend
}

// listenersNotValid says which listeners of an accepted Gateway are not
// served for what they are (not accepted, or conflicted), or "" when
// every one is.
func listenersNotValid(st *gatewayState) string {
	var bad, good []string
	for _, ls := range ownListeners(st) {
		if ls.accepted && ls.conflictReason == "" {
			good = append(good, string(ls.l.Name))
			continue
		}
		reason := ls.conflictReason
		if !ls.accepted {
			reason = ls.acceptedReason
		}
		bad = append(bad, fmt.Sprintf("%s (%s)", ls.l.Name, reason))
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("listeners not valid: %s; accepted: %s", strings.Join(bad, ", "), strings.Join(good, ", "))
}
