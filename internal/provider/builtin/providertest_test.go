package builtin

import (
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/provider"
	"ingress-controller/pkg/provider/providertest"
)

// TestProviderSuite runs the behavioural suite that every provider passes,
// with every optional capability.
func TestProviderSuite(t *testing.T) {
	providertest.Suite{
		New: func(t *testing.T, opts provider.Options) provider.Provider {
			return New(opts, nettest.Logger(t))
		},
		Capabilities: providertest.Capabilities{TLS: true, TCP: true, Sticky: true},
	}.Run(t)
}
