package lbconfig

import (
	"cmp"
	"net/netip"
	"slices"
)

// Sort puts c in canonical order in place, so that equal configs render
// identically: load balancers, backends and certificates by name, load
// balancer addresses without duplicates, listeners
// by port, virtual hosts by hostname, routes by precedence, endpoints by
// address and port, sources by kind, namespace and name.
func (c *Config) Sort() {
	slices.SortFunc(c.LoadBalancers, func(a, b LoadBalancer) int { return cmp.Compare(a.Name, b.Name) })
	for i := range c.LoadBalancers {
		lb := &c.LoadBalancers[i]
		lb.Addresses = sortAddrs(lb.Addresses)
		slices.SortFunc(lb.Listeners, func(a, b Listener) int { return cmp.Compare(a.Port, b.Port) })
		slices.SortFunc(lb.Sources, CompareObjectRefs)
		for j := range lb.Listeners {
			l := &lb.Listeners[j]
			l.sortTCPBackends()
			slices.SortFunc(l.VirtualHosts, func(a, b VirtualHost) int { return cmp.Compare(a.Hostname, b.Hostname) })
			for k := range l.VirtualHosts {
				vh := &l.VirtualHosts[k]
				for r := range vh.Routes {
					vh.Routes[r].sortSplit()
				}
				slices.SortStableFunc(vh.Routes, CompareRoutes)
				for r := range vh.Routes {
					if a := vh.Routes[r].Access; a != nil {
						a.Allow = sortPrefixes(a.Allow)
						a.Deny = sortPrefixes(a.Deny)
					}
					vh.Routes[r].sortHeaders()
					vh.Routes[r].sortErrorPages()
					if rl := vh.Routes[r].RateLimit; rl != nil {
						rl.Exempt = sortPrefixes(rl.Exempt)
					}
					if ea := vh.Routes[r].ExternalAuth; ea != nil {
						ea.sort()
					}
				}
			}
		}
	}
	slices.SortFunc(c.Backends, func(a, b Backend) int { return cmp.Compare(a.Name, b.Name) })
	for i := range c.Backends {
		slices.SortFunc(c.Backends[i].Endpoints, func(a, b Endpoint) int {
			return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Port, b.Port))
		})
	}
	slices.SortFunc(c.Certificates, func(a, b Certificate) int { return cmp.Compare(a.Name, b.Name) })
	for i := range c.Certificates {
		slices.Sort(c.Certificates[i].Hosts)
	}
	c.sortCredentials()
}

// sortPrefixes sorts ps and drops duplicates, in place.
func sortPrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, netip.Prefix.Compare)
	return slices.Compact(ps)
}

// CompareRoutes orders routes by precedence: Exact before Prefix before
// Regex, then the longer path first, then by path text so the order is
// total (Regex routes of equal length in reverse text order, as
// ingress-nginx sorts its locations), then routes of the same path by
// their conditions (compareConditions).
func CompareRoutes(a, b Route) int {
	if a.Match != b.Match {
		return cmp.Compare(matchRank(a.Match), matchRank(b.Match))
	}
	ap, bp := a.Path, b.Path
	switch a.Match {
	case MatchPrefix:
		ap, bp = trimPrefixPath(ap), trimPrefixPath(bp)
	case MatchRegex:
		return cmp.Or(cmp.Compare(len(bp), len(ap)), cmp.Compare(bp, ap), compareConditions(a, b))
	}
	return cmp.Or(cmp.Compare(len(bp), len(ap)), cmp.Compare(ap, bp), compareConditions(a, b))
}

// matchRank orders match types: Exact, Prefix, Regex, then unknown ones.
func matchRank(m MatchType) int {
	switch m {
	case MatchExact:
		return 0
	case MatchPrefix:
		return 1
	case MatchRegex:
		return 2
	}
	return 3
}

// CompareObjectRefs orders references by kind, namespace and name.
func CompareObjectRefs(a, b ObjectRef) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}
