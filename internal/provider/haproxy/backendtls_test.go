package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// backendTLSConfig has HTTPS and GRPCS backends with each backend TLS
// setting: verified with SNI, verified without, a client certificate,
// TLS versions, and neither.
func backendTLSConfig(t testing.TB) *lbconfig.Config {
	ca := readTestdata(t, "tls-a.crt")
	eps := func(addr string) []lbconfig.Endpoint {
		return []lbconfig.Endpoint{{Address: addr, Port: 8443, Ready: true, Serving: true}}
	}
	route := func(path, backend string) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: ref(backend)}
	}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP,
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
					route("/verified", "default/verified:443"),
					route("/no-sni", "default/no-sni:443"),
					route("/mtls", "default/mtls:443"),
					route("/grpc", "default/grpc:443"),
					route("/plain", "default/plain:443"),
				}}},
			}},
		}},
		Backends: []lbconfig.Backend{
			{Name: "default/verified:443", Protocol: lbconfig.BackendHTTPS, Endpoints: eps("10.0.7.1"),
				TLS: &lbconfig.BackendTLS{Verify: true, CAPEM: ca, ServerName: "verified.default.svc", SNI: true}},
			{Name: "default/no-sni:443", Protocol: lbconfig.BackendHTTPS, Endpoints: eps("10.0.7.2"),
				TLS: &lbconfig.BackendTLS{Verify: true, CAPEM: ca, ServerName: "no-sni.example.com", MinVersion: lbconfig.TLS13}},
			{Name: "default/mtls:443", Protocol: lbconfig.BackendHTTPS, Endpoints: eps("10.0.7.3"),
				TLS: &lbconfig.BackendTLS{ServerName: "mtls.default.svc", SNI: true, MaxVersion: lbconfig.TLS12,
					ClientCertificatePEM: readTestdata(t, "tls-b.crt"), ClientKeyPEM: readTestdata(t, "tls-b.key")}},
			{Name: "default/grpc:443", Protocol: lbconfig.BackendGRPCS, Endpoints: eps("10.0.7.4"),
				TLS: &lbconfig.BackendTLS{Verify: true, CAPEM: ca, ServerName: "grpc.default.svc", SNI: true}},
			{Name: "default/plain:443", Protocol: lbconfig.BackendHTTPS, Endpoints: eps("10.0.7.5")},
		},
	}
}

// TestRenderBackendTLSRejects: what cannot be served safely fails the
// render, even past Validate (which RenderConfig runs first, so here the
// renderer is called on its own).
func TestRenderBackendTLSRejects(t *testing.T) {
	for name, x := range map[string]*lbconfig.BackendTLS{
		"CA not PEM":        {Verify: true, CAPEM: []byte("not pem"), ServerName: "a.b"},
		"name with newline": {Verify: true, CAPEM: readTestdata(t, "tls-a.crt"), ServerName: "a.b\n    server x 1.2.3.4:1"},
		"sni with a paren":  {SNI: true, ServerName: "a.b) verify none"},
		"sni with a space":  {SNI: true, ServerName: "a.b verify none"},
		"key of another":    {ClientCertificatePEM: readTestdata(t, "tls-a.crt"), ClientKeyPEM: readTestdata(t, "tls-b.key")},
	} {
		r := &renderer{files: map[string][]byte{}}
		_, err := r.serverTLS(&lbconfig.Backend{Name: "ns/x:443", Protocol: lbconfig.BackendHTTPS, TLS: x})
		if err == nil {
			t.Errorf("%s: rendered", name)
		}
		for f := range r.files {
			if strings.Contains(f, "\n") {
				t.Errorf("%s: file name %q", name, f)
			}
		}
	}
}
