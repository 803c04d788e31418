// Package lbconfig is the generic load-balancer model that every source
// produces and every provider consumes.
//
// It is plain data with no Kubernetes imports: a Config holds load balancers,
// each with listeners (a port and a protocol), virtual hosts, routes and
// references to shared backends and certificates. Sort puts a Config in its
// canonical order, so the same routing intent always yields byte-identical
// output; Validate reports every inconsistency with the path of the field at
// fault; Diff tells a provider what changed, so an endpoints-only change can
// be applied without restructuring the load balancer.
package lbconfig

import (
	"fmt"
	"net/netip"
)

// Config is the whole routing intent handed to a provider in one Apply.
type Config struct {
	// LoadBalancers are the independent load balancers to run, sorted by Name.
	LoadBalancers []LoadBalancer `json:"loadBalancers,omitempty"`
	// Backends are the upstream pools referenced by routes and listeners,
	// sorted by Name.
	Backends []Backend `json:"backends,omitempty"`
	// Certificates are the TLS certificates referenced by virtual hosts,
	// sorted by Name.
	Certificates []Certificate `json:"certificates,omitempty"`
	// Credentials are the user lists that routes' BasicAuth refer to,
	// sorted by Name.
	Credentials []Credentials `json:"credentials,omitempty"`
}

// LoadBalancer is one load balancer with its own public endpoints.
type LoadBalancer struct {
	// Name is stable across reconciles, e.g. "default" or "<ns>/<ingress>".
	Name string `json:"name"`
	// Addresses are the IP addresses its listeners bind (see address.go);
	// empty means the provider's listen address. An (address, port) pair
	// belongs to one listener in the whole Config (Validate checks it).
	Addresses []netip.Addr `json:"addresses,omitempty"`
	// Listeners are sorted by Port.
	Listeners []Listener `json:"listeners,omitempty"`
	// Sources are the objects (Ingresses) served by this load balancer; the
	// status writer publishes the load balancer's endpoints on each of them.
	Sources []ObjectRef `json:"sources,omitempty"`
	// Scale is how many controller replicas serve this load balancer; 0
	// means every replica. It decides which replicas get the load balancer
	// (see docs/scaling.md); providers serve what they are given and
	// ignore it.
	Scale int32 `json:"scale,omitempty"`
	// DNSName, when set, is the DNS name the load balancer is published
	// under (ingress-controller.io/dns-name); providers ignore it.
	DNSName string `json:"dnsName,omitempty"`
}

// Protocol is what a listener speaks to clients.
type Protocol string

// Listener protocols.
const (
	// ProtocolHTTP is plain HTTP/1.1 (and h2c where a provider supports it).
	ProtocolHTTP Protocol = "HTTP"
	// ProtocolHTTPS terminates TLS and then routes like HTTP.
	ProtocolHTTPS Protocol = "HTTPS"
	// ProtocolTCP forwards raw TCP connections to one backend.
	ProtocolTCP Protocol = "TCP"
	// ProtocolTLSPassthrough routes TLS connections by SNI: to the
	// Passthrough backend of the virtual host the server name picks, as
	// they are; or, for a virtual host with TLS and TCP, terminated with
	// its certificate and forwarded, decrypted, to its TCP backend (see
	// VirtualHost.TCP); else to the listener's TCP backend; else they are
	// closed.
	ProtocolTLSPassthrough Protocol = "TLSPassthrough"
)

// Listener is one public port of a load balancer.
type Listener struct {
	Port     int32    `json:"port"`
	Protocol Protocol `json:"protocol"`
	// VirtualHosts route HTTP and HTTPS requests by Host header. Sorted by
	// Hostname. A request picks exactly one virtual host (VirtualHostFor),
	// the most specific that matches: the one whose Hostname equals its
	// host, else the one-label wildcard that matches, else the
	// multi-label wildcard with the longest suffix that matches, else the
	// catch-all "". It never falls back to a less specific
	// virtual host when no route of the chosen one matches; the
	// DefaultBackend (or 404) answers instead.
	//
	// On HTTPS listeners the same choice, made with the TLS server name
	// (SNI) instead of the Host header, picks the certificate of a TLS
	// handshake: that virtual host's TLS. The catch-all's TLS is the
	// listener's default certificate, served to clients without SNI, to
	// names no virtual host matches and for virtual hosts whose TLS is nil;
	// without one the provider serves a default certificate of its own.
	VirtualHosts []VirtualHost `json:"virtualHosts,omitempty"`
	// DefaultBackend serves HTTP requests that match no virtual host or no
	// route. Without it such requests get 404.
	DefaultBackend *BackendRef `json:"defaultBackend,omitempty"`
	// TCP is the backend of a TCP listener.
	TCP *BackendRef `json:"tcp,omitempty"`
	// TCPBackends, if set on a TCP listener, spread its connections over
	// several backends by weight, one choice per connection (see
	// tcpsplit.go); sorted by Name, and TCP is one of them. Empty sends
	// every connection to TCP.
	TCPBackends []WeightedBackend `json:"tcpBackends,omitempty"`
}

// VirtualHost groups the routes of one hostname.
type VirtualHost struct {
	// Hostname is a lower-case DNS name, a wildcard "*.example.com" that
	// matches exactly one extra leading label (unless MultiLabel), or ""
	// for any host. It is unique on its listener.
	Hostname string `json:"hostname"`
	// MultiLabel, on a wildcard, makes it match one or more leading
	// labels, as Gateway API's wildcards do ("*.example.com" takes
	// a.example.com and a.b.example.com), where Ingress's take one
	// (wildcard.go).
	MultiLabel bool `json:"multiLabel,omitempty"`
	// TLS is the certificate served for this hostname on HTTPS listeners;
	// nil means the listener's default certificate (see
	// Listener.VirtualHosts). Only HTTPS listeners have it.
	TLS *CertificateRef `json:"tls,omitempty"`
	// ClientAuth, if set, asks the TLS clients whose server name picks
	// this virtual host for a certificate (clientauth.go). Only HTTPS
	// listeners have it.
	ClientAuth *ClientAuth `json:"clientAuth,omitempty"`
	// ConnectionGroup, on an HTTPS listener, names the virtual hosts one
	// TLS connection may serve: a request whose Host picks a virtual
	// host of another group than the one its connection's server name
	// picked is answered 421 (misdirect.go). "" takes no part.
	ConnectionGroup string `json:"connectionGroup,omitempty"`
	// FallThrough, if set, names the virtual host of this listener whose
	// routes a request this one takes tries when none of this one's
	// routes takes it: a less specific Hostname ("" the catch-all) that
	// takes every host this one takes (fallthrough.go). Gateway API's
	// hostnames rank before paths; Ingress's hosts have none. nil: the
	// request gets the listener's DefaultBackend, else 404.
	FallThrough *string `json:"fallThrough,omitempty"`
	// Passthrough, on HTTPS and TLSPassthrough listeners, makes the TLS
	// connections whose server name (SNI) picks this virtual host go to
	// this backend as they are, without terminating TLS. Such a virtual
	// host has no TLS and no routes.
	Passthrough *BackendRef `json:"passthrough,omitempty"`
	// TCP, on TLSPassthrough listeners, makes the TLS connections whose
	// server name picks this virtual host terminated with its TLS
	// certificate (which it must have), and their bytes, decrypted, go
	// to this backend over TCP: Gateway API's TLS listeners of mode
	// Terminate. No ALPN protocol is offered. Such a virtual host has no
	// Passthrough and no routes.
	TCP *BackendRef `json:"tcp,omitempty"`
	// Routes are ordered by precedence: Exact before Prefix before
	// Regex, then longer paths first (Regex routes of equal length in
	// reverse text order, as ingress-nginx orders its locations), then
	// routes of one path by their conditions (split.go). The first route
	// whose path matches and whose conditions hold wins.
	//
	// Routes match the request path as NormalizePath leaves it: dot
	// segments removed, repeated slashes merged, encoded unreserved
	// characters decoded; that normalized path is also what the backend
	// gets. Requests whose path could still be read two ways (an encoded
	// "/", "\" or control byte, a raw "\", a bad percent-encoding) are
	// refused with 400 before routing. See docs/ingress.md, "Path
	// normalization".
	Routes []Route `json:"routes,omitempty"`
}

// MatchType says how a route's Path is compared with a request path, both
// normalized with NormalizePath.
type MatchType string

// Path match types.
const (
	// MatchExact matches the request path exactly (case-sensitive).
	MatchExact MatchType = "Exact"
	// MatchPrefix matches whole "/"-separated path elements: "/foo" matches
	// "/foo", "/foo/" and "/foo/bar" but not "/foobar". A trailing "/" in
	// Path is ignored; "/" matches every path.
	MatchPrefix MatchType = "Prefix"
	// MatchRegex matches where the pattern Path matches at the start of
	// the path, case-sensitive unless it starts with "(?i)" (see
	// regex.go).
	MatchRegex MatchType = "Regex"
)

// Route sends requests whose path matches to a backend.
type Route struct {
	Path    string     `json:"path"`
	Match   MatchType  `json:"match"`
	Backend BackendRef `json:"backend"`
	// HTTPSRedirect, on an HTTP listener, makes the route answer with a
	// redirect to HTTPS instead of forwarding to Backend.
	HTTPSRedirect *HTTPSRedirect `json:"httpsRedirect,omitempty"`
	// Redirect, if set, makes the route answer with a redirect (see
	// Redirect) instead of forwarding to Backend. A route has a Redirect
	// or an HTTPSRedirect, not both.
	Redirect *Redirect `json:"redirect,omitempty"`
	// Access, if set, limits the clients the route serves by their
	// address (see Access); nil serves every client.
	Access *Access `json:"access,omitempty"`
	// RequestHeaders and ResponseHeaders, if set, change the header
	// fields of requests to the backend and of its responses.
	RequestHeaders  *HeaderModifier `json:"requestHeaders,omitempty"`
	ResponseHeaders *HeaderModifier `json:"responseHeaders,omitempty"`
	// CORS, if set, answers cross-origin requests (see CORS).
	CORS *CORS `json:"cors,omitempty"`
	// Rewrite, if set, replaces the path the backend gets (see Rewrite).
	Rewrite *Rewrite `json:"rewrite,omitempty"`
	// BasicAuth, if set, serves only clients that authenticate as one of
	// its users (see BasicAuth); nil asks for no credentials.
	BasicAuth *BasicAuth `json:"basicAuth,omitempty"`
	// Headers and Cookies, if set, are further conditions a request must
	// meet to take this route, all of them (see split.go for the order of
	// routes with the same path).
	Headers []HeaderMatch `json:"headers,omitempty"`
	Cookies []CookieMatch `json:"cookies,omitempty"`
	// Method and QueryParams, if set, are conditions too: the request's
	// method, and its query parameters (see requestmatch.go).
	Method      string            `json:"method,omitempty"`
	QueryParams []QueryParamMatch `json:"queryParams,omitempty"`
	// Rank orders routes of one path with as many conditions of each
	// kind: the lower first (split.go). Gateway API ranks its rules by
	// the age of their route, then their order in it. Not negative.
	Rank int32 `json:"rank,omitempty"`
	// Backends, if set, spread the route's requests over several
	// backends by weight, one choice per request; sorted by Name, and
	// Backend is one of them, so that code reading only Backend still
	// sees a backend of the route. Empty sends every request to Backend.
	Backends []WeightedBackend `json:"backends,omitempty"`
	// StickyBackends, with Backends, lets a client's affinity cookie
	// pick among them before the weights do (sticky.go).
	StickyBackends bool `json:"stickyBackends,omitempty"`
	// RateLimit, if set, limits the requests of each client address
	// (see RateLimit); nil limits none.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
	// ErrorPages, if set, has another backend answer some of the
	// backend's error responses (see ErrorPages).
	ErrorPages *ErrorPages `json:"errorPages,omitempty"`
	// Fallback, if set, serves the requests whose backend (Backend, or
	// the one of Backends picked) has no ready endpoint, as they are but
	// for the ErrorFields, X-Code 503, X-Format and X-Request-ID (see
	// errorpages.go), instead of the proxy's 503: ingress-nginx's
	// default-backend annotation.
	Fallback *BackendRef `json:"fallback,omitempty"`
	// ExternalAuth, if set, serves only the requests an authentication
	// server allows (see ExternalAuth); nil asks none.
	ExternalAuth *ExternalAuth `json:"externalAuth,omitempty"`
	// Timeouts, if set, bound the route's exchanges (see
	// RouteTimeouts); nil leaves them to the backend's policy.
	Timeouts *RouteTimeouts `json:"timeouts,omitempty"`
	// Mirrors, if set, get copies of the route's requests (see
	// mirror.go); sorted by Name, then share.
	Mirrors []Mirror `json:"mirrors,omitempty"`
	// Retry, if set, sends a request whose attempt failed again (see
	// retry.go); nil sends each request once, but for the policy's
	// retries of failed connects.
	Retry *Retry `json:"retry,omitempty"`
	// Source is the object that asked for this route: one of the load
	// balancer's Sources, or an object that is not served (not among
	// them), whose route goes to a backend without endpoints, so that its
	// requests answer 503 rather than reach another route.
	Source ObjectRef `json:"source"`
}

// Access limits a route to clients by the address of the TCP peer, never
// by a header such as X-Forwarded-For. A client whose address is in a Deny
// prefix, or, when Allow is not empty, in no Allow prefix, gets 403 and
// its request reaches no backend and no redirect. Deny wins over Allow.
// An IPv4-mapped IPv6 client address (::ffff:a.b.c.d) is matched as the
// IPv4 address it maps.
//
// Prefixes are masked (no host bits), have no zone and are not
// IPv4-mapped IPv6 prefixes (write them as IPv4); each list is sorted
// (netip.Prefix.Compare) without duplicates; an Access has at least one
// prefix. Sort puts the lists in order; Validate checks the rest.
type Access struct {
	// Allow are the prefixes of the clients served; empty means every
	// client not denied.
	Allow []netip.Prefix `json:"allow,omitempty"`
	// Deny are the prefixes of the clients refused.
	Deny []netip.Prefix `json:"deny,omitempty"`
}

// Permits reports whether a client at addr may use a route with access
// a. A nil Access permits every client.
func (a *Access) Permits(addr netip.Addr) bool {
	if a == nil {
		return true
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range a.Deny {
		if p.Contains(addr) {
			return false
		}
	}
	if len(a.Allow) == 0 {
		return true
	}
	for _, p := range a.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// HTTPSRedirect sends a client to the same host, path and query over HTTPS:
// Location "https://<host>[:<Port>]<path>[?<query>]", with the host of the
// request (without its port) and Port left out when it is 443.
type HTTPSRedirect struct {
	// Port is the port of an HTTPS listener of the same load balancer.
	Port int32 `json:"port"`
	// StatusCode is 301, 302, 307 or 308. 307 and 308 keep the method and
	// body of the request; 308 is what browsers may cache.
	StatusCode int32 `json:"statusCode"`
}

// BackendRef names a Backend of the same Config.
type BackendRef struct {
	Name string `json:"name"`
}

// Backend is a pool of endpoints that serve one service port.
type Backend struct {
	// Name is "<namespace>/<service>:<port>", the port as written in the
	// source (a number or a port name).
	Name string `json:"name"`
	// Protocol is what the backend speaks; empty means HTTP/1.1.
	Protocol BackendProtocol `json:"protocol,omitempty"`
	// TLS, if set, says how an HTTPS or GRPCS backend is spoken to (see
	// BackendTLS).
	TLS *BackendTLS `json:"tls,omitempty"`
	// Endpoints are sorted by Address, then Port. Only Ready endpoints take
	// new requests; a backend with none answers 503.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	Policy    Policy     `json:"policy,omitzero"`
	// Status, if not 0, makes the backend an answer instead of a pool:
	// the proxy answers every request sent to it with this status, 400
	// to 599 (see status.go). Such a backend has no endpoints.
	Status int32 `json:"status,omitempty"`
}

// BackendProtocol is what a backend speaks.
type BackendProtocol string

// Backend protocols.
const (
	BackendHTTP  BackendProtocol = "HTTP"
	BackendHTTPS BackendProtocol = "HTTPS"
	BackendH2C   BackendProtocol = "H2C"
	BackendGRPC  BackendProtocol = "GRPC"
	// BackendGRPCS is gRPC over TLS: HTTP/2 negotiated by ALPN.
	BackendGRPCS BackendProtocol = "GRPCS"
)

// Endpoint is one address of a backend.
type Endpoint struct {
	// Address is an IPv4 or IPv6 address in its canonical text form.
	Address string `json:"address"`
	Port    int32  `json:"port"`
	// Ready endpoints take new requests.
	Ready bool `json:"ready"`
	// Serving endpoints still answer, even while terminating.
	Serving bool `json:"serving"`
	// Terminating endpoints are going away: no new requests, but requests in
	// flight finish.
	Terminating bool   `json:"terminating,omitempty"`
	Zone        string `json:"zone,omitempty"`
}

// Policy says how a backend spreads and guards its traffic. The zero
// value is round robin with the provider's default timeouts, no affinity,
// no retries, no passive health checks and no body size limit. See
// policy.go.
type Policy struct {
	// Algorithm picks an endpoint per request (or TCP connection) when
	// Affinity does not; empty means round robin.
	Algorithm Algorithm `json:"algorithm,omitempty"`
	// Affinity keeps a client on the endpoint it reached first.
	Affinity *Affinity `json:"affinity,omitempty"`
	// Hash, if set, picks the endpoint of a request by a key read from
	// it, in place of Algorithm (see hash.go); not with Affinity.
	Hash *Hash `json:"hash,omitempty"`
	// Timeouts bound the backend side of an exchange.
	Timeouts Timeouts `json:"timeouts,omitzero"`
	// Retries is how many other endpoints a request that may be sent
	// twice (idempotent methods), or a TCP connection, is tried on when
	// connecting to its endpoint fails.
	Retries int32 `json:"retries,omitempty"`
	// PassiveHealthCheck ejects endpoints that keep failing to connect.
	PassiveHealthCheck *PassiveHealthCheck `json:"passiveHealthCheck,omitempty"`
	// MaxRequestBodyBytes rejects larger request bodies with 413; zero
	// means no limit.
	MaxRequestBodyBytes int64 `json:"maxRequestBodyBytes,omitempty"`
}

// Algorithm is a load-balancing algorithm.
type Algorithm string

// Load-balancing algorithms.
const (
	RoundRobin   Algorithm = "round_robin"
	LeastRequest Algorithm = "least_request"
	Random       Algorithm = "random"
)

// CertificateRef names a Certificate of the same Config.
type CertificateRef struct {
	Name string `json:"name"`
}

// Certificate is a TLS certificate chain and its private key.
type Certificate struct {
	// Name is "<namespace>/<secret>".
	Name     string `json:"name"`
	ChainPEM []byte `json:"chainPEM"`
	KeyPEM   []byte `json:"-"` // never serialized, so never logged
	// Hosts are the hostnames the certificate is served for, sorted.
	Hosts []string `json:"hosts,omitempty"`
}

// ObjectRef identifies a source object, such as an Ingress.
type ObjectRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String returns "Kind namespace/name", or "Kind name" for cluster-scoped
// objects.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return fmt.Sprintf("%s %s", r.Kind, r.Name)
	}
	return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
}

// Address is one public endpoint of a load balancer, as a provider reports it.
type Address struct {
	IP       string `json:"ip,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	// Ports are the public ports, sorted. Empty means the listeners' ports.
	Ports []int32 `json:"ports,omitempty"`
}

// Backend returns the backend called name, or nil.
func (c *Config) Backend(name string) *Backend {
	for i := range c.Backends {
		if c.Backends[i].Name == name {
			return &c.Backends[i]
		}
	}
	return nil
}

// Certificate returns the certificate called name, or nil.
func (c *Config) Certificate(name string) *Certificate {
	for i := range c.Certificates {
		if c.Certificates[i].Name == name {
			return &c.Certificates[i]
		}
	}
	return nil
}
