// Package providertest is the behavioural suite that every provider passes:
// the same cases, with real HTTP backends and real traffic over loopback,
// whatever the load balancer underneath.
//
// A provider runs it from a test in its own package:
//
//	func TestProviderSuite(t *testing.T) {
//		providertest.Run(t, func(t *testing.T, opts provider.Options) provider.Provider {
//			return haproxy.New(opts, ...) // not yet running
//		})
//	}
//
// or, to declare optional capabilities, with a Suite:
//
//	providertest.Suite{New: newProvider, Capabilities: providertest.Capabilities{TLS: true}}.Run(t)
//
// # Theory of operation
//
// Every case gets a fresh provider from New, built with the suite's
// provider.Options (its ListenAddress, a short ShutdownGrace). The suite
// starts Run(ctx, updates) in a goroutine at once, drains updates, and at
// the end of the case cancels ctx and waits for Run to return; a Run that
// returns early or with an error fails the case. Apply may therefore come
// right after Run started: a provider that needs Run's work first (a
// process) must wait for it inside Apply.
//
// The suite builds every lbconfig.Config itself (sorted and valid, never
// touched again after Apply) and routes to echo backends it starts on
// 127.0.0.1. Listener ports are free ports of the listen address. After an
// Apply, traffic must follow the new config within a convergence bound
// (10 s): the suite polls until it does and then checks that it stays so.
// It never asserts how fast anything is, only what answers.
//
// Cases need nothing but the Provider interface. Those for optional
// features (TLS/SNI, TCP and TLS passthrough, sticky sessions; see
// features.go) are gated by Capabilities: a provider that does not
// declare one skips its cases.
//
// What a provider must do to pass, beyond the lbconfig documentation:
// answer 404 itself when nothing matches and 503 when the backend has no
// ready endpoint; set X-Forwarded-Proto and X-Forwarded-Host itself,
// replacing what the client sent, and end X-Forwarded-For with the
// client's address; answer 403 itself, before any backend or redirect,
// to a client whose connection's address a route's Access refuses;
// answer a route's Redirect itself, with its status and Location, after
// Access and before any backend, never reflecting the Host header;
// answer a HEAD with a head alone, also where it answers itself;
// bind a load balancer's listeners on its own addresses when it has some
// (LoadBalancer.Addresses), so that several share a port; limit each
// client address as a route's RateLimit says, answering its status code
// itself to the requests over it; ask a route's ExternalAuth server
// about each request without its body and serve only what it allows
// (fail closed), with the fields it lists copied over the client's, at
// its Backend's ready endpoints when it has one, never at the URL's host;
// reject a config with a port or an
// address it cannot bind, or a port that two load balancers share on one
// address, and keep the old config serving through
// the failed Apply without a failed request; apply an unchanged config
// without disturbing anything, not even an open keep-alive connection;
// report, for each load balancer and no other, addresses that reach it;
// close its listeners before Run returns.
//
// Hostile inputs (faulty.go, paths.go, smuggling.go, hopbyhop.go,
// limits.go): every provider must keep one exchange's bytes from reaching
// another client whatever a faulty backend sends, route and forward one
// normalized path (lbconfig.NormalizePath) and refuse what it cannot
// normalize, keep smuggled requests from backends, strip hop-by-hop fields
// both ways, and hold clients to the limits in provider.Options. Each case
// asserts what the client and the backend actually saw.
package providertest

import (
	"net/netip"
	"testing"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// Capabilities are the optional features a provider has. Each enables the
// cases for it; a provider without one skips them.
type Capabilities struct {
	// TLS: HTTPS listeners that pick a certificate by SNI.
	TLS bool
	// TCP: TCP listeners and TLS passthrough by SNI.
	TCP bool
	// TLSTerminateTCP: TLS terminated for a TCP backend on a TLS
	// passthrough listener (lbconfig.VirtualHost.TCP).
	TLSTerminateTCP bool
	// Sticky: cookie and source-IP session affinity.
	Sticky bool
	// Mirrors: routes' request mirrors. A provider without them must
	// refuse a config that has some, and keep the old one serving.
	Mirrors bool
	// TicketsOutliveChanges: a session ticket issued before a config
	// change resumes after it. HAProxy's reload makes new keys.
	TicketsOutliveChanges bool
	// StickyBackends: an affinity cookie picks among a route's weighted
	// backends (lbconfig.Route.StickyBackends). A provider without it
	// must refuse such a route, and keep the old config serving.
	StickyBackends bool
	// SubjectAltNameLists: backend certificates checked for URI subject
	// alternative names and for any of several names
	// (lbconfig.BackendTLS.SubjectAltNames). A provider without them must
	// refuse such a config, and keep the old one serving; one DNS name
	// every provider checks.
	SubjectAltNameLists bool
	// HashFormats are the password hash formats of basic authentication
	// the provider verifies; it must reject a config with any other.
	HashFormats []lbconfig.HashFormat
}

// Suite is the behavioural suite for one provider.
type Suite struct {
	// New returns a provider, not yet running, that binds its listeners
	// to opts.ListenAddress. It is called once per case; resources it
	// makes (t.TempDir, processes) can be released with t.Cleanup.
	New func(t *testing.T, opts provider.Options) provider.Provider
	// ListenAddress is the loopback IP that listeners bind to and the
	// suite's clients connect to; empty means "127.0.0.1".
	ListenAddress string
	// Capabilities enable the cases of optional features.
	Capabilities Capabilities
}

// Run runs the suite, without optional capabilities, against the providers
// that newProvider builds.
func Run(t *testing.T, newProvider func(t *testing.T, opts provider.Options) provider.Provider) {
	t.Helper()
	Suite{New: newProvider}.Run(t)
}

// Run runs every case of the suite as a subtest of t.
func (s Suite) Run(t *testing.T) {
	t.Helper()
	if s.New == nil {
		t.Fatal("providertest: Suite.New is nil")
	}
	if s.ListenAddress == "" {
		s.ListenAddress = "127.0.0.1"
	}
	if a, err := netip.ParseAddr(s.ListenAddress); err != nil || !a.IsLoopback() {
		t.Fatalf("providertest: ListenAddress %q is not a loopback IP", s.ListenAddress)
	}
	for _, c := range []struct {
		name string
		run  func(*Suite, *testing.T)
	}{
		{"RoutesByExactHost", (*Suite).testExactHost},
		{"RoutesByWildcardHost", (*Suite).testWildcardHost},
		{"HostMatchIgnoresCaseAndPort", (*Suite).testHostCaseAndPort},
		{"ExactHostForms", (*Suite).testExactHostForms},
		{"RoutesByExactAndPrefixPath", (*Suite).testPaths},
		{"PathNormalization", (*Suite).testPathNormalization},
		{"LongPaths", (*Suite).testLongPaths},
		{"DefaultBackendOrNotFound", (*Suite).testDefaultBackend},
		{"NoReadyEndpointIs503", (*Suite).testNoReadyEndpoint},
		{"SpreadsOverReadyEndpoints", (*Suite).testSpread},
		{"ForwardedHeaders", (*Suite).testForwardedHeaders},
		{"SourceRanges", (*Suite).testSourceRanges},
		{"HeaderChanges", (*Suite).testHeaderChanges},
		{"CORS", (*Suite).testCORS},
		{"GatewayCORS", (*Suite).testGatewayCORS},
		{"RegexAndRewrite", (*Suite).testRegexRewrite},
		{"BasicAuth", (*Suite).testBasicAuth},
		{"AuthWithHeaders", (*Suite).testAuthWithHeaders},
		{"ExternalAuth", (*Suite).testExternalAuth},
		{"ExternalAuthService", (*Suite).testExternalAuthService},
		{"Redirects", (*Suite).testRedirects},
		{"MultiLabelWildcards", (*Suite).testMultiLabelWildcards},
		{"HostFallThrough", (*Suite).testHostFallThrough},
		{"EmptyVirtualHosts", (*Suite).testEmptyVirtualHosts},
		{"RedirectsToRequestHost", (*Suite).testRedirectsToRequestHost},
		{"HeadAnswers", (*Suite).testHeadAnswers},
		{"ServerField", (*Suite).testServerField},
		{"RequestMatches", (*Suite).testRequestMatches},
		{"BackendHeaderChanges", (*Suite).testBackendHeaders},
		{"GatewayShapes", (*Suite).testGatewayShapes},
		{"StatusAnswers", (*Suite).testStatusAnswers},
		{"QueryAndMethodMatches", (*Suite).testQueryAndMethodMatches},
		{"MatchPrecedence", (*Suite).testMatchPrecedence},
		{"PrefixRewrite", (*Suite).testPrefixRewrite},
		{"Timeouts", (*Suite).testTimeouts},
		{"Mirrors", (*Suite).testMirrors},
		{"Retries", (*Suite).testRetries},
		{"RateLimits", (*Suite).testRateLimits},
		{"BackendTLS", (*Suite).testBackendTLS},
		{"BackendTLSNames", (*Suite).testBackendTLSNames},
		{"BackendClientCertificate", (*Suite).testBackendClientCertificate},
		{"GRPC", (*Suite).testGRPC},
		{"GRPCFallThrough", (*Suite).testGRPCFallThrough},
		{"ErrorPages", (*Suite).testErrorPages},
		{"ApplyChangesRouting", (*Suite).testApplyChanges},
		{"ResultNamesEachLoadBalancer", (*Suite).testResult},
		{"LoadBalancerAddresses", (*Suite).testAddresses},
		{"ApplyIsIdempotent", (*Suite).testIdempotent},
		{"EndpointChurnUnderLoad", (*Suite).testEndpointChurn},
		{"RejectedConfigKeepsOldServing", (*Suite).testRejected},
		{"StopClosesListeners", (*Suite).testStop},
		{"FaultyBackendsNeverMixExchanges", (*Suite).testFaultyBackends},
		{"InformationalResponsesForwarded", (*Suite).testInformational},
		{"NoReplayOfUnsafeRequests", (*Suite).testNoReplayOfUnsafeRequests},
		{"TLS", (*Suite).testTLS},
		{"ClientAuth", (*Suite).testClientAuth},
		{"MisdirectedRequests", (*Suite).testMisdirectedRequests},
		{"TLSProfile", (*Suite).testTLSProfile},
		{"TLSSessionResumption", (*Suite).testTLSResumption},
		{"TLSSessionResumptionAcrossChange", (*Suite).testTLSResumptionAcrossChange},
		{"TLSSingleUseTickets", (*Suite).testTLSSingleUseTickets},
		{"TCP", (*Suite).testTCP},
		{"HostileClientHellos", (*Suite).testHostileClientHellos},
		{"TLSTerminatedForTCP", (*Suite).testTLSTerminatedForTCP},
		{"TLSTerminatedForTCPHostile", (*Suite).testTLSTerminatedForTCPHostile},
		{"TCPSplit", (*Suite).testTCPSplit},
		{"StickySessions", (*Suite).testSticky},
		{"StickyBackends", (*Suite).testStickyBackends},
		{"Hashing", (*Suite).testHashing},
		{"RequestSmuggling", (*Suite).testSmuggling},
		{"UnreadBodies", (*Suite).testUnreadBodies},
		{"HopByHopFields", (*Suite).testHopByHop},
		{"ClientLimits", (*Suite).testClientLimits},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(&s, t) })
	}
}

// needs skips t unless the provider has the capability.
func needs(t *testing.T, has bool, what string) {
	t.Helper()
	if !has {
		t.Skipf("the provider does not declare the %s capability", what)
	}
}
