// Package provider defines the contract between the engine and the load
// balancers it drives, and a registry that maps --provider names to
// constructors.
package provider

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ingress-controller/pkg/lbconfig"
)

// Provider makes a real load balancer serve a config and reports the public
// endpoints of each load balancer it manages.
type Provider interface {
	// Name is the --provider value that selects this provider.
	Name() string
	// Apply makes the load balancers serve cfg. All or nothing: on error the
	// previously applied config keeps serving. Idempotent. cfg is sorted,
	// valid and must not be modified or retained beyond what serving needs.
	Apply(ctx context.Context, cfg *lbconfig.Config) (Result, error)
	// Run starts long-lived work (listeners, processes, health watching) and
	// sends endpoint changes on updates until ctx ends.
	Run(ctx context.Context, updates chan<- Result) error
}

// Result reports the public endpoints of each load balancer, by name.
type Result struct {
	Endpoints map[string][]lbconfig.Address
}

// Validator is implemented by providers that can check a config without
// applying it.
type Validator interface {
	Validate(ctx context.Context, cfg *lbconfig.Config) error
}

// HealthChecker is implemented by providers that can tell whether their load
// balancers are serving, for /readyz.
type HealthChecker interface {
	Healthy(ctx context.Context) error
}

// Options are the settings common to every provider, taken from flags.
type Options struct {
	// ListenAddress is the IP address public listeners bind to; empty means
	// all addresses.
	ListenAddress string
	// ShutdownGrace bounds how long requests in flight may take to finish
	// once Run's context ends and the listeners stop accepting; zero means
	// the provider's own default.
	ShutdownGrace time.Duration
	// DrainTimeout is how long long-lived connections (websockets and
	// other upgraded or streaming connections) to an endpoint that left
	// the config may go on before they are closed; zero means the
	// provider's own default.
	DrainTimeout time.Duration
	// Metrics, if set, is where the provider registers its own metrics
	// (per-backend requests and latency, for example).
	Metrics prometheus.Registerer
	// AccessLog, if set, gets one line per request served.
	AccessLog *slog.Logger

	// Client limits: what one client may hold of the load balancer (see
	// docs/providers.md, "Client limits"). Zero means the default below.

	// MaxRequestHeaderBytes bounds a request's head: the request line and
	// the header fields, counted as "Name: value" lines with CRLF, the
	// blank line included. A larger head is refused.
	MaxRequestHeaderBytes int
	// ClientBodyTimeout is how long a request body may go without a byte
	// from the client; then the request fails (408 where nothing was
	// answered yet), its connection is closed, and so is the backend
	// connection it held: the backend never sees the body complete.
	ClientBodyTimeout time.Duration
	// TunnelIdleTimeout closes a websocket, TCP or TLS passthrough
	// connection after that long without a byte either way, unless its
	// backend's policy sets an idle timeout of its own.
	TunnelIdleTimeout time.Duration
	// MaxConnections caps the client connections of each listener, tunnels
	// included. At the cap the listener stops accepting; new connections
	// wait in the kernel's backlog until one closes.
	MaxConnections int

	// NoTLSSessionResumption turns TLS session resumption (session tickets
	// and the session cache) off on HTTPS listeners; it is on by default
	// (see docs/providers.md, "TLS").
	NoTLSSessionResumption bool
	// ServerHeader is the Server field the load balancer adds to a
	// backend's response that has none; empty adds none. It must pass
	// CheckServerHeader.
	ServerHeader string
}

// MaxServerHeader bounds Options.ServerHeader.
const MaxServerHeader = 64

// CheckServerHeader returns an error unless v is empty or a product as
// a Server field names one (RFC 9110): a token, optionally "/" and a
// version token, at most MaxServerHeader bytes, without "%" (HAProxy
// reads it as a log-format directive). Nothing that would need quoting
// in a config or could end a field.
func CheckServerHeader(v string) error {
	if len(v) > MaxServerHeader {
		return fmt.Errorf("%d bytes, more than %d", len(v), MaxServerHeader)
	}
	product, version, versioned := strings.Cut(v, "/")
	if v != "" && (!isToken(product) || versioned && !isToken(version)) {
		return fmt.Errorf("%q is not a product token, optionally with /version", v)
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token without "%".
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Defaults of the client limits in Options.
const (
	// DefaultMaxRequestHeaderBytes is twice what common browsers and
	// clients send at most (large cookies), and what nginx allows with its
	// large_client_header_buffers of 4 x 8k.
	DefaultMaxRequestHeaderBytes = 32 << 10
	// DefaultClientBodyTimeout is nginx's client_body_timeout and what
	// HAProxy's "timeout client" was here before it was a flag.
	DefaultClientBodyTimeout = 60 * time.Second
	// DefaultTunnelIdleTimeout lets quiet websockets live (most send pings
	// every minute or less) while connections abandoned without a close
	// are freed within the hour.
	DefaultTunnelIdleTimeout = time.Hour
	// DefaultMaxConnections per listener fits a 1 GiB container with an
	// HTTP and an HTTPS listener at their caps: a builtin tunnel costs
	// about 90 KB (two goroutines, two 32 KiB copy buffers, two sockets)
	// and a TLS connection in the middle of a large head about as much;
	// 2 x 4096 of those is about 740 MB. Idle keep-alive connections cost
	// a tenth of that.
	DefaultMaxConnections = 4096
)

// WithDefaults returns o with every zero client limit set to its default.
func (o Options) WithDefaults() Options {
	if o.MaxRequestHeaderBytes <= 0 {
		o.MaxRequestHeaderBytes = DefaultMaxRequestHeaderBytes
	}
	if o.ClientBodyTimeout <= 0 {
		o.ClientBodyTimeout = DefaultClientBodyTimeout
	}
	if o.TunnelIdleTimeout <= 0 {
		o.TunnelIdleTimeout = DefaultTunnelIdleTimeout
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	return o
}

// Factory builds a provider from common options.
type Factory func(Options) (Provider, error)

// Registry maps provider names to factories. The zero value is ready to use.
type Registry struct {
	factories map[string]Factory
}

// Register adds a factory under name, replacing any earlier one.
func (r *Registry) Register(name string, f Factory) {
	if r.factories == nil {
		r.factories = map[string]Factory{}
	}
	r.factories[name] = f
}

// New builds the provider called name.
func (r *Registry) New(name string, opts Options) (Provider, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (known: %v)", name, r.Names())
	}
	return f(opts)
}

// Names lists the registered provider names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
