package engine

import (
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/provider/haproxy"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// authManifest is manifest's Ingress with basic authentication by the
// Secret users, which holds alice with hash.
func authManifest(host, service string, backendPort int, hash string) string {
	m := manifest(host, service, backendPort)
	m = strings.Replace(m, "metadata: {name: "+service+", namespace: default}\nspec:\n  ingressClassName",
		"metadata: {name: "+service+", namespace: default, annotations: {ingress-controller.io/auth-type: basic, ingress-controller.io/auth-secret: users}}\nspec:\n  ingressClassName", 1)
	return m + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: users, namespace: default}\ntype: Opaque\nstringData:\n  auth: 'alice:" + hash + "'\n"
}

// TestUnverifiableHashLeavesOnlyItsIngressOut: HAProxy cannot verify
// $apr1$ hashes, so its provider rejects the config of an Ingress whose
// Secret holds one; the engine leaves just that Ingress out with a
// problem naming the format, never serves it open, and serves it once the
// Secret holds a bcrypt hash.
func TestUnverifiableHashLeavesOnlyItsIngressOut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs HAProxy (runs under make test)")
	}
	h, web := startHAProxy(t)
	h.write(t, "admin.yaml", authManifest("admin.test", "admin", web, "$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw."))
	h.waitServer(t, "web.test", "web")
	h.waitLeftOut(t, "admin", "apr1")

	// A bcrypt hash of the same password: served, and protected.
	h.write(t, "admin.yaml", authManifest("admin.test", "admin", web, "$2y$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm"))
	waitFor(t, "admin.test to ask for credentials", func() bool {
		status, _, err := h.server("admin.test")
		return err == nil && status == http.StatusUnauthorized
	})
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(h.port)+"/", nil)
	req.Host = "admin.test"
	req.SetBasicAuth("alice", "s3cret")
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Echo-Server") != "web" {
		t.Errorf("alice on admin.test: %d from %q, want 200 from web", resp.StatusCode, resp.Header.Get("X-Echo-Server"))
	}
	h.waitServer(t, "web.test", "web")
}

// startHAProxy runs the engine with a real HAProxy and Ingress web.test
// of echo backend "web", whose port it returns.
func startHAProxy(t *testing.T) (*harness, int) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is not installed: %v", err)
	}
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
	return h, web
}

// waitLeftOut waits until the provider's rejection leaves Ingress
// default/name out with a problem whose message holds word, and checks
// that nothing else was left out and that its host is not served.
func (h *harness) waitLeftOut(t *testing.T, name, word string) {
	t.Helper()
	waitFor(t, "a RejectedByProvider problem on Ingress default/"+name+" naming "+word, func() bool {
		for _, p := range h.engine.Problems() {
			if p.Reason == ReasonRejected && p.Object == (lbconfig.ObjectRef{Kind: "Ingress", Namespace: "default", Name: name}) {
				return strings.Contains(p.Message, word)
			}
		}
		return false
	})
	for _, p := range h.engine.Problems() {
		if p.Reason == ReasonRejected && p.Object.Name != name {
			t.Errorf("an innocent object was left out: %v", p)
		}
	}
	if status, backend, err := h.server(name + ".test"); err == nil && (status == http.StatusOK || backend != "") {
		t.Errorf("%s.test answered %d from %q while its Ingress is left out", name, status, backend)
	}
}
