package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/provider/builtin"
	"ingress-controller/internal/source/file"
	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// These tests run the engine between the real file source and the real
// builtin proxy, and check what a client sees over HTTP.

func manifest(host, service string, backendPort int) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %[2]s, namespace: default}
spec:
  ingressClassName: ingress-controller
  rules:
  - host: %[1]s
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: %[2]s, port: {number: 80}}}}
---
apiVersion: v1
kind: Service
metadata: {name: %[2]s, namespace: default}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[2]s-1, namespace: default, labels: {kubernetes.io/service-name: %[2]s}}
addressType: IPv4
ports: [{name: http, port: %[3]d}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
`, host, service, backendPort)
}

type harness struct {
	dir    string
	port   int
	engine *Engine
	src    *file.Source
	client *http.Client
}

// failingProvider wraps the real builtin provider and fails Apply while
// fail is set, to show what the engine does when a provider rejects a
// config. (The builtin provider only rejects configs it cannot bind, which
// a test cannot provoke on an already open listener.)
type failingProvider struct {
	provider.Provider
	fail atomic.Bool
}

func (p *failingProvider) Apply(ctx context.Context, cfg *lbconfig.Config) (provider.Result, error) {
	if p.fail.Load() {
		return provider.Result{}, errors.New("injected failure")
	}
	return p.Provider.Apply(ctx, cfg)
}

func start(t *testing.T, prov provider.Provider, port int, with ...func(*Options)) *harness {
	t.Helper()
	h := &harness{dir: t.TempDir(), port: port, client: &http.Client{Timeout: 2 * time.Second}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.src = file.New(h.dir, 10*time.Millisecond, log)
	if err := h.src.Load(); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Source:   h.src,
		Provider: prov,
		Translate: translate.Options{
			ControllerName: translate.DefaultControllerName,
			IngressClass:   translate.DefaultIngressClass,
			HTTPPort:       int32(port),
		},
		Logger:   log,
		Debounce: 10 * time.Millisecond,
		MaxDelay: 100 * time.Millisecond,
	}
	for _, f := range with {
		f(&opts)
	}
	h.engine = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	go func() { _ = h.src.Run(ctx, h.engine.Trigger); done <- struct{}{} }()
	go func() { _ = h.engine.Run(ctx); done <- struct{}{} }()
	go func() { _ = prov.Run(ctx, make(chan provider.Result, 1)); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		for range 3 {
			<-done
		}
	})
	return h
}

func (h *harness) write(t *testing.T, name, content string) {
	t.Helper()
	tmp := filepath.Join(h.dir, "."+name)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.dir, name)); err != nil {
		t.Fatal(err)
	}
}

// server returns the status and the echo backend that answered host.
func (h *harness) server(host string) (int, string, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", h.port), nil)
	req.Host = host
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Echo-Server"), nil
}

func (h *harness) waitServer(t *testing.T, host, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, got, err := h.server(host)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s: answered by %q (err %v), want %q", host, got, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServesAndFollowsChanges(t *testing.T) {
	a, b := int(nettest.EchoEndpoint(t, "a").Port), int(nettest.EchoEndpoint(t, "b").Port)
	h := start(t, builtin.New(provider.Options{ListenAddress: "127.0.0.1"}, slog.New(slog.NewTextHandler(io.Discard, nil))), int(nettest.FreePort(t)))
	h.write(t, "app.yaml", manifest("app.example.com", "app", a))
	h.waitServer(t, "app.example.com", "a")

	h.write(t, "app.yaml", manifest("app.example.com", "app", b))
	h.waitServer(t, "app.example.com", "b")
	if s := h.engine.Status(); s.Applied < 2 || s.LastError != nil {
		t.Errorf("status = %+v, want at least 2 applies and no error", s)
	}
}

func TestAppliesOnlyWhenConfigChanged(t *testing.T) {
	a := int(nettest.EchoEndpoint(t, "a").Port)
	h := start(t, builtin.New(provider.Options{ListenAddress: "127.0.0.1"}, slog.New(slog.NewTextHandler(io.Discard, nil))), int(nettest.FreePort(t)))
	h.write(t, "app.yaml", manifest("app.example.com", "app", a))
	h.waitServer(t, "app.example.com", "a")
	applied := h.engine.Status().Applied

	// A file that changes but translates to the same config, and a burst of
	// triggers: reconciles run, applies do not.
	h.write(t, "app.yaml", "# comment\n"+manifest("app.example.com", "app", a))
	before := h.engine.Status().Reconciles
	for range 100 {
		h.engine.Trigger()
	}
	waitFor(t, "a reconcile after the triggers", func() bool { return h.engine.Status().Reconciles > before })
	if got := h.engine.Status().Applied; got != applied {
		t.Errorf("applies went from %d to %d for an unchanged config", applied, got)
	}
	if got := h.engine.Status().Reconciles - before; got > 10 {
		t.Errorf("100 triggers caused %d reconciles; they should coalesce", got)
	}
}

func TestProviderFailureKeepsLastGoodConfigAndRetries(t *testing.T) {
	a, b := int(nettest.EchoEndpoint(t, "a").Port), int(nettest.EchoEndpoint(t, "b").Port)
	prov := &failingProvider{Provider: builtin.New(provider.Options{ListenAddress: "127.0.0.1"}, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	h := start(t, prov, int(nettest.FreePort(t)))
	h.write(t, "app.yaml", manifest("app.example.com", "app", a))
	h.waitServer(t, "app.example.com", "a")

	prov.fail.Store(true)
	errorsBefore := h.engine.Status().Errors
	h.write(t, "app.yaml", manifest("app.example.com", "app", b))
	waitFor(t, "a failed reconcile", func() bool { return h.engine.Status().Errors > errorsBefore })
	for range 20 {
		if status, got, err := h.server("app.example.com"); err != nil || status != 200 || got != "a" {
			t.Fatalf("while the provider fails: %d from %q (err %v), want the last good backend a", status, got, err)
		}
	}

	// The engine retries on its own; no new change is needed.
	prov.fail.Store(false)
	h.waitServer(t, "app.example.com", "b")
}

func TestApplyFailsWhilePortBusyThenRecovers(t *testing.T) {
	a := int(nettest.EchoEndpoint(t, "a").Port)
	// Hold the public port, so the real provider cannot bind it.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := busy.Addr().(*net.TCPAddr).Port
	h := start(t, builtin.New(provider.Options{ListenAddress: "127.0.0.1"}, slog.New(slog.NewTextHandler(io.Discard, nil))), port)
	h.write(t, "app.yaml", manifest("app.example.com", "app", a))
	waitFor(t, "an apply error for the busy port", func() bool {
		s := h.engine.Status()
		return s.LastError != nil
	})
	busy.Close()
	h.waitServer(t, "app.example.com", "a")
}

// dedicated is an Ingress on load balancer lb, listening for HTTP on port,
// for host, to the Service of manifest(…, service, …).
func dedicated(name, lb string, port int, host, service string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %[1]s
  namespace: default
  annotations:
    ingress-controller.io/load-balancer: %[2]s
    ingress-controller.io/listen-ports: '[{"HTTP":%[3]d}]'
spec:
  ingressClassName: ingress-controller
  rules:
  - host: %[4]s
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: %[5]s, port: {number: 80}}}}
`, name, lb, port, host, service)
}

// TestRejectedObjectIsLeftOut: an Ingress whose port another program holds
// makes the provider reject the whole config; the engine finds it, applies
// everything else, and reports it. Once the port is free it is served too.
func TestRejectedObjectIsLeftOut(t *testing.T) {
	web := int(nettest.EchoEndpoint(t, "web").Port)
	port := int(nettest.FreePort(t))
	h := start(t, builtin.New(provider.Options{ListenAddress: "127.0.0.1"}, nil), port)
	aPort, bPort := int(nettest.FreePort(t)), int(nettest.FreePort(t))
	held, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", bPort))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	h.write(t, "web.yaml", manifest("web.test", "web", web))
	h.write(t, "a.yaml", dedicated("a", "lb-a", aPort, "a.test", "web"))
	h.write(t, "b.yaml", dedicated("b", "lb-b", bPort, "b.test", "web"))
	h.waitServer(t, "web.test", "web")
	ha := &harness{port: aPort, client: h.client}
	ha.waitServer(t, "a.test", "web")

	rejected := func() bool {
		for _, p := range h.engine.Problems() {
			if p.Reason == ReasonRejected && p.Object == (lbconfig.ObjectRef{Kind: "Ingress", Namespace: "default", Name: "b"}) {
				return strings.Contains(p.Message, strconv.Itoa(bPort))
			}
		}
		return false
	}
	deadline := time.Now().Add(10 * time.Second)
	for !rejected() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s problem on Ingress default/b naming port %d: %v", ReasonRejected, bPort, h.engine.Problems())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range h.engine.Problems() {
		if p.Reason == ReasonRejected && p.Object.Name != "b" {
			t.Errorf("an innocent object was left out: %v", p)
		}
	}

	// The port freed: b is served at the next change.
	held.Close()
	h.write(t, "touch.yaml", manifest("other.test", "other", web))
	hb := &harness{port: bPort, client: h.client}
	hb.waitServer(t, "b.test", "web")
	ha.waitServer(t, "a.test", "web")
}

// TestAssignServesOnlyItsPart: with Options.Assign keeping one load
// balancer, the provider listens only for it; the others, even one whose
// port another program holds, are neither served nor validated, and
// OnTranslated still gets every load balancer, also when only one this
// process does not serve changes.
func TestAssignServesOnlyItsPart(t *testing.T) {
	web := int(nettest.EchoEndpoint(t, "web").Port)
	port := int(nettest.FreePort(t))
	aPort, bPort := int(nettest.FreePort(t)), int(nettest.FreePort(t))
	held, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", bPort))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	var mu sync.Mutex
	var translated []*lbconfig.Config
	h := start(t, builtin.New(provider.Options{ListenAddress: "127.0.0.1"}, nil), port, func(o *Options) {
		o.Assign = func(cfg *lbconfig.Config) *lbconfig.Config {
			return cfg.Select(func(lb lbconfig.LoadBalancer) bool { return lb.Name == "lb-a" })
		}
		o.OnTranslated = func(cfg *lbconfig.Config) {
			mu.Lock()
			defer mu.Unlock()
			translated = append(translated, cfg)
		}
	})
	hosts := func() []string {
		mu.Lock()
		defer mu.Unlock()
		if len(translated) == 0 {
			return nil
		}
		var out []string
		for _, lb := range translated[len(translated)-1].LoadBalancers {
			for _, l := range lb.Listeners {
				for _, vh := range l.VirtualHosts {
					out = append(out, lb.Name+"="+vh.Hostname)
				}
			}
		}
		return out
	}
	h.write(t, "web.yaml", manifest("web.test", "web", web))
	h.write(t, "a.yaml", dedicated("a", "lb-a", aPort, "a.test", "web"))
	h.write(t, "b.yaml", dedicated("b", "lb-b", bPort, "b.test", "web"))
	ha := &harness{port: aPort, client: h.client}
	ha.waitServer(t, "a.test", "web")
	waitFor(t, "every load balancer translated", func() bool {
		return strings.Join(hosts(), " ") == "default=web.test lb-a=a.test lb-b=b.test"
	})
	if _, _, err := h.server("web.test"); err == nil {
		t.Errorf("the default load balancer, not assigned, answers on %d", port)
	}
	for _, p := range h.engine.Problems() {
		t.Errorf("problem %v: a load balancer this process does not serve was validated", p)
	}

	// Only lb-b, not served here, changes: no apply, but OnTranslated.
	applied := h.engine.Status().Applied
	h.write(t, "b.yaml", dedicated("b", "lb-b", bPort, "b2.test", "web"))
	waitFor(t, "the change of lb-b translated", func() bool {
		return strings.Join(hosts(), " ") == "default=web.test lb-a=a.test lb-b=b2.test"
	})
	if got := h.engine.Status().Applied; got != applied {
		t.Errorf("applies %d -> %d for a change of a load balancer not served here", applied, got)
	}
}
