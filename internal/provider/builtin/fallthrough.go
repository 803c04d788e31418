package builtin

import "ingress-controller/pkg/lbconfig"

// linkFallThrough points each virtual host of pr, compiled from l, at
// the one its lbconfig.VirtualHost.FallThrough names. Validate has
// checked that each names a less specific one, so chains end.
func linkFallThrough(pr *portRoutes, l lbconfig.Listener) {
	for _, vh := range l.VirtualHosts {
		if vh.FallThrough == nil {
			continue
		}
		if v := pr.vhostNamed(vh.Hostname); v != nil {
			v.next = pr.vhostNamed(*vh.FallThrough)
		}
	}
}
