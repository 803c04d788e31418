package builtin

import (
	"fmt"
	"net/http"

	"ingress-controller/pkg/lbconfig"
)

// Misdirected requests (lbconfig.VirtualHost.ConnectionGroup): on a
// listener with connection groups, a request whose Host picks a virtual
// host of another group than the one its connection's server name
// picks is answered 421, as lbconfig.Listener.Misdirected says. HTTPS
// requests are served on net/http's path only, so the fast path, which
// serves plain HTTP, never checks anything; a listener without groups
// checks nothing either.

// attachConnectionGroups numbers the connection groups of l's virtual
// hosts from 1, so that comparing them compares two integers.
func attachConnectionGroups(pr *portRoutes, l lbconfig.Listener) error {
	ids := map[string]uint32{}
	for k, vh := range l.VirtualHosts {
		g := vh.ConnectionGroup
		if g == "" {
			continue
		}
		if l.Protocol != lbconfig.ProtocolHTTPS || vh.Passthrough != nil {
			return fmt.Errorf("virtual host %d (%q): connectionGroup: only virtual hosts that terminate TLS on HTTPS listeners have one", k, vh.Hostname)
		}
		if ids[g] == 0 {
			ids[g] = uint32(len(ids) + 1)
		}
		pr.vhostNamed(vh.Hostname).group = ids[g]
		pr.grouped = true
	}
	return nil
}

// misdirected reports whether r, a request on pr, a listener with
// connection groups, is to be answered 421.
func (pr *portRoutes) misdirected(r *http.Request) bool {
	if r.TLS == nil {
		return false
	}
	h := pr.vhostFor(lbconfig.NormalizeHost(r.Host))
	if h == nil || h.group == 0 {
		return false
	}
	s := pr.vhostFor(lbconfig.NormalizeHost(r.TLS.ServerName))
	return s != nil && s.group != 0 && s.group != h.group
}
