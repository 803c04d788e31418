package translate

import (
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Listener isolation: a request whose host matches several HTTP
// listeners of a Gateway on one port belongs to the most specific of
// them, and only the routes attached to that listener serve it. The
// virtual hosts of a port already pick the most specific hostname, so
// two things keep them isolated:
//
//   - a route hostname that a more specific listener of the port also
//     covers is not served through the less specific listener (a route
//     of listener "" or "*.example.com" with hostname abc.example.com,
//     when listener abc.example.com exists, serves nothing there);
//   - every listener hostname with a less specific listener beside it
//     has a virtual host, without routes when none attaches, so that its
//     hosts get 404 rather than the less specific listener's routes.
//
// Within one listener a request for an exact hostname does not fall
// through to the routes of a wildcard hostname: see docs/gateway-api.md.

// httpListeners returns, by port, the usable listeners of st that route
// HTTP requests by hostname.
func httpListeners(st *gatewayState) map[int32][]*listenerState {
	out := map[int32][]*listenerState{}
	for _, ls := range st.listeners {
		if ls.usable() && (ls.l.Protocol == gatewayv1.HTTPProtocolType || ls.l.Protocol == gatewayv1.HTTPSProtocolType) {
			out[ls.l.Port] = append(out[ls.l.Port], ls)
		}
	}
	return out
}

// isolatedHosts returns the hosts of a route attached to ls that ls
// serves: those no more specific listener of its port (of port) covers.
func isolatedHosts(ls *listenerState, hosts []string, port []*listenerState) []string {
	own := ls.hostname()
	var out []string
	for _, h := range hosts {
		taken := false
		for _, other := range port {
			q := other.hostname()
			if other != ls && q != own && hostCovers(own, q) && hostCovers(q, h) {
				taken = true
				break
			}
		}
		if !taken {
			out = append(out, h)
		}
	}
	return out
}

// isolatingHosts returns the listeners of a port whose hostname has a
// less specific listener beside it.
func isolatingHosts(port []*listenerState) []*listenerState {
	var out []*listenerState
	for _, ls := range port {
		q := ls.hostname()
		for _, other := range port {
			if other != ls && q != "" && q != other.hostname() && hostCovers(other.hostname(), q) {
				out = append(out, ls)
				break
			}
		}
	}
	return out
}

// hostCovers reports whether every host pattern h matches is matched by
// pattern p: "" covers everything, "*.s" the names and wildcards ending
// in ".s" and itself, a name only itself.
func hostCovers(p, h string) bool {
	switch {
	case p == "" || p == h:
		return true
	case strings.HasPrefix(p, "*."):
		return h != "" && strings.HasSuffix(h, p[1:])
	}
	return false
}
