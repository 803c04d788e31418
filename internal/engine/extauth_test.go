package engine

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// extAuthManifest is manifest's Ingress with external authentication at
// authURL.
func extAuthManifest(host, service string, backendPort int, authURL string) string {
	m := manifest(host, service, backendPort)
	return strings.Replace(m, "metadata: {name: "+service+", namespace: default}\nspec:\n  ingressClassName",
		"metadata: {name: "+service+", namespace: default, annotations: {ingress-controller.io/auth-url: '"+authURL+"'}}\nspec:\n  ingressClassName", 1)
}

// TestExtAuthByNameLeavesOnlyItsIngressOut: HAProxy's Lua sockets connect
// to IP addresses only, so its provider rejects the config of an Ingress
// whose auth URL names its host; the engine leaves just that Ingress out
// with a problem saying so, never serves it open, and serves it, asking
// the auth server, once the URL holds an address.
func TestExtAuthByNameLeavesOnlyItsIngressOut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs HAProxy (runs under make test)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	authSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = authSrv.Serve(ln) }()
	t.Cleanup(func() { _ = authSrv.Close() })

	h, web := startHAProxy(t)
	h.write(t, "app.yaml", extAuthManifest("app.test", "app", web, "http://auth.example.test/check"))
	h.waitServer(t, "web.test", "web")
	h.waitLeftOut(t, "app", "IP addresses only")

	// The auth server by address: served, and asked (it answers 401).
	h.write(t, "app.yaml", extAuthManifest("app.test", "app", web, "http://"+ln.Addr().String()+"/check"))
	waitFor(t, "app.test to answer the auth server's 401", func() bool {
		status, backend, err := h.server("app.test")
		return err == nil && status == http.StatusUnauthorized && backend == ""
	})
	h.waitServer(t, "web.test", "web")
}
