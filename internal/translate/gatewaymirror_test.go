package translate

import (
	"slices"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestGatewaySupportedFeaturesPerProvider: a provider that mirrors gets
// the three mirror features declared, one that does not gets none of
// them and the rest the same; both lists sorted and without repeats.
func TestGatewaySupportedFeaturesPerProvider(t *testing.T) {
	serving := GatewaySupportedFeatures(Options{})
	unserved := GatewaySupportedFeatures(Options{MirrorsUnserved: "no mirrors here"})
	for name, fs := range map[string][]gatewayv1.FeatureName{"mirroring": serving, "not mirroring": unserved} {
		if !slices.IsSorted(fs) || len(slices.Compact(slices.Clone(fs))) != len(fs) {
			t.Errorf("%s: %v is not sorted or has repeats", name, fs)
		}
	}
	for _, f := range gatewayMirrorFeatures {
		if !slices.Contains(serving, f) {
			t.Errorf("a provider that mirrors does not declare %s", f)
		}
		if slices.Contains(unserved, f) {
			t.Errorf("a provider without mirrors declares %s", f)
		}
	}
	rest := slices.DeleteFunc(slices.Clone(serving), func(f gatewayv1.FeatureName) bool { return slices.Contains(gatewayMirrorFeatures, f) })
	if !slices.Equal(rest, unserved) {
		t.Errorf("without mirrors: got %v, want %v", unserved, rest)
	}
	// A provider that checks one name leaves only the SAN lists out.
	oneName := GatewaySupportedFeatures(Options{NameListsUnserved: "one name"})
	if slices.Contains(oneName, "BackendTLSPolicySANValidation") || !slices.Contains(serving, "BackendTLSPolicySANValidation") {
		t.Errorf("BackendTLSPolicySANValidation: declared %v with name lists, %v without; want only with",
			slices.Contains(serving, "BackendTLSPolicySANValidation"), slices.Contains(oneName, "BackendTLSPolicySANValidation"))
	}
	if len(oneName) != len(serving)-1 {
		t.Errorf("without name lists: %d features, want %d", len(oneName), len(serving)-1)
	}
	// One that retries no timed-out attempt within a request timeout
	// leaves only HTTPRouteRetryBackendTimeout out.
	noTimeoutRetries := GatewaySupportedFeatures(Options{TimeoutRetriesUnserved: "no"})
	if slices.Contains(noTimeoutRetries, "HTTPRouteRetryBackendTimeout") || !slices.Contains(serving, "HTTPRouteRetryBackendTimeout") || len(noTimeoutRetries) != len(serving)-1 {
		t.Errorf("HTTPRouteRetryBackendTimeout: got %v without timeout retries, %v with", noTimeoutRetries, serving)
	}
	// Unproven features are left out, the rest kept.
	unproven := GatewaySupportedFeatures(Options{Unproven: []string{"GatewayBackendClientCertificate", "NoSuchFeature"}})
	if slices.Contains(unproven, "GatewayBackendClientCertificate") || len(unproven) != len(serving)-1 {
		t.Errorf("with GatewayBackendClientCertificate unproven: got %v, from %v", unproven, serving)
	}
	// The caller's copy is its own.
	serving[0] = "changed"
	if GatewaySupportedFeatures(Options{})[0] == "changed" {
		t.Error("GatewaySupportedFeatures returned shared storage")
	}
}
