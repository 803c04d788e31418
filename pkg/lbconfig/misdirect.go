package lbconfig

import "fmt"

// Misdirected requests (VirtualHost.ConnectionGroup). On an HTTPS
// listener the TLS server name (SNI) picks a virtual host for the
// handshake and the Host header (HTTP/2's :authority) picks one for the
// request, each with VirtualHostFor. Clients reuse a connection for
// another host whose name its certificate covers (HTTP/2 connection
// coalescing), so the two can differ. A connection group is the set of
// virtual hosts one connection may serve, as a Gateway API HTTPS
// listener's hostnames are: a request whose Host picks a virtual host of
// one group, on a connection whose server name picked a virtual host of
// another group, is answered 421 (Misdirected Request, RFC 9110 15.5.20),
// and the client retries it on a connection of its own.
//
// A virtual host without a group never takes part: neither a request for
// it nor a connection made for it is ever answered 421 on this ground,
// so Ingress virtual hosts, which have none, serve as they always have.
// A Host that picks no virtual host is answered as it always is (the
// default backend, or 404), and so is a request on a connection whose
// server name picks none: a client that sends no server name, or one no
// virtual host takes, got the listener's default certificate, which no
// client coalesces other hosts onto.
//
// Gateway API's rule follows from the virtual hosts a Gateway gets, one
// group per HTTPS listener with every listener hostname a virtual host
// of its own (see docs/gateway-api.md): a Host that the SNI's listener
// does not take, but another listener of the port does, gets 421; a Host
// that the SNI's listener takes, with or without a route for it, is
// routed (404 without one); a Host no listener takes gets 404.

// MaxConnectionGroupLength bounds VirtualHost.ConnectionGroup.
const MaxConnectionGroupLength = 512

// Misdirected reports whether a request for host on a connection whose
// TLS server name is serverName, both normalized (NormalizeHost), is to
// be answered 421 on l: their virtual hosts have connection groups, and
// not the same. It is the reference providers are tested against.
func (l *Listener) Misdirected(serverName, host string) bool {
	s, h := l.VirtualHostFor(serverName), l.VirtualHostFor(host)
	return s != nil && h != nil && s.ConnectionGroup != "" && h.ConnectionGroup != "" && s.ConnectionGroup != h.ConnectionGroup
}

// HasConnectionGroups reports whether a virtual host of l has a
// connection group, so that requests on l are checked.
func (l *Listener) HasConnectionGroups() bool {
	for i := range l.VirtualHosts {
		if l.VirtualHosts[i].ConnectionGroup != "" {
			return true
		}
	}
	return false
}

// CheckConnectionGroup checks a VirtualHost.ConnectionGroup that is not
// "": at most MaxConnectionGroupLength bytes, each a letter, a digit or
// one of "-._/:".
func CheckConnectionGroup(g string) error {
	if len(g) > MaxConnectionGroupLength {
		return fmt.Errorf("%d bytes, more than %d", len(g), MaxConnectionGroupLength)
	}
	for i := 0; i < len(g); i++ {
		if !groupByte(g[i]) {
			return fmt.Errorf("byte %d of %q is not a letter, digit or one of - . _ / :", i, g)
		}
	}
	return nil
}

// connectionGroup checks the ConnectionGroup of a virtual host on a
// listener of protocol proto.
func (v *validator) connectionGroup(f string, proto Protocol, vh *VirtualHost) {
	g := vh.ConnectionGroup
	switch {
	case g == "":
	case proto != ProtocolHTTPS:
		v.add(f, "only virtual hosts of HTTPS listeners have a connection group")
	case vh.Passthrough != nil:
		v.add(f, "a passthrough virtual host does not terminate TLS, so it serves no requests to group")
	default:
		if err := CheckConnectionGroup(g); err != nil {
			v.add(f, err.Error())
		}
	}
}

// groupByte reports whether c may be in a connection group: letters,
// digits and "-._/:", enough for names like "<namespace>/<name>/<listener>"
// and nothing a provider's configuration would read as syntax.
func groupByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '/', ':':
		return true
	}
	return false
}
