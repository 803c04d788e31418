package builtin

import (
	"net"
	"net/netip"
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// socket is where a listener binds: host is a load balancer's own address
// (lbconfig.LoadBalancer.Addresses) or, for one without, the provider's
// listen address ("" for every address), and a port. Servers and the
// routing table are keyed by it, so that load balancers on different
// addresses may share a port.
type socket struct {
	host string
	port int32
	// key is set for own addresses: the table's key, cheaper to hash than
	// host.
	key ownSocket
	// own is set for a load balancer's own address: bound to its family
	// only ("tcp4" or "tcp6"), so that 0.0.0.0 and :: are the wildcards
	// of one family each, as lbconfig.Overlap has it. The listen address
	// binds as "tcp", as it always has (dual-stack when unspecified).
	own bool
}

func (s socket) network() string {
	if !s.own {
		return "tcp"
	}
	if netip.MustParseAddr(s.host).Is4() { // an lbconfig address
		return "tcp4"
	}
	return "tcp6"
}

func (s socket) String() string { return net.JoinHostPort(s.host, strconv.Itoa(int(s.port))) }

// where names the address of s for messages.
func (s socket) where() string {
	switch {
	case s.own:
		return "on " + s.host
	case s.host == "":
		return "on every address (the listen address)"
	}
	return "on the listen address " + s.host
}

// socketOwners finds the listeners of different load balancers that would
// take each other's connections, also those lbconfig cannot see: a load
// balancer's own address against the listen address of the others.
type socketOwners struct {
	listen string
	owners map[int32][]socketOwner
}

type socketOwner struct {
	at socket
	lb string
}

// socketFor is where a listener on port binds for the load balancer
// address a (the invalid Addr: the listen address).
func (o *socketOwners) socketFor(a netip.Addr, port int32) socket {
	if !a.IsValid() {
		return socket{host: o.listen, port: port}
	}
	return socket{host: a.String(), port: port, own: true, key: ownSocket{addr: a.As16(), port: port}}
}

// ownSocket keys the routes of a listener on an address of its own.
type ownSocket struct {
	addr [16]byte
	port int32
}

// routesAt returns the routes of the listener at s, or nil.
func (t *table) routesAt(s *socket) *portRoutes {
	if !s.own {
		return t.ports[s.port]
	}
	return t.own[s.key]
}

func (t *table) setRoutes(s socket, pr *portRoutes) {
	if s.own {
		t.own[s.key] = pr
	} else {
		t.ports[s.port] = pr
	}
}

// allRoutes returns the routes of every listener of t.
func (t *table) allRoutes() []*portRoutes {
	out := make([]*portRoutes, 0, len(t.ports)+len(t.own))
	for _, pr := range t.ports {
		out = append(out, pr)
	}
	for _, pr := range t.own {
		out = append(out, pr)
	}
	return out
}

// claim records lb's listener at s and returns the load balancer whose
// listener it clashes with, or "".
func (o *socketOwners) claim(s socket, lb string) string {
	if o.owners == nil {
		o.owners = map[int32][]socketOwner{}
	}
	for _, other := range o.owners[s.port] {
		if other.lb != lb && overlap(s, other.at) {
			return other.lb
		}
	}
	o.owners[s.port] = append(o.owners[s.port], socketOwner{at: s, lb: lb})
	return ""
}

// overlap reports whether two sockets on the same port clash. The listen
// address bound as "tcp" is dual-stack when unspecified.
func overlap(a, b socket) bool {
	if a.host == b.host {
		return true
	}
	aa, aerr := netip.ParseAddr(a.host)
	ba, berr := netip.ParseAddr(b.host)
	if aerr != nil || berr != nil { // "": every address
		return true
	}
	if (!a.own && aa.IsUnspecified()) || (!b.own && ba.IsUnspecified()) {
		return true
	}
	return lbconfig.Overlap(aa.Unmap(), ba.Unmap())
}
