package haproxy

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ingress-controller/internal/source/file"
	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

// TestRenderGatewayConfigs renders what the translator makes of the
// Gateway API golden cases (load balancers on addresses of their own,
// HTTPS virtual hosts with certificates of other namespaces, weighted
// routes with the invalid backend that answers 500, routes that answer
// 404 where no match holds, redirects, rewrites and header changes,
// method and query matches, prefix rewrites and timeouts, gRPC backends
// and the patterns of GRPCRoute method matches) and
// checks the result with the grammar check and haproxy -c. Routes with
// mirrors must be refused (the engine then leaves their Gateway out);
// the rest of such a config is checked without them.
func TestRenderGatewayConfigs(t *testing.T) {
	bin := haproxyBinary(t)
	for _, name := range []string{"gateway-http", "gateway-https", "gateway-route-features", "gateway-grpc", "gateway-status"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "translate", "testdata", name, "input.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			snap, err := file.ParseManifest(data)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := translate.Ingresses(snap, translate.Options{GatewayAddressPool: netip.MustParsePrefix("127.0.1.0/29")})
			if len(cfg.LoadBalancers) == 0 {
				t.Fatal("no load balancers")
			}
			withoutMirrors(t, cfg)
			r, err := RenderConfig(cfg, goldenOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			checkGrammar(t, r)
			if err := checkWithHAProxy(t, bin, r); err != nil {
				t.Error(err)
			}
		})
	}
}

// withoutMirrors checks that cfg is refused when it has mirrors, and
// takes them out of its routes.
func withoutMirrors(t *testing.T, cfg *lbconfig.Config) {
	t.Helper()
	mirrors := 0
	for i := range cfg.LoadBalancers {
		for j := range cfg.LoadBalancers[i].Listeners {
			l := &cfg.LoadBalancers[i].Listeners[j]
			for k := range l.VirtualHosts {
				for n := range l.VirtualHosts[k].Routes {
					mirrors += len(l.VirtualHosts[k].Routes[n].Mirrors)
				}
			}
		}
	}
	if mirrors == 0 {
		return
	}
	if _, err := RenderConfig(cfg, goldenOptions(t)); err == nil || !strings.Contains(err.Error(), "mirror") {
		t.Fatalf("a config with %d mirrors: got %v, want the mirrors refused", mirrors, err)
	}
	for i := range cfg.LoadBalancers {
		for j := range cfg.LoadBalancers[i].Listeners {
			l := &cfg.LoadBalancers[i].Listeners[j]
			for k := range l.VirtualHosts {
				for n := range l.VirtualHosts[k].Routes {
					l.VirtualHosts[k].Routes[n].Mirrors = nil
				}
			}
		}
	}
}
