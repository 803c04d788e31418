package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// TestRenderRefusesTerminatedTCP: TLS terminated for a TCP backend
// (lbconfig.VirtualHost.TCP) is not served by this provider yet, so a
// config that asks for it is refused, naming the virtual host, rather
// than served another way.
func TestRenderRefusesTerminatedTCP(t *testing.T) {
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 8443, Protocol: lbconfig.ProtocolTLSPassthrough,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "db.example.com", TLS: &lbconfig.CertificateRef{Name: "ns/tls"}, TCP: &lbconfig.BackendRef{Name: "ns/db:5432"}}},
		}}}},
		Backends:     []lbconfig.Backend{{Name: "ns/db:5432", Endpoints: []lbconfig.Endpoint{{Address: "198.18.0.1", Port: 5432, Ready: true, Serving: true}}}},
		Certificates: []lbconfig.Certificate{{Name: "ns/tls", ChainPEM: []byte("x"), KeyPEM: []byte("y")}},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the config is not valid lbconfig: %v", err)
	}
	_, err := RenderConfig(cfg, RenderOptions{RuntimeDir: testRuntimeDir, DefaultCertificate: []byte("z")})
	if err == nil || !strings.Contains(err.Error(), `"db.example.com"`) || !strings.Contains(err.Error(), "does not terminate TLS for TCP backends") {
		t.Errorf("RenderConfig = %v, want it refused for virtual host \"db.example.com\"", err)
	}
}
