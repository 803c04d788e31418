//go:build conformance

package conformance

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"ingress-controller/internal/kubetest"
	"ingress-controller/internal/testbin"
	"ingress-controller/internal/translate"
)

// ingressAddresses are the listen addresses of each provider's run, on
// loopback, which needs no set-up on Linux. The controller listens on
// ports 80 and 443 there, so that its status address alone says where an
// Ingress is exposed, as the scenarios expect.
var ingressAddresses = map[string]string{
	"builtin": "127.0.95.1",
	"haproxy": "127.0.95.2",
}

// TestIngressConformance runs the scenarios of the five features of
// kubernetes-sigs/ingress-controller-conformance (features/*.feature,
// read at f91a799) against the controller with the Ingress source, once
// per provider, on a conformance cluster. It is our own test of those
// scenarios: the suite's Go module is not served by the module proxy.
// Each feature works in a namespace of its own and removes its Ingress
// before the next starts, as the upstream suite runs one scenario at a
// time; each scenario names the upstream one it covers.
func TestIngressConformance(t *testing.T) {
	bin := testbin.Controller(t)
	for _, provider := range providersFrom("INGRESS_CONFORMANCE_PROVIDERS") {
		t.Run(provider, func(t *testing.T) { runIngressFeatures(t, bin, provider) })
	}
}

// runIngressFeatures starts a conformance cluster and the controller with
// provider, and runs every feature against them.
func runIngressFeatures(t *testing.T, bin, provider string) {
	address, ok := ingressAddresses[provider]
	if !ok {
		t.Fatalf("no listen address for provider %q", provider)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	c := startCluster(t, ctx, kubetest.Options{Logf: t.Logf})
	createIngressClass(t, ctx, c.Client)
	startController(t, bin, c.Kubeconfig, provider, "ingress-conformance",
		"--listen-address="+address,
		"--http-port=80",
		"--https-port=443",
	)
	e := &ingressEnv{ctx: ctx, client: c.Client, address: address}
	features := []struct {
		name string
		run  func(*testing.T, *ingressEnv)
	}{
		{"DefaultBackend", defaultBackendFeature},
		{"HostRules", hostRulesFeature},
		{"IngressClass", ingressClassFeature},
		{"LoadBalancing", loadBalancingFeature},
		{"PathRules", pathRulesFeature},
	}
	for _, f := range features {
		t.Run(f.name, func(t *testing.T) { f.run(t, e) })
	}
}

// createIngressClass creates our IngressClass as deploy/ingressclass.yaml
// does, the cluster's default.
func createIngressClass(t *testing.T, ctx context.Context, client kubernetes.Interface) {
	t.Helper()
	class := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        translate.DefaultIngressClass,
			Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"},
		},
		Spec: networkingv1.IngressClassSpec{Controller: translate.DefaultControllerName},
	}
	if _, err := client.NetworkingV1().IngressClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating IngressClass %s: %v", class.Name, err)
	}
}

// newIngress is an Ingress of our class named name in ns with spec.
func newIngress(ns, name string, spec networkingv1.IngressSpec) *networkingv1.Ingress {
	if spec.IngressClassName == nil {
		class := translate.DefaultIngressClass
		spec.IngressClassName = &class
	}
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

// serviceBackend is a backend of Service name on port 8080, or on the
// port named portName if not empty.
func serviceBackend(name, portName string) networkingv1.IngressBackend {
	port := networkingv1.ServiceBackendPort{Number: servicePort}
	if portName != "" {
		port = networkingv1.ServiceBackendPort{Name: portName}
	}
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: port}}
}

// pathRule is a rule of host with paths.
func pathRule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{
		Host:             host,
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}},
	}
}

func prefix(path, service string) networkingv1.HTTPIngressPath {
	return ingressPath(path, networkingv1.PathTypePrefix, service)
}

func exact(path, service string) networkingv1.HTTPIngressPath {
	return ingressPath(path, networkingv1.PathTypeExact, service)
}

func ingressPath(path string, typ networkingv1.PathType, service string) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{Path: path, PathType: &typ, Backend: serviceBackend(service, "")}
}

// expose creates ing with its backends, waits for its status address and
// until the controller serves it: probe, a request ing routes, must reach
// service. Until then a scenario's answer could be the previous config's.
func (e *ingressEnv) expose(t *testing.T, ing *networkingv1.Ingress, probe request, service string) {
	t.Helper()
	e.deployBackends(t, ing)
	e.createIngress(t, ing)
	e.waitAddress(t, ing.Namespace, ing.Name)
	e.waitServed(t, probe, service)
}

// waitServed waits until r reaches service.
func (e *ingressEnv) waitServed(t *testing.T, r request, service string) {
	t.Helper()
	poll(t, e.ctx, converge, fmt.Sprintf("%s to reach %s", r, service), func(ctx context.Context) error {
		x, err := send(ctx, e.address, r)
		if err != nil {
			return err
		}
		return served(x, service)
	})
}

// served says why x is not a 200 from service, or nil.
func served(x exchange, service string) error {
	if x.status != http.StatusOK || x.echo.Service != service {
		return fmt.Errorf("status %d from service %q, want 200 from %q", x.status, x.echo.Service, service)
	}
	return nil
}

// routeCase is a request and where it must go: to service with 200, or,
// with service empty, nowhere with status.
type routeCase struct {
	name    string
	req     request
	status  int
	service string
}

// run sends c's request and checks the answer.
func (c routeCase) run(t *testing.T, e *ingressEnv) exchange {
	t.Helper()
	x, err := send(e.ctx, e.address, c.req)
	if err != nil {
		t.Fatal(err)
	}
	if c.service == "" {
		if x.status != c.status {
			t.Fatalf("%s: status %d (service %q), want %d", c.req, x.status, x.echo.Service, c.status)
		}
		return x
	}
	if err := served(x, c.service); err != nil {
		t.Fatalf("%s: %v", c.req, err)
	}
	return x
}

// defaultBackendFeature covers features/default_backend.feature: an
// Ingress with only a default backend takes every request, whatever its
// method, host and path, and passes it on as HTTP/1.1, unchanged.
func defaultBackendFeature(t *testing.T, e *ingressEnv) {
	ns := e.newNamespace(t)
	ing := newIngress(ns, "only-default", networkingv1.IngressSpec{DefaultBackend: ptr.To(serviceBackend("fallback", ""))})
	e.expose(t, ing, request{method: http.MethodGet, scheme: "http", host: "probe.default.test"}, "fallback")
	// The scenario outline "An Ingress with no rules should send all
	// requests to the default backend", one case per row of its examples
	// (other host names and paths, the same shapes: a host or none, the
	// root or a path).
	for _, r := range []request{
		{method: http.MethodGet, host: "one-host"},
		{method: http.MethodGet, host: "one-host", path: "deeper"},
		{method: http.MethodPost, host: "other-host"},
		{method: http.MethodPut, path: "item"},
		{method: http.MethodDelete, host: "other-host", path: "item"},
		{method: http.MethodPatch, host: "one-host", path: "item"},
	} {
		r.scheme = "http"
		t.Run(r.method+"_"+r.host+"_"+r.path, func(t *testing.T) {
			x := routeCase{req: r, service: "fallback"}.run(t, e)
			checkUnchanged(t, x, r, e.address)
		})
	}
}

// checkUnchanged checks that x is an HTTP/1.1 answer with the fields
// every answer has, to r as sent, and that the backend saw r as sent.
func checkUnchanged(t *testing.T, x exchange, r request, address string) {
	t.Helper()
	if x.proto != "HTTP/1.1" {
		t.Errorf("answer's protocol %s, want HTTP/1.1", x.proto)
	}
	// Server: echo-basic writes none; the load balancer's (--server-header).
	for _, f := range []string{"Content-Length", "Content-Type", "Date", "Server"} {
		if len(x.header[f]) == 0 {
			t.Errorf("answer without %s: %v", f, x.header)
		}
	}
	host := r.host
	if host == "" {
		host = address
	}
	got := x.echo
	if got.Method != r.method || got.Path != "/"+r.path || got.Proto != "HTTP/1.1" || got.Host != host {
		t.Errorf("backend saw %s %s %s, Host %s; want %s /%s HTTP/1.1, Host %s", got.Method, got.Path, got.Proto, got.Host, r.method, r.path, host)
	}
	if ua := got.Headers["User-Agent"]; len(ua) != 1 || ua[0] != "Go-http-client/1.1" {
		t.Errorf("backend saw User-Agent %q, want the client's Go-http-client/1.1", ua)
	}
}

// hostRulesFeature covers features/host_rules.feature: an exact host with
// TLS and a wildcard host, each to its Service, other hosts nowhere.
func hostRulesFeature(t *testing.T, e *ingressEnv) {
	ns := e.newNamespace(t)
	const exactHost = "exact.hosts.test"
	secret, cert := tlsSecret(t, "exact-tls", exactHost)
	if _, err := e.client.CoreV1().Secrets(ns).Create(e.ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Secret %s/%s: %v", ns, secret.Name, err)
	}
	// The exact host's Service is named by its port's name.
	exactRule := pathRule(exactHost, prefix("/", "exact-host"))
	exactRule.HTTP.Paths[0].Backend = serviceBackend("exact-host", "http")
	ing := newIngress(ns, "hosts", networkingv1.IngressSpec{
		TLS:   []networkingv1.IngressTLS{{Hosts: []string{exactHost}, SecretName: secret.Name}},
		Rules: []networkingv1.IngressRule{pathRule("*.wild.hosts.test", prefix("/", "wildcard-host")), exactRule},
	})
	e.expose(t, ing, request{method: http.MethodGet, scheme: "https", host: exactHost}, "exact-host")

	// "An Ingress with a host rule should send TLS traffic to the
	// matching backend service": the exact host's certificate, its
	// Service, its Host.
	t.Run("ExactHostOverTLS", func(t *testing.T) {
		r := request{method: http.MethodGet, scheme: "https", host: exactHost}
		x := routeCase{req: r, service: "exact-host"}.run(t, e)
		checkCertificate(t, x, cert, exactHost)
		checkHost(t, x, exactHost)
	})
	for _, c := range []routeCase{
		// "An Ingress with a host rule should send traffic to the
		// matching backend service" (plain HTTP, redirects followed).
		{name: "ExactHost", req: request{host: exactHost}, service: "exact-host"},
		// "... should not route traffic when hostname does not match"
		// (a sibling of the exact host).
		{name: "OtherHostNowhere", req: request{host: "other.hosts.test"}, status: http.StatusNotFound},
		// "An Ingress with a wildcard host rule should send traffic to
		// the matching backend service" (one label in place of *).
		{name: "WildcardOneLabel", req: request{host: "one.wild.hosts.test"}, service: "wildcard-host"},
		// "... should not route traffic matching on more than a single
		// dns label".
		{name: "WildcardTwoLabelsNowhere", req: request{host: "two.one.wild.hosts.test"}, status: http.StatusNotFound},
		// "... should not route traffic matching no dns label" (the
		// wildcard's suffix alone).
		{name: "WildcardNoLabelNowhere", req: request{host: "wild.hosts.test"}, status: http.StatusNotFound},
	} {
		c.req.method, c.req.scheme = http.MethodGet, "http"
		t.Run(c.name, func(t *testing.T) {
			x := c.run(t, e)
			if c.service != "" {
				checkHost(t, x, c.req.host)
			}
		})
	}
}

// checkCertificate checks that x came over a connection with want, which
// names host first and holds for it.
func checkCertificate(t *testing.T, x exchange, want *x509.Certificate, host string) {
	t.Helper()
	switch {
	case x.cert == nil:
		t.Fatal("no certificate")
	case !x.cert.Equal(want):
		t.Fatalf("certificate for %v, not the Secret's", x.cert.DNSNames)
	case len(x.cert.DNSNames) == 0 || x.cert.DNSNames[0] != host:
		t.Fatalf("certificate names %v first, want %s", x.cert.DNSNames, host)
	}
	if err := x.cert.VerifyHostname(host); err != nil {
		t.Fatal(err)
	}
}

// checkHost checks the Host the backend saw.
func checkHost(t *testing.T, x exchange, host string) {
	t.Helper()
	if x.echo.Host != host {
		t.Errorf("backend saw Host %q, want %q", x.echo.Host, host)
	}
}

// ingressClassFeature covers features/ingress_class.feature, "An Ingress
// with an invalid ingress class should not send traffic to the matching
// backend service": an Ingress of a class nobody defines gets no status
// address. Not getting one is only known once the controller has seen
// it, so an Ingress of our class, created after it, must get one first;
// the other's status must then stay empty, and its host go nowhere.
func ingressClassFeature(t *testing.T, e *ingressEnv) {
	ns := e.newNamespace(t)
	unknown := "no-such-class"
	theirs := newIngress(ns, "other-class", networkingv1.IngressSpec{
		IngressClassName: &unknown,
		Rules:            []networkingv1.IngressRule{pathRule("theirs.class.test", prefix("/", "class-backend"))},
	})
	e.deployBackends(t, theirs)
	e.createIngress(t, theirs)
	ours := newIngress(ns, "our-class", networkingv1.IngressSpec{
		Rules: []networkingv1.IngressRule{pathRule("ours.class.test", prefix("/", "class-backend"))},
	})
	e.createIngress(t, ours)
	e.waitAddress(t, ns, ours.Name)
	e.waitServed(t, request{method: http.MethodGet, scheme: "http", host: "ours.class.test"}, "class-backend")

	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		addrs, err := e.statusAddresses(e.ctx, ns, theirs.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(addrs) > 0 {
			t.Fatalf("Ingress of class %s has status addresses %v", unknown, addrs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	routeCase{req: request{method: http.MethodGet, scheme: "http", host: "theirs.class.test"}, status: http.StatusNotFound}.run(t, e)
}

// loadBalancingFeature covers features/load_balancing.feature, "An
// Ingress with no rules should send all requests to the default backend
// and" (sic): once its Deployment has 10 ready Pods, 100 requests all get
// 200 and reach all 10.
func loadBalancingFeature(t *testing.T, e *ingressEnv) {
	const pods, requests = 10, 100
	ns := e.newNamespace(t)
	ing := newIngress(ns, "spread", networkingv1.IngressSpec{DefaultBackend: ptr.To(serviceBackend("spread-backend", ""))})
	r := request{method: http.MethodGet, scheme: "http", host: "spread"}
	e.expose(t, ing, r, "spread-backend")
	e.scale(t, ns, ing.Name+"-spread-backend", pods)
	e.waitEndpoints(t, ns, "spread-backend", pods)

	// The controller learns of the new endpoints after the
	// EndpointSlices have them: a round of requests that reaches fewer
	// Pods is tried again, within bounds; every answer must be a 200.
	var seen map[string]int
	poll(t, e.ctx, converge, fmt.Sprintf("%d requests to reach %d Pods", requests, pods), func(ctx context.Context) error {
		seen = map[string]int{}
		for range requests {
			x, err := send(ctx, e.address, r)
			if ctx.Err() != nil {
				return err
			}
			if err != nil {
				t.Fatal(err)
			}
			if x.status != http.StatusOK {
				t.Fatalf("%s: status %d", r, x.status)
			}
			seen[x.echo.Pod]++
		}
		if len(seen) != pods {
			return fmt.Errorf("%d Pods reached: %v", len(seen), seen)
		}
		return nil
	})
	t.Logf("requests per Pod: %v", seen)
}

// pathRulesFeature covers features/path_rules.feature: Exact and Prefix
// paths, alone, together and with trailing slashes, each host a case of
// its own.
func pathRulesFeature(t *testing.T, e *ingressEnv) {
	ns := e.newNamespace(t)
	ing := newIngress(ns, "paths", networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
		pathRule("exact-paths", exact("/foo", "exact-foo")),
		pathRule("prefix-paths",
			prefix("/foo", "prefix-foo"),
			prefix("/aaa/bbb", "prefix-aaa-bbb"),
			prefix("/aaa", "prefix-aaa")),
		pathRule("mixed-paths",
			prefix("/foo", "prefix-foo"),
			exact("/foo", "exact-foo")),
		pathRule("slash-paths",
			prefix("/aaa/bbb/", "prefix-aaa-bbb-slash"),
			exact("/foo/", "exact-foo-slash")),
	}})
	e.expose(t, ing, request{method: http.MethodGet, scheme: "http", host: "exact-paths", path: "foo"}, "exact-foo")
	for _, c := range []routeCase{
		// "An Ingress with exact path rules should send traffic to the
		// matching backend service".
		{name: "ExactMatches", req: request{host: "exact-paths", path: "foo"}, service: "exact-foo"},
		// "... should not match requests with trailing slash".
		{name: "ExactNotWithSlash", req: request{host: "exact-paths", path: "foo/"}, status: http.StatusNotFound},
		// "... should be case sensitive".
		{name: "ExactCaseSensitive", req: request{host: "exact-paths", path: "FOO"}, status: http.StatusNotFound},
		// "... should not match any other label".
		{name: "ExactOtherPath", req: request{host: "exact-paths", path: "bar"}, status: http.StatusNotFound},
		// "An Ingress with prefix path rules should send traffic to the
		// matching backend service".
		{name: "PrefixMatchesItself", req: request{host: "prefix-paths", path: "foo"}, service: "prefix-foo"},
		// "... should ignore the request trailing slash and send traffic
		// to the matching backend service" (twice upstream, once here).
		{name: "PrefixWithSlash", req: request{host: "prefix-paths", path: "foo/"}, service: "prefix-foo"},
		// "... should be case sensitive".
		{name: "PrefixCaseSensitive", req: request{host: "prefix-paths", path: "FOO"}, status: http.StatusNotFound},
		// "... should match multiple labels, match the longest path, and
		// send traffic to the matching backend service".
		{name: "PrefixLongestWins", req: request{host: "prefix-paths", path: "aaa/bbb"}, service: "prefix-aaa-bbb"},
		// "... should match multiple labels, match the longest path, and
		// subpaths and send traffic to the matching backend service".
		{name: "PrefixLongestTakesSubpaths", req: request{host: "prefix-paths", path: "aaa/bbb/ccc"}, service: "prefix-aaa-bbb"},
		// "... should and send traffic to the matching backend service"
		// (sic: the shorter prefix takes what the longer does not).
		{name: "PrefixShorterTakesRest", req: request{host: "prefix-paths", path: "aaa/ccc"}, service: "prefix-aaa"},
		// "... should match each labels string prefix" (whole segments
		// only).
		{name: "PrefixWholeSegments", req: request{host: "prefix-paths", path: "aaaccc"}, status: http.StatusNotFound},
		// "An Ingress with mixed path rules should send traffic to the
		// matching backend service where Exact is preferred".
		{name: "MixedExactPreferred", req: request{host: "mixed-paths", path: "foo"}, service: "exact-foo"},
		// "An Ingress with a trailing slashes in a prefix path rule
		// should ignore the trailing slash and send traffic to the
		// matching backend service", without and with the slash.
		{name: "PrefixSlashRuleWithout", req: request{host: "slash-paths", path: "aaa/bbb"}, service: "prefix-aaa-bbb-slash"},
		{name: "PrefixSlashRuleWith", req: request{host: "slash-paths", path: "aaa/bbb/"}, service: "prefix-aaa-bbb-slash"},
		// "An Ingress with a trailing slashes in an exact path rule
		// should not match requests without a trailing slash".
		{name: "ExactSlashRuleWithout", req: request{host: "slash-paths", path: "foo"}, status: http.StatusNotFound},
	} {
		c.req.method, c.req.scheme = http.MethodGet, "http"
		t.Run(c.name, func(t *testing.T) { c.run(t, e) })
	}
}
