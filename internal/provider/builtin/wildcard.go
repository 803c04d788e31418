package builtin

import "strings"

// wildcardFor returns the wildcard virtual host that takes host, as
// lbconfig.Listener.VirtualHostFor picks it: the one keyed by host less
// its first label (one-label or multi-label), else the multi-label one
// keyed by the longest shorter suffix; nil if none. Lookups of
// substrings of host: nothing is allocated.
func (pr *portRoutes) wildcardFor(host string) *vhost {
	i := strings.IndexByte(host, '.')
	if i < 0 {
		return nil
	}
	if i > 0 { // a first label to stand for
		if v := pr.wildcard[host[i+1:]]; v != nil {
			return v
		}
	}
	for {
		j := strings.IndexByte(host[i+1:], '.')
		if j < 0 {
			return nil
		}
		i += j + 1
		if v := pr.wildcard[host[i+1:]]; v != nil && v.multiLabel {
			return v
		}
	}
}
