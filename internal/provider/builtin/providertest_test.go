package builtin

import (
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
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
		Capabilities: providertest.Capabilities{TLS: true, TicketsOutliveChanges: true, TCP: true, TLSTerminateTCP: true, Sticky: true, Mirrors: true, StickyBackends: true, SubjectAltNameLists: true, HashFormats: []lbconfig.HashFormat{
			lbconfig.HashBcrypt, lbconfig.HashAPR1, lbconfig.HashMD5Crypt, lbconfig.HashSHA256Crypt, lbconfig.HashSHA512Crypt, lbconfig.HashSHA1,
		}},
	}.Run(t)
}
