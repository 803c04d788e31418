package translate

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// placePorts gives each Gateway listener its port, or marks it
// PortUnavailable: the Ingress load balancers of cfg keep theirs, then
// the oldest Gateway keeps a port on overlapping addresses.
func (g *gatewayAPI) placePorts(cfg *lbconfig.Config) {
	type holder struct {
		addr netip.Addr
		name string
	}
	taken := map[int32][]holder{}
	for _, lb := range cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, a := range lb.BindAddresses() {
				taken[l.Port] = append(taken[l.Port], holder{a, fmt.Sprintf("load balancer %q (Ingress load balancers keep their ports)", lb.Name)})
			}
		}
	}
	for _, st := range g.gateways {
		if !st.accepted || st.noAddress != "" {
			continue
		}
		bind := (&lbconfig.LoadBalancer{Addresses: st.addresses}).BindAddresses()
		byPort := map[int32][]*listenerState{}
		for _, ls := range st.listeners {
			if ls.usable() {
				byPort[ls.l.Port] = append(byPort[ls.l.Port], ls)
			}
		}
		for _, port := range slices.Sorted(maps.Keys(byPort)) {
			by := ""
			for _, a := range bind {
				for _, h := range taken[port] {
					if by == "" && lbconfig.Overlap(a, h.addr) {
						by = h.name
					}
				}
			}
			if by == "" {
				for _, a := range bind {
					taken[port] = append(taken[port], holder{a, fmt.Sprintf("Gateway %s/%s (older)", st.gw.Namespace, st.gw.Name)})
				}
				continue
			}
			where := "the listen address"
			if len(st.addresses) > 0 {
				where = st.addresses[0].String()
			}
			for _, ls := range byPort[port] {
				ls.portTaken = fmt.Sprintf("port %d on %s is already used by %s", port, where, by)
				ls.accepted = false
				ls.acceptedReason = gatewayv1.ListenerReasonPortUnavailable
				ls.acceptedMessage = ls.portTaken
				g.t.problems.add(ls.owner, ls.field+".port", string(ls.acceptedReason), "%s; the listener is not served", ls.portTaken)
			}
		}
	}
}

// vhostBuild is a virtual host of a Gateway's load balancer being built.
type vhostBuild struct {
	vh lbconfig.VirtualHost
	// owners are the routes' sources by route key, so that the oldest
	// route keeps a match.
	owners map[string]lbconfig.ObjectRef
	// listeners are those whose hostnames or routes made it
	// (gatewayfallthrough.go).
	listeners []*listenerState
}

// build makes the load balancer of st from its usable listeners and the
// routes attached to them.
func (g *gatewayAPI) build(st *gatewayState) {
	if !st.accepted || st.noAddress != "" {
		return
	}
	listeners := map[int32]*lbconfig.Listener{}
	vhosts := map[int32]map[string]*vhostBuild{}
	groups := connectionGroups(st) // gatewaymisdirect.go
	vhost := func(ls *listenerState, host string) *vhostBuild {
		hosts := vhosts[ls.l.Port]
		vb := hosts[host]
		if vb == nil {
			vb = &vhostBuild{vh: gatewayVirtualHost(host), owners: map[string]lbconfig.ObjectRef{}}
			if ls.cert != nil {
				vb.vh.TLS = &lbconfig.CertificateRef{Name: ls.cert.Name}
				vb.vh.ClientAuth = ls.clientAuth
				vb.vh.ConnectionGroup = groups[ls]
			}
			hosts[host] = vb
		}
		if !slices.Contains(vb.listeners, ls) {
			vb.listeners = append(vb.listeners, ls)
		}
		return vb
	}
	for _, ls := range st.listeners {
		if !ls.usable() {
			continue
		}
		if ls.l.Protocol == gatewayv1.TCPProtocolType {
			listeners[ls.l.Port] = g.tcpListener(st, ls) // gatewaytcp.go
			continue
		}
		if listeners[ls.l.Port] == nil {
			listeners[ls.l.Port] = &lbconfig.Listener{Port: ls.l.Port, Protocol: listenerProtocol(ls.l.Protocol)}
			vhosts[ls.l.Port] = map[string]*vhostBuild{}
		}
		if ls.cert != nil && !ls.terminates() {
			vhost(ls, ls.hostname()) // its certificate is served with or without routes
		}
	}
	if len(listeners) == 0 {
		return
	}
	for _, ls := range isolatedListeners(st) { // gatewayisolation.go
		vhost(ls, ls.hostname())
	}
	lb := &lbconfig.LoadBalancer{Name: GatewayLoadBalancer(st.gw.Namespace, st.gw.Name), Addresses: st.addresses, Sources: []lbconfig.ObjectRef{st.ref}}
	for _, s := range g.listenerSets {
		if s.gw == st && s.accepted() {
			lb.Sources = append(lb.Sources, s.ref) // gatewaylistenerset.go
		}
	}
	for _, r := range g.routes {
		for _, ps := range r.parents {
			if ps.gw != st || !ps.accepted {
				continue
			}
			lb.Sources = append(lb.Sources, r.ref)
			if r.tls != nil {
				g.addTLSRoute(r, ps, vhost) // gatewaytlsroute.go
				continue
			}
			routes := g.readRules(r)
			for k, ls := range ps.listeners {
				if !ls.usable() {
					continue // attached, but not served: no certificate or port
				}
				for _, h := range ps.hosts[k] {
					vb := vhost(ls, h)
					for _, rr := range routes {
						rr.route = g.withBackendCert(st, rr.route) // gatewaybackendcert.go
						g.addRoute(vb, r, rr)
					}
				}
			}
		}
	}
	g.addTCPRoutes(st, lb, listeners)
	for _, port := range slices.Sorted(maps.Keys(listeners)) {
		l := listeners[port]
		linkFallThrough(vhosts[port]) // gatewayfallthrough.go
		for _, host := range slices.Sorted(maps.Keys(vhosts[port])) {
			vb := vhosts[port][host]
			vb.vh.Routes = fillGroups(vb.vh.Routes, g.notFoundBackend)
			l.VirtualHosts = append(l.VirtualHosts, vb.vh)
		}
		lb.Listeners = append(lb.Listeners, *l)
	}
	slices.SortFunc(lb.Sources, lbconfig.CompareObjectRefs)
	lb.Sources = slices.Compact(lb.Sources)
	if err := g.check(st, lb); err != nil {
		// The translator's own fault: never hand it to a provider.
		g.t.problems.add(st.ref, "spec", "InternalError", "the Gateway's load balancer is invalid (%v); it is not served", err)
		st.buildError = err.Error()
		return
	}
	st.lb = lb
}

// addRoute adds one route of r to a virtual host, unless an older route
// holds the same match there, or its redirect cannot be expressed on
// this virtual host.
func (g *gatewayAPI) addRoute(vb *vhostBuild, r *routeState, rr ruleRoute) {
	route := rr.route
	if rd := route.Redirect; rd != nil {
		if err := redirectProbe(rd, vb.vh.Hostname, route.Match).Validate(); err != nil {
			g.leaveOut(r, rr.field, string(gatewayv1.RouteReasonUnsupportedValue),
				fmt.Sprintf("the redirect cannot be made on hostname %q (%v); the match is not served there", vb.vh.Hostname, err))
			return
		}
	}
	key := routeMatchKey(route)
	if owner, ok := vb.owners[key]; ok {
		if owner != r.ref {
			g.t.problems.add(r.ref, rr.field, "RouteConflict",
				"%s (older) already routes these requests on hostname %q; this match is not served there", owner, vb.vh.Hostname)
		}
		return
	}
	vb.owners[key] = r.ref
	vb.vh.Routes = append(vb.vh.Routes, route)
}

// routeMatchKey is what two routes of a virtual host must not share: the
// match type, the path as it matches, the header matches, the method and
// the query parameter matches.
func routeMatchKey(r lbconfig.Route) string {
	k := routeKeyOf(r)
	var b strings.Builder
	b.WriteString(k[0] + "\x00" + k[1])
	hs := slices.Clone(r.Headers)
	slices.SortFunc(hs, func(x, y lbconfig.HeaderMatch) int { return cmp.Compare(x.Name, y.Name) })
	for _, h := range hs {
		b.WriteString("\x00" + h.Name + "\x00" + string(h.Type) + "\x00" + h.Value)
	}
	return b.String() + requestMatchKey(r)
}

// routeKeyOf is the group of a route (lbconfig's routeKey): match type
// and the path as it matches.
func routeKeyOf(r lbconfig.Route) [2]string {
	p := r.MatchPath()
	if r.Match == lbconfig.MatchPrefix {
		p = strings.TrimSuffix(p, "/")
	}
	return [2]string{string(r.Match), p}
}

// check validates lb alone with the backends and certificates it uses.
func (g *gatewayAPI) check(st *gatewayState, lb *lbconfig.LoadBalancer) error {
	cfg := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{*lb}}
	for _, name := range usedBackends(lb) {
		if rb := g.t.shared.backends[name]; rb != nil {
			cfg.Backends = append(cfg.Backends, rb.backend)
		}
	}
	cfg.Certificates = gatewayCertificates(st, lb)
	c := cloneForCheck(cfg)
	c.Sort()
	return c.Validate()
}

// usedBackends are the names of the backends lb's routes use, sorted.
func usedBackends(lb *lbconfig.LoadBalancer) []string {
	seen := map[string]bool{}
	for _, l := range lb.Listeners {
		if l.TCP != nil {
			seen[l.TCP.Name] = true
		}
		for _, b := range l.TCPBackends {
			seen[b.Name] = true
		}
		for _, vh := range l.VirtualHosts {
			if vh.Passthrough != nil {
				seen[vh.Passthrough.Name] = true
			}
			if vh.TCP != nil {
				seen[vh.TCP.Name] = true
			}
			for _, r := range vh.Routes {
				seen[r.Backend.Name] = true
				for _, b := range r.Backends {
					seen[b.Name] = true
				}
				for _, m := range r.Mirrors {
					seen[m.Name] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// gatewayCertificates are the certificates lb's virtual hosts use, each
// with the hostnames it is served for.
func gatewayCertificates(st *gatewayState, lb *lbconfig.LoadBalancer) []lbconfig.Certificate {
	certs := map[string]*lbconfig.Certificate{}
	for _, ls := range st.listeners {
		if ls.cert != nil && ls.usable() && certs[ls.cert.Name] == nil {
			c := *ls.cert
			c.Hosts = nil
			certs[c.Name] = &c
		}
	}
	for _, l := range lb.Listeners {
		for _, vh := range l.VirtualHosts {
			if vh.TLS != nil && vh.Hostname != "" && certs[vh.TLS.Name] != nil {
				certs[vh.TLS.Name].Hosts = append(certs[vh.TLS.Name].Hosts, vh.Hostname)
			}
		}
	}
	var out []lbconfig.Certificate
	for _, name := range slices.Sorted(maps.Keys(certs)) {
		c := certs[name]
		slices.Sort(c.Hosts)
		c.Hosts = slices.Compact(c.Hosts)
		out = append(out, *c)
	}
	return out
}

// cloneForCheck copies what Sort changes in place, so that checking a
// config does not reorder the one being built.
func cloneForCheck(c *lbconfig.Config) *lbconfig.Config {
	out := *c
	out.LoadBalancers = slices.Clone(c.LoadBalancers)
	for i := range out.LoadBalancers {
		lb := &out.LoadBalancers[i]
		lb.Listeners = slices.Clone(lb.Listeners)
		for j := range lb.Listeners {
			l := &lb.Listeners[j]
			l.VirtualHosts = slices.Clone(l.VirtualHosts)
			for k := range l.VirtualHosts {
				l.VirtualHosts[k].Routes = slices.Clone(l.VirtualHosts[k].Routes)
			}
		}
	}
	return &out
}

// place adds the Gateways' load balancers to cfg, with the backends and
// certificates they use.
func (g *gatewayAPI) place(cfg *lbconfig.Config) {
	have := map[string]bool{}
	for _, b := range cfg.Backends {
		have[b.Name] = true
	}
	for _, st := range g.gateways {
		if st.lb == nil {
			continue
		}
		cfg.LoadBalancers = append(cfg.LoadBalancers, *st.lb)
		for _, name := range usedBackends(st.lb) {
			if !have[name] {
				have[name] = true
				cfg.Backends = append(cfg.Backends, g.t.shared.backends[name].backend)
			}
		}
		for _, c := range gatewayCertificates(st, st.lb) {
			if have := cfg.Certificate(c.Name); have != nil {
				have.Hosts = append(have.Hosts, c.Hosts...)
				slices.Sort(have.Hosts)
				have.Hosts = slices.Compact(have.Hosts)
				continue
			}
			cfg.Certificates = append(cfg.Certificates, c)
		}
	}
	cfg.Sort()
}
