package engine

import (
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/provider/haproxy"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
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
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is not installed: %v", err)
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

	web := int(nettest.EchoEndpoint(t, "web").Port)
	port := int(nettest.FreePort(t))
	prov, err := haproxy.New(haproxy.Options{Options: provider.Options{ListenAddress: "127.0.0.1", ShutdownGrace: time.Second}, Binary: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if pid := prov.PID(); pid > 0 && syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	h := start(t, prov, port)
	h.write(t, "web.yaml", manifest("web.test", "web", web))
	h.write(t, "app.yaml", extAuthManifest("app.test", "app", web, "http://auth.example.test/check"))
	h.waitServer(t, "web.test", "web")
	waitFor(t, "a RejectedByProvider problem on Ingress default/app naming IP addresses", func() bool {
		for _, p := range h.engine.Problems() {
			if p.Reason == ReasonRejected && p.Object == (lbconfig.ObjectRef{Kind: "Ingress", Namespace: "default", Name: "app"}) {
				return strings.Contains(p.Message, "IP addresses only")
			}
		}
		return false
	})
	for _, p := range h.engine.Problems() {
		if p.Reason == ReasonRejected && p.Object.Name != "app" {
			t.Errorf("an innocent object was left out: %v", p)
		}
	}
	if status, backend, err := h.server("app.test"); err == nil && (status == http.StatusOK || backend != "") {
		t.Errorf("app.test answered %d from %q while its Ingress is left out", status, backend)
	}

	// The auth server by address: served, and asked (it answers 401).
	h.write(t, "app.yaml", extAuthManifest("app.test", "app", web, "http://"+ln.Addr().String()+"/check"))
	waitFor(t, "app.test to answer the auth server's 401", func() bool {
		status, backend, err := h.server("app.test")
		return err == nil && status == http.StatusUnauthorized && backend == ""
	})
	h.waitServer(t, "web.test", "web")
}
