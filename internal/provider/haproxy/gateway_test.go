package haproxy

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"ingress-controller/internal/source/file"
	"ingress-controller/internal/translate"
)

// TestRenderGatewayConfigs renders what the translator makes of the
// Gateway API golden cases (load balancers on addresses of their own,
// HTTPS virtual hosts with certificates of other namespaces, weighted
// routes with the invalid backend that answers 500, routes that answer
// 404 where no match holds, redirects, rewrites and header changes,
// method and query matches, prefix rewrites and timeouts, gRPC backends
// and the patterns of GRPCRoute method matches) and
// checks the result with the grammar check and haproxy -c, mirrors and
// all.
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
