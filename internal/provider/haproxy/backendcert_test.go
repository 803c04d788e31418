package haproxy

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ingress-controller/internal/source/file"
	"ingress-controller/internal/translate"
)

// TestRenderGatewayBackendCert renders what the translator makes of the
// gateway-backend-cert golden case, Gateways with client certificates
// to their backends under a BackendTLSPolicy, without its mirrors (this
// provider mirrors to backends in the clear only, and refuses the
// others): each certificate is a file of its own, with its key, that the
// servers of its backends name with crt; the policy's backend without a
// certificate names none; and haproxy -c takes it all.
func TestRenderGatewayBackendCert(t *testing.T) {
	bin := haproxyBinary(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "translate", "testdata", "gateway-backend-cert", "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := file.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := translate.Ingresses(snap, translate.Options{GatewayAddressPool: netip.MustParsePrefix("127.0.1.0/29")})
	for i := range cfg.LoadBalancers {
		for j := range cfg.LoadBalancers[i].Listeners {
			for k := range cfg.LoadBalancers[i].Listeners[j].VirtualHosts {
				for m := range cfg.LoadBalancers[i].Listeners[j].VirtualHosts[k].Routes {
					cfg.LoadBalancers[i].Listeners[j].VirtualHosts[k].Routes[m].Mirrors = nil
				}
			}
		}
	}
	r, err := RenderConfig(cfg, goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	checkGrammar(t, r)
	if err := checkWithHAProxy(t, bin, r); err != nil {
		t.Error(err)
	}
	crts := map[string]bool{}
	for _, b := range cfg.Backends {
		if b.TLS == nil {
			continue
		}
		f := backendTLSFile(b.Name, "client")
		pem, ok := r.Files[f]
		if len(b.TLS.ClientCertificatePEM) == 0 {
			if ok {
				t.Errorf("backend %q has no client certificate, yet file %s", b.Name, f)
			}
			continue
		}
		switch {
		case !ok:
			t.Errorf("backend %q: no file %s", b.Name, f)
		case !bytes.Contains(pem, b.TLS.ClientCertificatePEM) || !bytes.Contains(pem, b.TLS.ClientKeyPEM):
			t.Errorf("backend %q: %s does not hold its certificate and key", b.Name, f)
		}
		crts[f] = true
	}
	if len(crts) != 3 { // shop/lb-client for HTTP and gRPC, certs/cross-client
		t.Errorf("%d client certificate files, want 3", len(crts))
	}
	cfgText := string(r.Files["haproxy.cfg"])
	for f := range crts {
		if !strings.Contains(cfgText, " crt "+currentDir+f) {
			t.Errorf("no server names crt %s%s", currentDir, f)
		}
	}
}
