package translate

import (
	"slices"
	"testing"
)

// TestGatewayInfrastructureDeclared: GatewayInfrastructure is declared
// only when the leader keeps the Gateways' Services, and nothing else
// changes with it.
func TestGatewayInfrastructureDeclared(t *testing.T) {
	off := GatewaySupportedFeatures(Options{})
	on := GatewaySupportedFeatures(Options{GatewayServices: true})
	if slices.Contains(off, "GatewayInfrastructure") {
		t.Error("declared without Services")
	}
	if !slices.Contains(on, "GatewayInfrastructure") {
		t.Error("not declared with Services")
	}
	if !slices.IsSorted(on) || len(on) != len(off)+1 {
		t.Errorf("with Services: %v, want the %d features of %v and GatewayInfrastructure, sorted", on, len(off), off)
	}
}

func TestParametersName(t *testing.T) {
	for _, c := range []struct{ group, kind, ns, name, want string }{
		{"invalid.io", "InvalidParameters", "infra", "invalid", "InvalidParameters.invalid.io infra/invalid"},
		{"", "ConfigMap", "infra", "params", "ConfigMap infra/params"},
		{"example.com", "Params", "", "cluster", "Params.example.com cluster"},
	} {
		if got := parametersName(c.group, c.kind, c.ns, c.name); got != c.want {
			t.Errorf("parametersName(%q, %q, %q, %q) = %q, want %q", c.group, c.kind, c.ns, c.name, got, c.want)
		}
	}
}
