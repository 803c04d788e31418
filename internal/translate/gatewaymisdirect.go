package translate

import (
	"strconv"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// Misdirected requests (GatewayHTTPSListenerDetectMisdirectedRequests):
// where several HTTPS listeners of a Gateway share a port, the virtual
// hosts each serves form a connection group named after it
// (lbconfig.VirtualHost.ConnectionGroup), so that a request whose Host
// belongs to another listener than its connection's server name is
// answered 421. Every such listener's hostname has a virtual host of its
// own (its certificate is served for it), and a route hostname that a
// more specific listener takes is that listener's (routeHosts), so the
// virtual host that picks a name is one of the listener that the spec
// gives the name to. Hence, as the spec asks: a Host that the server
// name's listener does not take but another one does gets 421; one that
// no listener takes gets 404 (it picks no virtual host, or the catch-all
// listener's). A port with one HTTPS listener needs no groups: every
// request there is that listener's.

// connectionGroups returns the connection group of each usable HTTPS
// listener of st that shares its port with another.
func connectionGroups(st *gatewayState) map[*listenerState]string {
	byPort := map[gatewayv1.PortNumber][]int{}
	for i, ls := range st.listeners {
		if ls.usable() && ls.l.Protocol == gatewayv1.HTTPSProtocolType {
			byPort[ls.l.Port] = append(byPort[ls.l.Port], i)
		}
	}
	groups := map[*listenerState]string{}
	for _, port := range byPort {
		if len(port) < 2 {
			continue
		}
		names := map[string]int{}
		for _, i := range port {
			names[string(st.listeners[i].l.Name)]++
		}
		for _, i := range port {
			groups[st.listeners[i]] = connectionGroup(st.listeners[i], i, names)
		}
	}
	return groups
}

// connectionGroup names the connection group of listener i of a Gateway,
// ls: its name, as a user would look for it; or, for a name that is not
// a valid group or is not unique among names (which the API server
// refuses, a file source may not), "listeners/<i>", which no name
// spells, having a "/".
func connectionGroup(ls *listenerState, i int, names map[string]int) string {
	name := string(ls.l.Name)
	if name != "" && names[name] == 1 && !strings.Contains(name, "/") && lbconfig.CheckConnectionGroup(name) == nil {
		return name
	}
	return "listeners/" + strconv.Itoa(i)
}
