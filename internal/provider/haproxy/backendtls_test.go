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
		"URI SAN": {Verify: true, CAPEM: readTestdata(t, "tls-a.crt"), ServerName: "a.b",
			SubjectAltNames: []lbconfig.SubjectAltName{{URI: "spiffe://a.b/web"}}},
		"two SANs": {Verify: true, CAPEM: readTestdata(t, "tls-a.crt"), ServerName: "a.b",
			SubjectAltNames: []lbconfig.SubjectAltName{{DNS: "a.b"}, {DNS: "c.d"}}},
		"SAN other than the SNI": {Verify: true, CAPEM: readTestdata(t, "tls-a.crt"), ServerName: "a.b", SNI: true,
			SubjectAltNames: []lbconfig.SubjectAltName{{DNS: "c.d"}}},
		"SAN with a space": {Verify: true, CAPEM: readTestdata(t, "tls-a.crt"), ServerName: "a.b",
			SubjectAltNames: []lbconfig.SubjectAltName{{DNS: "a.b verify none"}}},
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

// TestRenderBackendTLSOneSAN: one DNS subject alternative name is the
// name verifyhost checks, without SNI.
func TestRenderBackendTLSOneSAN(t *testing.T) {
	r := &renderer{files: map[string][]byte{}}
	opts, err := r.serverTLS(&lbconfig.Backend{Name: "ns/x:443", Protocol: lbconfig.BackendHTTPS, TLS: &lbconfig.BackendTLS{
		Verify: true, CAPEM: readTestdata(t, "tls-a.crt"), ServerName: "sni.example.com",
		SubjectAltNames: []lbconfig.SubjectAltName{{DNS: "san.example.com"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(opts, " verifyhost san.example.com") || strings.Contains(opts, " sni ") {
		t.Errorf("server options %q, want verifyhost san.example.com and no sni", opts)
	}
}

// backendTLSSeeds are hostile backend and server names.
var backendTLSSeeds = []struct{ backend, serverName string }{
	{"default/web:443", "web.default.svc"},
	{"default/web:443 ssl verify none", "a.b) verify none sni str(x"},
	{"x\nbackend evil", "a.b\n    server evil 1.2.3.4:80"},
	{"ns/'quoted'$HOME%[src]:443", "a.b verify none"},
	{"../../etc/passwd", "xn--bcher-kva.example"},
	{"ns/é:443", "é.example"},
	{"x\nbackend evil", "web.default.svc"},
	{"ns/'quoted'$HOME%[src]:443 # x", "web.default.svc"},
	{"ns/é\x00:443", "a-b.c-d"},
}

func backendTLSFuzzConfig(t testing.TB, backend, serverName string) *lbconfig.Config {
	c := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.example.com", Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref(backend)}}}},
		}}}},
		Backends: []lbconfig.Backend{{Name: backend, Protocol: lbconfig.BackendGRPCS,
			Endpoints: []lbconfig.Endpoint{{Address: "10.0.7.1", Port: 8443, Ready: true, Serving: true}},
			TLS: &lbconfig.BackendTLS{Verify: true, CAPEM: readTestdata(t, "tls-a.crt"), ServerName: serverName, SNI: true,
				ClientCertificatePEM: readTestdata(t, "tls-b.crt"), ClientKeyPEM: readTestdata(t, "tls-b.key")}}},
	}
	c.Sort()
	return c
}

// FuzzRenderBackendTLS: whatever the backend's and the server's names,
// a config renders to the grammar or is rejected.
func FuzzRenderBackendTLS(f *testing.F) {
	for _, s := range backendTLSSeeds {
		f.Add(s.backend, s.serverName)
	}
	f.Fuzz(func(t *testing.T, backend, serverName string) {
		r, err := RenderConfig(backendTLSFuzzConfig(t, backend, serverName), RenderOptions{RuntimeDir: testRuntimeDir, DefaultCertificate: []byte("z")})
		if err != nil {
			return
		}
		checkGrammar(t, r)
		for f := range r.Files {
			if !strings.HasPrefix(f, certsDir+"/") && !strings.HasPrefix(f, mapsDir+"/") && !strings.HasPrefix(f, errorsDir+"/") && f != configFile && f != hopByHopLua {
				t.Errorf("file %q outside the generation's directories", f)
			}
		}
	})
}

// TestBackendTLSSeedsWithHAProxy: every seed RenderConfig accepts,
// HAProxy accepts too.
func TestBackendTLSSeedsWithHAProxy(t *testing.T) {
	bin := haproxyBinary(t)
	accepted := 0
	for _, s := range backendTLSSeeds {
		r, err := RenderConfig(backendTLSFuzzConfig(t, s.backend, s.serverName), goldenOptions(t))
		if err != nil {
			t.Logf("rejected %q %q: %v", s.backend, s.serverName, err)
			continue
		}
		accepted++
		checkGrammar(t, r)
		if err := checkWithHAProxy(t, bin, r); err != nil {
			t.Errorf("seed %q %q: %v", s.backend, s.serverName, err)
		}
	}
	if accepted < 3 {
		t.Errorf("only %d seeds rendered; hostile backend names with a valid server name should", accepted)
	}
}
