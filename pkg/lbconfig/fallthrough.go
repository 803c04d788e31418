package lbconfig

import (
	"fmt"
	"strings"
)

// Falling through to less specific hostnames (VirtualHost.FallThrough).
// A request is routed by the virtual host its Host picks (VirtualHostFor)
// and, when none of that one's routes takes it, by the routes of the
// virtual host its FallThrough names, and so on: the rules of Gateway
// API, where a route on "a.example.com" with only "/api" leaves
// "a.example.com/other" to a route on "*.example.com", then to one
// without hostname. Hostnames rank before paths: a wildcard's longer
// path never beats the exact hostname's shorter one, which copying the
// wildcard's routes under the exact hostname would let it do. The
// request keeps what its own virtual host gave it: certificate, client
// authentication, connection group.
//
// The named virtual host takes every host the naming one takes and is
// less specific, so a chain ends, and a request never reaches a virtual
// host its Host would not pick without the more specific ones. Which
// virtual hosts chain is the source's business: a Gateway chains the
// hostnames of one listener only (listener isolation).

// VirtualHostsFor returns the virtual hosts whose routes serve host, which
// must be normalized (NormalizeHost), in the order they are tried: the one
// VirtualHostFor picks, then those FallThrough names. It is the reference
// providers are tested against; on a config that Validate refuses it
// stops at a virtual host that is missing or seen before.
func (l *Listener) VirtualHostsFor(host string) []*VirtualHost {
	vh := l.VirtualHostFor(host)
	var out []*VirtualHost
	for vh != nil && len(out) <= len(l.VirtualHosts) {
		out = append(out, vh)
		if vh.FallThrough == nil {
			break
		}
		vh = l.virtualHostNamed(*vh.FallThrough)
	}
	return out
}

// virtualHostNamed returns the virtual host of l with this Hostname, or
// nil.
func (l *Listener) virtualHostNamed(name string) *VirtualHost {
	for i := range l.VirtualHosts {
		if l.VirtualHosts[i].Hostname == name {
			return &l.VirtualHosts[i]
		}
	}
	return nil
}

// Covers reports whether vh takes every host that other takes, and is
// less specific: the catch-all covers every other virtual host, a
// wildcard covers the exact names it matches and, if it is multi-label,
// the wildcards of longer suffixes.
func (vh *VirtualHost) Covers(other *VirtualHost) bool {
	switch {
	case vh.Hostname == other.Hostname || other.Hostname == "":
		return false
	case vh.Hostname == "":
		return true
	case !strings.HasPrefix(vh.Hostname, "*."):
		return false
	case !strings.HasPrefix(other.Hostname, "*."):
		return vh.Matches(other.Hostname)
	}
	// "*.a.example.com" (one or more labels) under "*.example.com"
	// (more than one): every host it takes ends ".a.example.com".
	return vh.MultiLabel && vh.Matches(other.Hostname[2:])
}

// virtualHostsByName indexes l's virtual hosts by Hostname, the first of
// each name as virtualHostNamed finds it, so that checking every link of
// a listener costs one pass over it, not one per link.
func (l *Listener) virtualHostsByName() map[string]*VirtualHost {
	named := make(map[string]*VirtualHost, len(l.VirtualHosts))
	for i := range l.VirtualHosts {
		if _, seen := named[l.VirtualHosts[i].Hostname]; !seen {
			named[l.VirtualHosts[i].Hostname] = &l.VirtualHosts[i]
		}
	}
	return named
}

// fallThrough checks the FallThrough of virtual host vh of listener l, at
// field f; named is l.virtualHostsByName().
func (v *validator) fallThrough(f string, l *Listener, vh *VirtualHost, named map[string]*VirtualHost) {
	if vh.FallThrough == nil {
		return
	}
	name := *vh.FallThrough
	to := named[name]
	switch {
	case l.Protocol != ProtocolHTTP && l.Protocol != ProtocolHTTPS:
		v.add(f, "only virtual hosts of HTTP and HTTPS listeners fall through")
	case vh.Passthrough != nil || vh.TCP != nil:
		v.add(f, "a virtual host without routes does not fall through")
	case to == nil:
		v.add(f, fmt.Sprintf("no virtual host %q on this listener", name))
	case !to.Covers(vh):
		v.add(f, fmt.Sprintf("virtual host %q does not take every host %q takes, or is not less specific", name, vh.Hostname))
	case to.Passthrough != nil || to.TCP != nil:
		v.add(f, fmt.Sprintf("virtual host %q has no routes to fall through to", name))
	case to.ConnectionGroup != vh.ConnectionGroup:
		v.add(f, fmt.Sprintf("virtual host %q is of connection group %q, not %q", name, to.ConnectionGroup, vh.ConnectionGroup))
	}
}
