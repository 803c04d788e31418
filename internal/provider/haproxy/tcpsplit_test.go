package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// tcpSplitGolden is a TCP listener spreading its connections 70/30 over
// two backends, one with weight 0, and one without endpoints (the share
// of a backendRef that cannot be resolved).
func tcpSplitGolden() *lbconfig.Config {
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "gateway/default/tcp",
			Listeners: []lbconfig.Listener{{
				Port: 9000, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: "default/v1:3000"},
				TCPBackends: []lbconfig.WeightedBackend{
					{Name: "default/v1:3000", Weight: 60}, {Name: "default/v2:3000", Weight: 30},
					{Name: "default/v3:3000", Weight: 0}, {Name: "default/route!invalid", Weight: 10},
				},
			}},
		}},
		Backends: []lbconfig.Backend{
			{Name: "default/v1:3000", Endpoints: headerEndpoint()},
			{Name: "default/v2:3000", Endpoints: headerEndpoint()},
			{Name: "default/v3:3000", Endpoints: headerEndpoint()},
			{Name: "default/route!invalid"},
		},
	}
	cfg.Sort()
	return cfg
}

// TestRenderTCPSplitRefuses: weights Validate refuses fail the render,
// naming the listener's backends, and tcpSplitLines refuses them too.
func TestRenderTCPSplitRefuses(t *testing.T) {
	for name, change := range map[string]func(*lbconfig.Listener){
		"zero total":      func(l *lbconfig.Listener) { l.TCPBackends = []lbconfig.WeightedBackend{{Name: "default/v1:3000"}} },
		"huge total":      func(l *lbconfig.Listener) { l.TCPBackends[0].Weight = lbconfig.MaxWeight },
		"negative weight": func(l *lbconfig.Listener) { l.TCPBackends[1].Weight = -5 },
		"unknown backend": func(l *lbconfig.Listener) { l.TCPBackends[2].Name = "default/none:1" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := tcpSplitGolden()
			change(&cfg.LoadBalancers[0].Listeners[0])
			_, err := RenderConfig(cfg, goldenOptions(t))
			if err == nil || !strings.Contains(err.Error(), "tcpBackends") {
				t.Errorf("RenderConfig() = %v, want an error naming the tcpBackends", err)
			}
			r := &renderer{tcpIDs: map[string]string{}}
			for _, b := range cfg.Backends {
				r.tcpIDs[b.Name] = TCPBackendID(b.Name)
			}
			if _, err := r.tcpSplitLines(cfg.LoadBalancers[0].Listeners[0]); err == nil || !strings.Contains(err.Error(), "tcp backends") {
				t.Errorf("tcpSplitLines() = %v, want an error naming the tcp backends", err)
			}
		})
	}
}
