package haproxy

import (
	"testing"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
	"ingress-controller/pkg/provider/providertest"
)

// TestProviderSuite runs the shared behavioural suite against a real
// HAProxy.
func TestProviderSuite(t *testing.T) {
	bin := haproxyBinary(t)
	providertest.Suite{Capabilities: providertest.Capabilities{TLS: true, TCP: true, TLSTerminateTCP: true, Sticky: true, Mirrors: true, HashFormats: []lbconfig.HashFormat{
		// What HAProxy 2.6 verifies with crypt(3) on Debian 12.
		lbconfig.HashBcrypt, lbconfig.HashMD5Crypt, lbconfig.HashSHA256Crypt, lbconfig.HashSHA512Crypt,
	}}, New: func(t *testing.T, opts provider.Options) provider.Provider {
		dir := runtimeDir(t)
		p, err := New(Options{Options: opts, Binary: bin, Dir: dir, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { killPID(p.PID()) })
		return p
	}}.Run(t)
}
