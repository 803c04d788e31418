package builtin

import "strings"

// addWildcard adds v, a wildcard virtual host, under what follows its
// "*.".
func (pr *portRoutes) addWildcard(suffix string, v *vhost) {
	pr.wildcard[suffix] = v
	if v.multiLabel {
		pr.multiMax = max(pr.multiMax, len(suffix))
	}
}

// wildcardFor returns the wildcard virtual host that takes host, as
// lbconfig.Listener.VirtualHostFor picks it: the one keyed by host less
// its first label (one-label or multi-label), else the multi-label one
// keyed by the longest shorter suffix; nil if none. Lookups of
// substrings of host, nothing allocated; suffixes longer than every
// multi-label key are skipped, so a Host of many labels costs a scan,
// not a hash of each of its suffixes.
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
	for pr.multiMax > 0 {
		j := strings.IndexByte(host[i+1:], '.')
		if j < 0 {
			return nil
		}
		i += j + 1
		if len(host)-i-1 > pr.multiMax {
			continue
		}
		if v := pr.wildcard[host[i+1:]]; v != nil && v.multiLabel {
			return v
		}
	}
	return nil
}
