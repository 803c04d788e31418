// Package provider defines the contract between the engine and the load
// balancers it drives, and a registry that maps --provider names to
// constructors.
package provider

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
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
