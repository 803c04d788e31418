package engine

import (
	"fmt"
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

// authServiceManifest is a Service sso of namespace auth, port 4180,
// whose one endpoint is on loopback at port.
func authServiceManifest(port int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: sso, namespace: auth}
spec:
  ports: [{name: http, port: 4180, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sso-1, namespace: auth, labels: {kubernetes.io/service-name: sso}}
addressType: IPv4
ports: [{name: http, port: %d}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
`, port)
}

// TestExtAuthByNameLeavesOnlyItsIngressOut: HAProxy's Lua sockets connect
// to IP addresses only, so its provider rejects the config of an Ingress
// whose auth URL names a host that is no Service of the cluster; the
// engine leaves just that Ingress out with a problem saying so, never
// serves it open. A URL naming a Service is served through its endpoints,
// failing closed (500, with a problem) while the Service is missing; an
// address is served as it is.
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

	// The auth server by its Service's name: served through the
	// Service's endpoints, and asked (it answers 401).
	authPort := ln.Addr().(*net.TCPAddr).Port
	h.write(t, "auth.yaml", authServiceManifest(authPort))
	h.write(t, "app.yaml", extAuthManifest("app.test", "app", web, "http://sso.auth.svc.cluster.local:4180/check"))
	waitFor(t, "app.test to answer the auth server's 401 through its Service", func() bool {
		status, backend, err := h.server("app.test")
		return err == nil && status == http.StatusUnauthorized && backend == ""
	})
	for _, p := range h.engine.Problems() {
		if p.Reason == ReasonRejected {
			t.Errorf("left out with the auth server's Service: %v", p)
		}
	}
	// Without the Service: 500, never open, with a problem on the
	// annotation.
	h.write(t, "auth.yaml", "")
	waitFor(t, "app.test to fail closed without the auth Service", func() bool {
		status, backend, err := h.server("app.test")
		return err == nil && status == http.StatusInternalServerError && backend == ""
	})
	waitFor(t, "a ServiceNotFound problem on the auth-url annotation", func() bool {
		for _, p := range h.engine.Problems() {
			if p.Reason == "ServiceNotFound" && p.Object.Name == "app" && strings.Contains(p.Field, "ingress-controller.io/auth-url") {
				return true
			}
		}
		return false
	})
	h.waitServer(t, "web.test", "web")

	// The auth server by address: served, and asked (it answers 401).
	h.write(t, "app.yaml", extAuthManifest("app.test", "app", web, "http://"+ln.Addr().String()+"/check"))
	waitFor(t, "app.test to answer the auth server's 401", func() bool {
		status, backend, err := h.server("app.test")
		return err == nil && status == http.StatusUnauthorized && backend == ""
	})
	h.waitServer(t, "web.test", "web")
}
