package translate

import (
	"cmp"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/pkg/lbconfig"
)

// Port allocation: every listener of every load balancer claims its port,
// and the oldest claim wins (see the package's grouping rules in
// group.go).

// portClaim is one listener asking for its port.
type portClaim struct {
	lb, listener int // indexes into the built load balancers and their listeners
	// owner is the object whose age the claim has: the oldest Ingress of
	// the load balancer, or the Service of a TCP listener.
	owner   metav1.ObjectMeta
	service lbconfig.ObjectRef // of a TCP listener
	rank    int                // HTTP, HTTPS, TCP: within an owner, in this order
	// weak is the HTTP listener of a load balancer without Ingresses.
	weak bool
	// shared is an HTTP or HTTPS listener of the default load balancer:
	// the flags' ports, which every Ingress without a load balancer of
	// its own relies on. It is never taken by a dedicated one, however
	// old, so that moving one Ingress cannot take the others' ports.
	shared bool
}

func protocolRank(p lbconfig.Protocol) int {
	switch p {
	case lbconfig.ProtocolHTTP:
		return 0
	case lbconfig.ProtocolHTTPS:
		return 1
	}
	return 2
}

// allocatePorts gives each port to the first listener that claims it, in
// the order of their objects' age, and drops the later claimants with a
// problem.
func (t *translation) allocatePorts(built []*builtLB) {
	var claims []portClaim
	for i, bl := range built {
		for j, l := range bl.listeners {
			c := portClaim{lb: i, listener: j, rank: protocolRank(l.Protocol)}
			switch {
			case l.Protocol == lbconfig.ProtocolTCP:
				// tcpListeners made one listener per port, from the first
				// Service that asked for it.
				if k := slices.IndexFunc(bl.g.b.tcp, func(s tcpService) bool { return s.port == l.Port }); k >= 0 {
					c.service = bl.g.b.tcp[k].ref
				}
				if svc := t.shared.index.services[c.service.Namespace+"/"+c.service.Name]; svc != nil {
					c.owner = svc.ObjectMeta
				}
				c.owner.Namespace, c.owner.Name = c.service.Namespace, c.service.Name
			case bl.g.first != nil:
				c.owner = bl.g.first.ObjectMeta
				c.shared = bl.g.name == DefaultLoadBalancer
			default:
				c.weak = true
			}
			claims = append(claims, c)
		}
	}
	slices.SortStableFunc(claims, func(a, b portClaim) int {
		if a.weak != b.weak {
			if a.weak {
				return 1
			}
			return -1
		}
		if a.shared != b.shared {
			if a.shared {
				return -1
			}
			return 1
		}
		return cmp.Or(
			a.owner.CreationTimestamp.Compare(b.owner.CreationTimestamp.Time),
			cmp.Compare(a.owner.Namespace, b.owner.Namespace),
			cmp.Compare(a.owner.Name, b.owner.Name),
			cmp.Compare(a.rank, b.rank),
			cmp.Compare(built[a.lb].g.name, built[b.lb].g.name),
		)
	})
	taken := map[int32]portClaim{}
	for _, c := range claims {
		bl := built[c.lb]
		l := &bl.listeners[c.listener]
		prev, clash := taken[l.Port]
		if !clash {
			taken[l.Port] = c
			continue
		}
		bl.dropped[c.listener] = true
		if c.weak {
			continue // it routes nothing
		}
		holder := t.describeClaim(built, prev)
		if l.Protocol == lbconfig.ProtocolTCP {
			t.problems.add(c.service, annotationField(AnnotationTCPListenPort), "PortConflict",
				"port %d is already used by %s; no TCP listener for this Service", l.Port, holder)
			continue
		}
		affected := bl.g.ingressRefs()
		consequence := "this load balancer has no HTTP listener"
		if l.Protocol == lbconfig.ProtocolHTTPS {
			affected = bl.g.tlsRefs()
			consequence = "this load balancer has no HTTPS listener: its TLS hosts are served on HTTP only, without redirect"
			removeRedirects(bl.listeners, l.Port)
		}
		if bl.g.dedicated {
			consequence += "; choose other ports with " + AnnotationListenPorts
		}
		for _, ref := range affected {
			t.problems.add(ref, bl.g.portField(l.Protocol), "PortConflict",
				"load balancer %q cannot listen for %s on port %d, which %s already uses; %s",
				bl.g.name, l.Protocol, l.Port, holder, consequence)
		}
	}
}

// describeClaim names the listener that holds a port, and why it wins.
func (t *translation) describeClaim(built []*builtLB, c portClaim) string {
	bl := built[c.lb]
	l := bl.listeners[c.listener]
	if l.Protocol == lbconfig.ProtocolTCP {
		return fmt.Sprintf("the TCP listener of %s on load balancer %q (older)", c.service, bl.g.name)
	}
	if c.weak {
		return fmt.Sprintf("the %s listener of load balancer %q", l.Protocol, bl.g.name)
	}
	if c.shared {
		return fmt.Sprintf("the %s listener of load balancer %q (the --http-port and --https-port of every Ingress without a load balancer of its own, which a dedicated one never takes)",
			l.Protocol, bl.g.name)
	}
	return fmt.Sprintf("the %s listener of load balancer %q (its oldest Ingress, %s/%s, is older)",
		l.Protocol, bl.g.name, c.owner.Namespace, c.owner.Name)
}

// portField is where the ports of g's listeners come from: the listen-ports
// annotation of a dedicated load balancer, else the rules (HTTP) or spec.tls
// (HTTPS) that made the default load balancer listen.
func (g *lbGroup) portField(p lbconfig.Protocol) string {
	switch {
	case g.dedicated:
		return annotationField(AnnotationListenPorts)
	case p == lbconfig.ProtocolHTTPS:
		return "spec.tls"
	}
	return "spec.rules"
}

// removeRedirects takes the redirects to an HTTPS port that is gone off the
// HTTP routes, which then forward as usual.
func removeRedirects(listeners []lbconfig.Listener, port int32) {
	for i := range listeners {
		for j := range listeners[i].VirtualHosts {
			routes := listeners[i].VirtualHosts[j].Routes
			for k := range routes {
				if rd := routes[k].HTTPSRedirect; rd != nil && rd.Port == port {
					routes[k].HTTPSRedirect = nil
				}
			}
		}
	}
}
