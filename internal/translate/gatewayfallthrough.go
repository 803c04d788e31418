package translate

import (
	"maps"
	"slices"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Hostnames before paths: the routes of a Gateway listener serve a
// request by the most specific of their hostnames that matches its
// Host first ("precedence must be given to rules from the HTTPRoute
// with the largest number of characters in a matching non-wildcard
// hostname, then in a matching hostname"), and only then by path,
// method, headers and query. So a request for "a.example.com" that no
// route on "a.example.com" takes tries the listener's routes on
// "*.example.com", then those without hostname: each virtual host of a
// port names, as its lbconfig.VirtualHost.FallThrough, the most
// specific virtual host of the same Gateway listener that takes every
// host it takes. Never one of another listener (listener isolation,
// gatewayisolation.go), and not where routes of several listeners
// share a virtual host, which routeHosts leaves to none.

// linkFallThrough sets the FallThrough of the virtual hosts of one port.
// Only wildcards and the catch-all take another's hosts, so only they
// are tried as targets: a port of many exact hostnames costs a pass over
// its few wildcards per hostname, not over all its hostnames.
func linkFallThrough(hosts map[string]*vhostBuild) {
	names := slices.Sorted(maps.Keys(hosts))
	var targets []*vhostBuild
	for _, name := range names {
		if name == "" || strings.HasPrefix(name, "*.") {
			targets = append(targets, hosts[name])
		}
	}
	for _, name := range names {
		vb := hosts[name]
		var to *vhostBuild
		for _, ob := range targets {
			if fallsInto(vb, ob) && (to == nil || len(ob.vh.Hostname) > len(to.vh.Hostname)) {
				to = ob
			}
		}
		if to != nil {
			vb.vh.FallThrough = &to.vh.Hostname
		}
	}
}

// fallsInto reports whether a request vb takes may try to's routes: both
// of one listener only, serving routes, to less specific and taking
// every host vb takes. The longest such hostname is the most specific:
// every one is a multi-label wildcard or the catch-all.
func fallsInto(vb, to *vhostBuild) bool {
	return len(vb.listeners) == 1 && slices.Equal(vb.listeners, to.listeners) && routed(&vb.vh) && routed(&to.vh) &&
		vb.vh.ConnectionGroup == to.vh.ConnectionGroup && to.vh.Covers(&vb.vh)
}

// routed reports whether vh serves HTTP requests by routes.
func routed(vh *lbconfig.VirtualHost) bool {
	return vh.Passthrough == nil && vh.TCP == nil
}
