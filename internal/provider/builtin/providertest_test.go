package builtin

import (
	"testing"

	"ingress-controller/pkg/provider"
	"ingress-controller/pkg/provider/providertest"
)

// TestProviderSuite runs the behavioural suite that every provider passes.
func TestProviderSuite(t *testing.T) {
	providertest.Run(t, func(t *testing.T, opts provider.Options) provider.Provider {
		return New(opts, testLogger(t))
	})
}
