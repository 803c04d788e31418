package haproxy

import (
	"errors"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

func TestRenderRefusesMirrors(t *testing.T) {
	cfg := timeoutsGolden()
	cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Mirrors = []lbconfig.Mirror{{Name: "gw/other:8080"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := RenderConfig(cfg, goldenOptions(t)); !errors.Is(err, errMirrors) {
		t.Errorf("RenderConfig = %v, want %v", err, errMirrors)
	}
}
