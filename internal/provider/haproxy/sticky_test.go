package haproxy

import (
	"errors"
	"testing"
)

func TestRenderRefusesStickyBackends(t *testing.T) {
	cfg := splitGolden()
	cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].StickyBackends = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := RenderConfig(cfg, goldenOptions(t)); !errors.Is(err, errStickyBackends) {
		t.Errorf("RenderConfig = %v, want %v", err, errStickyBackends)
	}
}
