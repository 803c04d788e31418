package builtin

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"ingress-controller/pkg/lbconfig"
)

// table is one immutable routing table built from one applied config. The
// only state that changes after the build is the round-robin counter of each
// backend.
type table struct {
	// ports routes the listeners on the listen address by port, and own
	// those on load balancers' own addresses (routesAt): a listener
	// without an address of its own costs what it always has.
	ports map[int32]*portRoutes
	own   map[ownSocket]*portRoutes
	// binds lists the listener sockets in config order, with who asked
	// for them, so that a failed bind names the load balancer and
	// listener.
	binds []bind
	// endpoints is the Result of the Apply that built this table.
	endpoints map[string][]lbconfig.Address
	// backends lists every backend, for attaching connection pools.
	backends []*backend
	// certs holds the parsed certificates by name, with their PEM, so that
	// the next build reuses those that did not change.
	certs map[string]*loadedCert
	// auths holds the compiled credentials by name, with their users, so
	// that the next table reuses them (and their cache) when unchanged.
	auths map[string]*userList
	// limiter counts rate limits (nil until a config has one); zones
	// numbers their zones (ratelimit.go).
	limiter *limiter
	zones   map[string]uint32
}

// loadedCert is one parsed lbconfig.Certificate.
type loadedCert struct {
	chainPEM, keyPEM []byte
	cert             *tls.Certificate
}

type bind struct {
	at       socket
	lb       string
	listener int
}

// portRoutes routes the requests of one listener port.
type portRoutes struct {
	// portValue and protoValue are the X-Forwarded-Port and -Proto header
	// values. Shared by every request; never modified.
	portValue  []string
	protoValue []string
	// exact is keyed by hostname, wildcard by what follows "*." (both
	// kinds: wildcard.go).
	exact    map[string]*vhost
	wildcard map[string]*vhost
	// multiMax is the longest key of a multi-label wildcard: longer
	// suffixes are not looked up.
	multiMax int
	any      *vhost
	fallback *backend // the listener's default backend, or nil
	// tcp is the backend of a TCP listener: its connections are not
	// HTTP and never reach the http.Server. On a TLS passthrough listener
	// it takes the connections no virtual host passes through.
	tcp *backend
	// tcpSplit spreads a TCP listener's connections by weight (tcpsplit.go).
	tcpSplit weighted
	// sni is set when connections must be sorted by their TLS server name
	// before anything else: some virtual host passes TLS through.
	sni bool
	// clientAuth is set when a virtual host authenticates clients
	// (clientauth.go).
	clientAuth bool
	// grouped is set when a virtual host has a connection group
	// (misdirect.go).
	grouped bool
	// fallbackRoute is a route to fallback, or nil.
	fallbackRoute *route
}

type vhost struct {
	routes []route
	// multiLabel marks a wildcard that matches more than one label.
	multiLabel bool
	// passthrough gets the TLS connections whose SNI picks this virtual
	// host, as they are; nil means TLS is terminated.
	passthrough *backend
	// tcp, on a TLS passthrough listener, gets the bytes of the TLS
	// connections whose SNI picks this virtual host, terminated with cert
	// (tlsterminate.go).
	tcp *backend
	// cert is the certificate of this host on an HTTPS listener; nil
	// means the catch-all's, else the provider's default certificate.
	cert *tls.Certificate
	// client, if set, authenticates the TLS clients of this host; with
	// passCert the backend gets their certificates (clientauth.go).
	client   *clientAuth
	passCert bool
	// group numbers the connection group of this host from 1; 0 has
	// none (misdirect.go).
	group uint32
	// next is the virtual host whose routes a request tries when none
	// of these takes it, or nil (fallthrough.go).
	next *vhost
}

type route struct {
	// path is the route path; for prefix routes without its trailing "/",
	// so "/" becomes "" and matches every path.
	path    string
	prefix  bool
	backend *backend
	// redirect, if set, answers instead of backend.
	redirect *redirect
	// to, if set, answers instead of backend (redirect.go).
	to *redirectTo
	// access, if set, limits the clients served (permits).
	access *lbconfig.Access
	// headers, if set, are the route's header changes and CORS; such a
	// route is served on net/http's path (headers.go).
	headers *headerRules
	// re, if set, matches instead of path (a Regex route); rewrite, if
	// set, replaces the path the backend gets (rewrite.go).
	re      *regexp.Regexp
	rewrite *lbconfig.Rewrite
	// auth, if set, serves only authenticated clients (authorize).
	auth *basicAuth
	// split, if set, holds the route's request matches and weighted
	// backends; such a route is served on net/http's path (split.go).
	split *split
	// limit, if set, limits the requests of each client (ratelimit.go).
	limit *rateLimit
	// pages and fallback, if set, replace error responses and serve for
	// a backend without endpoints; such a route is served on net/http's
	// path (errorpages.go).
	pages    *errorPages
	fallback *fallback
	// ext, if set, asks an auth server about each request; such a
	// route is served on net/http's path (extauth.go).
	ext *extAuth
	// timeouts, if set, bound the route's exchanges; such a route is
	// served on net/http's path (timeouts.go).
	timeouts *routeTimeouts
	// mirrors, if set, get copies of the route's requests; such a route
	// is served on net/http's path (mirror.go).
	mirrors []routeMirror
	// retry, if set, sends failed attempts again; such a route is
	// served on net/http's path (retry.go).
	retry *lbconfig.Retry
}

// permits reports whether a client at addr may use r. An address that
// could not be read is refused by any rule.
func (r *route) permits(addr netip.Addr) bool {
	return r.access == nil || (addr.IsValid() && r.access.Permits(addr))
}

// forbiddenBody answers a client that a route's access refuses.
const forbiddenBody = "403 forbidden: client address not allowed"

// redirect is a compiled lbconfig.HTTPSRedirect.
type redirect struct {
	// portSuffix is ":<port>", or "" for 443.
	portSuffix string
	status     int
}

type backend struct {
	name   string
	policy *policy
	// protocol is "" for HTTP/1.1 in the clear (forward.go), else HTTPS,
	// H2C, GRPC or GRPCS (backendproto.go).
	protocol lbconfig.BackendProtocol
	// tls is the TLS of a GRPCS backend or of an HTTPS backend with
	// settings of its own (backendtls.go), else nil.
	tls *backendTLS
	// endpoints holds only the endpoints that take new requests.
	endpoints []endpoint
	// byCookie finds an endpoint by its affinity cookie value; nil
	// without cookie affinity.
	byCookie map[string]*endpoint
	// ring places the endpoints for a hash policy; nil without one.
	ring []ringPoint
	next atomic.Uint64
	// metrics are set by Apply before the table is published; nil
	// without metrics.
	metrics *backendMetrics
	// status, if not 0, is the answer to every request instead of an
	// endpoint's, with statusBody (status.go).
	status     int
	statusBody string
}

type endpoint struct {
	addr string // "ip:port", "[ip6]:port"
	// pool holds the idle connections to addr. Set by Apply before the
	// table is published; shared with other tables that have addr.
	pool *connPool
	// cookie is the affinity cookie value that names this endpoint.
	cookie string
}

// buildTable compiles cfg, which must be sorted and valid. It rejects what
// this provider cannot serve yet. Certificates that prev (which may be nil)
// parsed from the same PEM are reused.
func buildTable(cfg *lbconfig.Config, listenAddress string, prev *table) (*table, error) {
	backends := make(map[string]*backend, len(cfg.Backends))
	list := make([]*backend, 0, len(cfg.Backends))
	prevTLS := backendTLSByKey(prev)
	for i := range cfg.Backends {
		b := &cfg.Backends[i]
		nb := &backend{name: b.Name, policy: compilePolicy(b.Policy)}
		compileStatus(nb, b)
		switch b.Protocol {
		case lbconfig.BackendHTTPS, lbconfig.BackendH2C, lbconfig.BackendGRPC, lbconfig.BackendGRPCS:
			nb.protocol = b.Protocol
			bt, err := compileBackendTLS(b, prevTLS)
			if err != nil {
				return nil, err
			}
			nb.tls = bt
		}
		for _, e := range b.Endpoints {
			if !e.Ready || e.Terminating {
				continue
			}
			a, err := netip.ParseAddr(e.Address)
			if err != nil {
				return nil, fmt.Errorf("backend %q: endpoint %q: %w", b.Name, e.Address, err)
			}
			addr := netip.AddrPortFrom(a, uint16(e.Port)).String()
			nb.endpoints = append(nb.endpoints, endpoint{addr: addr, cookie: cookieValue(addr)})
		}
		if nb.policy.cookie != "" {
			nb.byCookie = make(map[string]*endpoint, len(nb.endpoints))
			for i := range nb.endpoints {
				nb.byCookie[nb.endpoints[i].cookie] = &nb.endpoints[i]
			}
		}
		if nb.policy.hash != nil {
			nb.ring = buildRing(nb.endpoints)
		}
		backends[b.Name] = nb
		list = append(list, nb)
	}
	lookup := func(ref *lbconfig.BackendRef) (*backend, error) {
		if ref == nil {
			return nil, nil
		}
		b := backends[ref.Name]
		if b == nil {
			return nil, fmt.Errorf("backend %q does not exist", ref.Name)
		}
		return b, nil
	}

	t := &table{
		ports:     map[int32]*portRoutes{},
		own:       map[ownSocket]*portRoutes{},
		endpoints: make(map[string][]lbconfig.Address, len(cfg.LoadBalancers)),
		backends:  list,
		certs:     map[string]*loadedCert{},
		auths:     map[string]*userList{},
	}
	t.prepareRateLimits(cfg, prev)
	owners := socketOwners{listen: listenAddress}
	for _, lb := range cfg.LoadBalancers {
		for j, l := range lb.Listeners {
			where := fmt.Sprintf("load balancer %q: listener %d (port %d)", lb.Name, j, l.Port)
			pr, err := compileListener(l, lookup)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if err := t.attachCertificates(pr, l, cfg, prev); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if err := attachClientAuth(pr, l); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if err := attachConnectionGroups(pr, l); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if err := t.attachAuth(pr, l, cfg, prev); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			t.attachRateLimits(pr, l)
			for _, a := range lb.BindAddresses() {
				at := owners.socketFor(a, l.Port)
				if other := owners.claim(at, lb.Name); other != "" {
					return nil, fmt.Errorf("%s: port %d %s is already used by load balancer %q", where, l.Port, at.where(), other)
				}
				t.setRoutes(at, pr)
				t.binds = append(t.binds, bind{at: at, lb: lb.Name, listener: j})
			}
		}
		t.endpoints[lb.Name] = lb.PublicAddresses(listenAddress)
	}
	return t, nil
}

// attachCertificates gives the virtual hosts of an HTTPS listener, and
// those that terminate TLS on a TLS passthrough listener, their
// certificates, parsing each once per build.
func (t *table) attachCertificates(pr *portRoutes, l lbconfig.Listener, cfg *lbconfig.Config, prev *table) error {
	if l.Protocol != lbconfig.ProtocolHTTPS && l.Protocol != lbconfig.ProtocolTLSPassthrough {
		return nil
	}
	for k, vh := range l.VirtualHosts {
		if vh.TLS == nil {
			continue
		}
		lc, err := t.certificate(vh.TLS.Name, cfg, prev)
		if err != nil {
			return fmt.Errorf("virtual host %d (%q): %w", k, vh.Hostname, err)
		}
		pr.vhostNamed(vh.Hostname).cert = lc.cert
	}
	return nil
}

func (t *table) certificate(name string, cfg *lbconfig.Config, prev *table) (*loadedCert, error) {
	if lc := t.certs[name]; lc != nil {
		return lc, nil
	}
	c := cfg.Certificate(name)
	if c == nil {
		return nil, fmt.Errorf("certificate %q does not exist", name)
	}
	lc := prev.reusableCert(c)
	if lc == nil {
		cert, err := tls.X509KeyPair(c.ChainPEM, c.KeyPEM)
		if err != nil {
			// The error texts never quote the key.
			return nil, fmt.Errorf("certificate %q: %w", name, err)
		}
		lc = &loadedCert{chainPEM: c.ChainPEM, keyPEM: c.KeyPEM, cert: &cert}
	}
	t.certs[name] = lc
	return lc, nil
}

// reusableCert returns the certificate t parsed from the same PEM as c.
func (t *table) reusableCert(c *lbconfig.Certificate) *loadedCert {
	if t == nil {
		return nil
	}
	lc := t.certs[c.Name]
	if lc == nil || !bytes.Equal(lc.chainPEM, c.ChainPEM) || !bytes.Equal(lc.keyPEM, c.KeyPEM) {
		return nil
	}
	return lc
}

func compileListener(l lbconfig.Listener, lookup func(*lbconfig.BackendRef) (*backend, error)) (*portRoutes, error) {
	proto := "http"
	switch l.Protocol {
	case lbconfig.ProtocolHTTPS:
		proto = "https"
	case lbconfig.ProtocolTCP:
		proto = "tcp"
	case lbconfig.ProtocolTLSPassthrough:
		proto = "tls"
	case lbconfig.ProtocolHTTP, "": // "" only in tests: Validate requires a protocol
	default:
		return nil, fmt.Errorf("protocol %s is not supported by the builtin provider", l.Protocol)
	}
	pr := &portRoutes{
		portValue:  []string{strconv.Itoa(int(l.Port))},
		protoValue: []string{proto},
		exact:      map[string]*vhost{},
		wildcard:   map[string]*vhost{},
	}
	var err error
	if pr.fallback, err = lookup(l.DefaultBackend); err != nil {
		return nil, fmt.Errorf("default backend: %w", err)
	}
	if pr.tcp, err = lookup(l.TCP); err != nil {
		return nil, fmt.Errorf("tcp backend: %w", err)
	}
	if l.Protocol == lbconfig.ProtocolTCP && pr.tcp == nil {
		return nil, fmt.Errorf("a TCP listener needs a backend")
	}
	if err := compileTCPSplit(pr, l, lookup); err != nil {
		return nil, err
	}
	if pr.fallback != nil {
		pr.fallbackRoute = &route{backend: pr.fallback}
	}
	for k, vh := range l.VirtualHosts {
		v := &vhost{routes: make([]route, 0, len(vh.Routes)), multiLabel: vh.MultiLabel}
		if v.passthrough, err = lookup(vh.Passthrough); err != nil {
			return nil, fmt.Errorf("virtual host %d (%q): passthrough: %w", k, vh.Hostname, err)
		}
		if v.tcp, err = lookup(vh.TCP); err != nil {
			return nil, fmt.Errorf("virtual host %d (%q): tcp: %w", k, vh.Hostname, err)
		}
		if v.passthrough != nil {
			pr.sni = true
		}
		for r, rt := range vh.Routes {
			b, err := lookup(&rt.Backend)
			if err != nil {
				return nil, fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, r, err)
			}
			path := rt.MatchPath()
			cr := route{path: path, backend: b, headers: compileHeaders(rt), timeouts: compileTimeouts(rt.Timeouts)}
			if cr.ext, err = compileExtAuth(rt.ExternalAuth, lookup); err != nil {
				return nil, fmt.Errorf("virtual host %d (%q): route %d: external auth: %w", k, vh.Hostname, r, err)
			}
			if a := rt.Access; a != nil {
				// A copy: the table outlives nothing of cfg.
				cr.access = &lbconfig.Access{Allow: slices.Clone(a.Allow), Deny: slices.Clone(a.Deny)}
			}
			if rd := rt.HTTPSRedirect; rd != nil {
				cr.redirect = &redirect{status: int(rd.StatusCode)}
				if rd.Port != 443 {
					cr.redirect.portSuffix = ":" + strconv.Itoa(int(rd.Port))
				}
			}
			if known, err := cr.compileMatch(&rt); err != nil {
				return nil, fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, r, err)
			} else if !known {
				return nil, fmt.Errorf("virtual host %d (%q): route %d: unknown match type %q", k, vh.Hostname, r, rt.Match)
			}
			if rd := rt.Redirect; rd != nil {
				cr.to = compileRedirectTo(rd, vh.Hostname, cr.path, l)
			}
			if cr.mirrors, err = compileMirrors(rt.Mirrors, lookup); err != nil {
				return nil, fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, r, err)
			}
			if rt.Retry != nil {
				retry := *rt.Retry
				retry.Codes = slices.Clone(retry.Codes)
				cr.retry = &retry
			}
			v.routes = append(v.routes, cr)
		}
		for r := range v.routes {
			if v.routes[r].split, err = compileSplit(r, vh.Routes, lookup); err != nil {
				return nil, fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, r, err)
			}
			if err := v.routes[r].compileErrorPages(&vh.Routes[r], lookup); err != nil {
				return nil, fmt.Errorf("virtual host %d (%q): route %d: %w", k, vh.Hostname, r, err)
			}
		}
		switch name := vh.Hostname; {
		case name == "":
			pr.any = v
		case strings.HasPrefix(name, "*."):
			pr.addWildcard(name[2:], v) // wildcard.go
		default:
			pr.exact[name] = v
		}
	}
	linkFallThrough(pr, l) // fallthrough.go
	return pr, nil
}

// passthroughFor returns the backend that TLS connections for serverName
// pass through to, or nil when TLS is terminated (or, on a TLS passthrough
// listener, nothing takes them).
func (pr *portRoutes) passthroughFor(serverName string) *backend {
	if v := pr.vhostFor(lbconfig.NormalizeHost(serverName)); v != nil && v.passthrough != nil {
		return v.passthrough
	}
	if pr.protoValue[0] == "tls" {
		return pr.tcp
	}
	return nil
}

// secure reports an HTTPS listener.
func (pr *portRoutes) secure() bool { return pr.protoValue[0] == "https" }

// vhostNamed returns the virtual host compiled from the one with this
// Hostname.
func (pr *portRoutes) vhostNamed(name string) *vhost {
	switch {
	case name == "":
		return pr.any
	case strings.HasPrefix(name, "*."):
		return pr.wildcard[name[2:]]
	}
	return pr.exact[name]
}

// vhostFor picks the virtual host of a normalized host name as
// lbconfig.Listener.VirtualHostFor does: exact, else wildcard, else the
// catch-all, else nil.
func (pr *portRoutes) vhostFor(host string) *vhost {
	v := pr.exact[host]
	if v == nil && len(pr.wildcard) > 0 {
		v = pr.wildcardFor(host)
	}
	if v == nil {
		v = pr.any
	}
	return v
}

// routeFor picks the route of a request by its Host header and path,
// without allocating (unless the host holds upper-case letters) or locking:
// the first route of the virtual host that matches, trying those it
// falls through to next, else a route to the default backend, else nil.
func (pr *portRoutes) routeFor(hostHeader, path string) *route {
	for v := pr.vhostFor(lbconfig.NormalizeHost(hostHeader)); v != nil; v = v.next {
		for i := range v.routes {
			if v.routes[i].matches(path) {
				return &v.routes[i]
			}
		}
	}
	return pr.fallbackRoute
}

// backendFor is the backend of routeFor, or nil.
func (pr *portRoutes) backendFor(hostHeader, path string) *backend {
	if r := pr.routeFor(hostHeader, path); r != nil {
		return r.backend
	}
	return nil
}

// certificate picks the certificate of a TLS handshake by server name
// (SNI), as routing picks a virtual host: that virtual host's, else the
// catch-all's; nil means the provider's default.
func (pr *portRoutes) certificate(serverName string) *tls.Certificate {
	if v := pr.vhostFor(lbconfig.NormalizeHost(serverName)); v != nil && v.cert != nil {
		return v.cert
	}
	if pr.any != nil {
		return pr.any.cert
	}
	return nil
}

// matches implements lbconfig.Route.Matches on the precompiled route.
func (r *route) matches(p string) bool {
	if r.re != nil {
		return r.re.MatchString(p)
	}
	if !r.prefix {
		return p == r.path
	}
	n := len(r.path)
	return n == 0 || (strings.HasPrefix(p, r.path) && (len(p) == n || p[n] == '/'))
}
