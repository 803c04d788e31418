package kubernetes_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/translate"
)

// gatewayGet sends GET http://host/path to addr:port, or over TLS with
// SNI host trusting pool, and returns the status, the echo backend that
// answered and the Location.
func gatewayGet(addr string, port int32, host, path string, header http.Header, pool *tls.Config) (response, string, error) {
	scheme := "http"
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	if pool != nil {
		scheme = "https"
		tr.TLSClientConfig = pool
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, scheme+"://"+net.JoinHostPort(addr, strconv.Itoa(int(port)))+path, nil)
	if err != nil {
		return response{}, "", err
	}
	req.Host = host
	for k, vs := range header {
		req.Header[k] = vs
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		return response{}, "", err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return response{code: res.StatusCode, backend: res.Header.Get("X-Echo-Server")}, res.Header.Get("Location"), nil
}

// gatewayRequestURI sends GET path to addr:port for host and returns the
// request target the echo backend got.
func gatewayRequestURI(addr string, port int32, host, path string) (string, error) {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort(addr, strconv.Itoa(int(port)))+path, nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", res.StatusCode)
	}
	return res.Header.Get("X-Echo-Request-Uri"), nil
}

// TestGatewayAPI runs the Gateway API source against the real API server
// and each provider in turn: a Gateway of our class with an HTTP and an HTTPS
// listener on an address of its own, HTTPRoutes with exact, prefix,
// header and query matches, a prefix rewrite, weights, a redirect and a cross-namespace backend
// opened by a ReferenceGrant; then checks the status the leader writes
// on the GatewayClass, the Gateway and the routes, and that a missing
// Service, a route of a namespace the listener does not allow and a
// listener with a missing Secret get the spec's conditions while the rest
// keeps serving.
func TestGatewayAPI(t *testing.T) {
	t.Run("builtin", func(t *testing.T) { testGatewayAPI(t, false) })
	t.Run("haproxy", func(t *testing.T) { testGatewayAPI(t, true) })
}

func testGatewayAPI(t *testing.T, haproxy bool) {
	f := newGatewayFixture(t)
	other := newFixture(t)
	class := "gw-" + f.ns
	addrs, port := startBackends(t, "v1", "v2", "other")
	for _, name := range []string{"v1", "v2"} {
		f.service("svc-"+name, "http", 8080, port)
		f.slice("svc-"+name+"-1", "svc-"+name, "http", port, addrs[name])
	}
	other.service("svc-other", "http", 8080, port)
	other.slice("svc-other-1", "svc-other", "http", port, addrs["other"])
	cert := nettest.NewCert(t, "gw.test", "gw.test")
	if _, err := f.client.CoreV1().Secrets(f.ns).Create(f.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "gw-cert"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: cert.ChainPEM, corev1.TLSPrivateKeyKey: cert.KeyPEM},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gw.GatewayV1beta1().ReferenceGrants(other.ns).Create(f.ctx, &gatewayv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Name: "routes-of-" + f.ns},
		Spec: gatewayv1beta1.ReferenceGrantSpec{
			From: []gatewayv1beta1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: gatewayv1.Namespace(f.ns)}},
			To:   []gatewayv1beta1.ReferenceGrantTo{{Group: "", Kind: "Service"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	f.gatewayClass(class)
	// Addresses of 127.0.13.0/24 are this test's; the pool is its upper
	// half.
	gwAddr := "127.0.13.10"
	httpPort, httpsPort, brokenPort := nettest.FreePort(t), nettest.FreePort(t), nettest.FreePort(t)
	web := newGateway("web", class,
		httpListener("http", httpPort),
		gatewayv1.Listener{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: httpsPort, Hostname: ptr.To(gatewayv1.Hostname("gw.test")),
			TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "gw-cert"}}}},
		gatewayv1.Listener{Name: "broken", Protocol: gatewayv1.HTTPSProtocolType, Port: brokenPort,
			TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "no-such-secret"}}}},
	)
	web.Spec.Addresses = ipAddresses(gwAddr)
	gw := f.gateway(web)
	pooled := f.gateway(newGateway("pooled", class, httpListener("http", httpPort)))

	// An address this host does not have, outside the pool and not
	// loopback: the translator leaves this Gateway out (AddressNotUsable),
	// not the others.
	unbindable := newGateway("unbindable", class, httpListener("http", httpPort))
	unbindable.Spec.Addresses = []gatewayv1.GatewaySpecAddress{{Value: "192.0.2.99"}}
	unbindable = f.gateway(unbindable)

	backend := func(name string, weight int32) gatewayv1.HTTPBackendRef {
		b := backendRef(name, 8080)
		b.Weight = ptr.To(weight)
		return b
	}
	match := func(typ gatewayv1.PathMatchType, path string, headers ...gatewayv1.HTTPHeaderMatch) []gatewayv1.HTTPRouteMatch {
		return []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(typ), Value: ptr.To(path)}, Headers: headers}}
	}
	crossNamespace := backend("svc-other", 1)
	crossNamespace.Namespace = ptr.To(gatewayv1.Namespace(other.ns))
	f.route(&gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "main"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "web"}, {Name: "pooled"}}},
			Hostnames:       []gatewayv1.Hostname{"gw.test"},
			Rules: []gatewayv1.HTTPRouteRule{
				{Matches: match(gatewayv1.PathMatchPathPrefix, "/"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v1", 1)}},
				{Matches: match(gatewayv1.PathMatchExact, "/exact"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v2", 1)}},
				{
					Matches:     match(gatewayv1.PathMatchPathPrefix, "/canary", gatewayv1.HTTPHeaderMatch{Name: "X-Version", Value: "2"}),
					BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v2", 1)},
				},
				{Matches: match(gatewayv1.PathMatchPathPrefix, "/split"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v1", 1), backend("svc-v2", 1)}},
				{Matches: match(gatewayv1.PathMatchPathPrefix, "/none"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v1", 0), backend("svc-v2", 1)}},
				{Matches: match(gatewayv1.PathMatchPathPrefix, "/other"), BackendRefs: []gatewayv1.HTTPBackendRef{crossNamespace}},
				{
					Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/q")}, QueryParams: []gatewayv1.HTTPQueryParamMatch{{Name: "v", Value: "2"}}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v2", 1)},
				},
				{
					Matches: match(gatewayv1.PathMatchPathPrefix, "/strip"),
					Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterURLRewrite, URLRewrite: &gatewayv1.HTTPURLRewriteFilter{
						Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To("/kept")},
					}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v2", 1)},
				},
				{
					Matches: match(gatewayv1.PathMatchPathPrefix, "/old"),
					Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{
						Path:       &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To("/new")},
						StatusCode: ptr.To(301),
					}}},
				},
			},
		},
	})
	missing := newHTTPRoute("missing", []gatewayv1.ParentReference{{Name: "web", SectionName: ptr.To(gatewayv1.SectionName("http"))}},
		backendRule(backend("no-such-service", 1)))
	missing.Spec.Hostnames = []gatewayv1.Hostname{"missing.test"}
	f.route(missing)
	// Hostnames before paths: api.fall.test's route has "/api" only, so
	// its other requests go on to the *.fall.test route of the same
	// listener, whose longer "/api/long" does not beat "/api".
	onHTTP := gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "web", SectionName: ptr.To(gatewayv1.SectionName("http"))}}}
	f.route(&gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "fall-exact"},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: onHTTP, Hostnames: []gatewayv1.Hostname{"api.fall.test"},
			Rules: []gatewayv1.HTTPRouteRule{{Matches: match(gatewayv1.PathMatchPathPrefix, "/api"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v2", 1)}}}},
	})
	f.route(&gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "fall-wildcard"},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: onHTTP, Hostnames: []gatewayv1.Hostname{"*.fall.test"},
			Rules: []gatewayv1.HTTPRouteRule{
				{Matches: match(gatewayv1.PathMatchPathPrefix, "/"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v1", 1)}},
				{Matches: match(gatewayv1.PathMatchPathPrefix, "/api/long"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("svc-v1", 1)}},
			}},
	})
	foreign := newHTTPRoute("foreign", []gatewayv1.ParentReference{{Name: "web", Namespace: ptr.To(gatewayv1.Namespace(f.ns))}},
		backendRule(backend("svc-other", 1)))
	foreign.Namespace, foreign.Spec.Hostnames = other.ns, []gatewayv1.Hostname{"foreign.test"}
	if _, err := f.gw.GatewayV1().HTTPRoutes(other.ns).Create(f.ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	pool := netip.MustParsePrefix("127.0.13.128/25")
	startController(t, controllerOptions{class: "gw-ingress-" + f.ns, namespaces: []string{f.ns, other.ns}, gatewayAPI: true, addressPool: pool, haproxy: haproxy})

	expectGW := func(addr string, port int32, host, path string, header http.Header, tlsConfig *tls.Config, want response) {
		t.Helper()
		eventually(t, converge, fmt.Sprintf("%s:%d %s%s", addr, port, host, path), func() error {
			got, _, err := gatewayGet(addr, port, host, path, header, tlsConfig)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("got %s, want %s", got, want)
			}
			return nil
		})
	}
	v2 := http.Header{"X-Version": {"2"}}
	for _, tc := range []struct {
		host, path string
		header     http.Header
		want       response
	}{
		{"gw.test", "/", nil, ok("v1")},
		{"gw.test", "/exact", nil, ok("v2")},
		{"gw.test", "/exact/more", nil, ok("v1")},
		{"gw.test", "/canary", v2, ok("v2")},
		{"gw.test", "/canary", nil, ok("v1")}, // no header: on to the "/" rule
		{"gw.test", "/canary/x", http.Header{"X-Version": {"3"}}, ok("v1")},
		{"gw.test", "/none", nil, ok("v2")},
		{"gw.test", "/other", nil, ok("other")}, // granted by the ReferenceGrant
		{"gw.test", "/q?v=2", nil, ok("v2")},
		{"gw.test", "/q?a=1&v=2", nil, ok("v2")},
		{"gw.test", "/q?v=3", nil, ok("v1")},     // on to the "/" rule
		{"gw.test", "/q?v=2x", nil, ok("v1")},    // Exact
		{"gw.test", "/q?v=3&v=2", nil, ok("v1")}, // the first v counts
		{"unknown.test", "/", nil, notFound},
		{"api.fall.test", "/api/long", nil, ok("v2")},
		{"api.fall.test", "/other", nil, ok("v1")}, // on to *.fall.test
		{"x.api.fall.test", "/api", nil, ok("v1")},
		{"foreign.test", "/", nil, notFound}, // its namespace is not allowed
	} {
		expectGW(gwAddr, httpPort, tc.host, tc.path, tc.header, nil, tc.want)
	}
	// The missing Service's share gets the load balancer's 500, as the
	// spec asks, not another route.
	expectGW(gwAddr, httpPort, "missing.test", "/", nil, nil, response{code: http.StatusInternalServerError})
	// HTTPS with the certificate of the Secret, by SNI.
	tlsConfig := &tls.Config{ServerName: "gw.test", RootCAs: cert.Pool}
	expectGW(gwAddr, httpsPort, "gw.test", "/exact", nil, tlsConfig, ok("v2"))
	// The redirect keeps what follows the replaced prefix.
	eventually(t, converge, "redirect", func() error {
		got, loc, err := gatewayGet(gwAddr, httpPort, "gw.test", "/old/page?q=1", nil, nil)
		if err != nil {
			return err
		}
		if got.code != http.StatusMovedPermanently || loc != fmt.Sprintf("http://gw.test:%d/new/page?q=1", httpPort) {
			return fmt.Errorf("got %s with Location %q", got, loc)
		}
		return nil
	})
	// The prefix rewrite keeps what follows the prefix, and the query.
	eventually(t, converge, "prefix rewrite", func() error {
		uri, err := gatewayRequestURI(gwAddr, httpPort, "gw.test", "/strip/page?q=1")
		if err != nil {
			return err
		}
		if uri != "/kept/page?q=1" {
			return fmt.Errorf("the backend got %q, want /kept/page?q=1", uri)
		}
		return nil
	})
	// Equal weights: both backends serve.
	seen := map[string]int{}
	for range 40 {
		got, _, err := gatewayGet(gwAddr, httpPort, "gw.test", "/split", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[got.backend]++
	}
	if seen["v1"] == 0 || seen["v2"] == 0 || seen["v1"]+seen["v2"] != 40 {
		t.Errorf("/split with weights 1 and 1: %v, want both v1 and v2 and nothing else", seen)
	}

	// The pooled Gateway got the first free address of the pool.
	pooledAddr := "127.0.13.129"
	expectGW(pooledAddr, httpPort, "gw.test", "/exact", nil, nil, ok("v2"))

	// Status.
	eventually(t, converge, "GatewayClass status", func() error {
		c, err := f.gw.GatewayV1().GatewayClasses().Get(f.ctx, class, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := hasCondition(c.Status.Conditions, "Accepted", metav1.ConditionTrue, "Accepted", c.Generation); err != nil {
			return err
		}
		if len(c.Status.SupportedFeatures) == 0 {
			return errors.New("no supportedFeatures")
		}
		return nil
	})
	eventually(t, converge, "Gateway status", func() error {
		g, err := f.gw.GatewayV1().Gateways(f.ns).Get(f.ctx, gw.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range []struct {
			typ, reason string
			status      metav1.ConditionStatus
		}{{"Accepted", "Accepted", metav1.ConditionTrue}, {"Programmed", "Programmed", metav1.ConditionTrue}} {
			if err := hasCondition(g.Status.Conditions, c.typ, c.status, c.reason, g.Generation); err != nil {
				return err
			}
		}
		if len(g.Status.Addresses) != 1 || g.Status.Addresses[0].Value != gwAddr {
			return fmt.Errorf("addresses %v, want %s", g.Status.Addresses, gwAddr)
		}
		want := map[string]struct {
			attached int32
			conds    [][3]string // type, status, reason
		}{
			"http":   {1, [][3]string{{"Accepted", "True", "Accepted"}, {"Programmed", "True", "Programmed"}, {"ResolvedRefs", "True", "ResolvedRefs"}, {"Conflicted", "False", "NoConflicts"}}},
			"https":  {1, [][3]string{{"Accepted", "True", "Accepted"}, {"Programmed", "True", "Programmed"}, {"ResolvedRefs", "True", "ResolvedRefs"}}},
			"broken": {1, [][3]string{{"Programmed", "False", "Invalid"}, {"ResolvedRefs", "False", "InvalidCertificateRef"}}},
		}
		if len(g.Status.Listeners) != len(want) {
			return fmt.Errorf("%d listener statuses, want %d", len(g.Status.Listeners), len(want))
		}
		for _, l := range g.Status.Listeners {
			w := want[string(l.Name)]
			// "main", "missing", "fall-exact" and "fall-wildcard" (by
			// sectionName) attach to "http"; "main" also to "https",
			// whose hostname it has, and to "broken", which does not
			// serve without its certificate but counts it as the spec
			// says.
			if string(l.Name) == "http" {
				w.attached = 4
			}
			if l.AttachedRoutes != w.attached {
				return fmt.Errorf("listener %s: attachedRoutes %d, want %d", l.Name, l.AttachedRoutes, w.attached)
			}
			for _, c := range w.conds {
				if err := hasCondition(l.Conditions, c[0], metav1.ConditionStatus(c[1]), c[2], g.Generation); err != nil {
					return fmt.Errorf("listener %s: %w", l.Name, err)
				}
			}
		}
		return nil
	})
	eventually(t, converge, "pooled Gateway status", func() error {
		g, err := f.gw.GatewayV1().Gateways(f.ns).Get(f.ctx, pooled.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(g.Status.Addresses) != 1 || g.Status.Addresses[0].Value != pooledAddr {
			return fmt.Errorf("addresses %v, want %s", g.Status.Addresses, pooledAddr)
		}
		return hasCondition(g.Status.Conditions, "Programmed", metav1.ConditionTrue, "Programmed", g.Generation)
	})
	routeStatus := func(ns, name string, parents int, conds ...[3]string) {
		t.Helper()
		eventually(t, converge, "HTTPRoute "+name+" status", func() error {
			r, err := f.gw.GatewayV1().HTTPRoutes(ns).Get(f.ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(r.Status.Parents) != parents {
				return fmt.Errorf("%d parents in status, want %d", len(r.Status.Parents), parents)
			}
			for _, p := range r.Status.Parents {
				if p.ControllerName != translate.GatewayControllerName {
					return fmt.Errorf("parent %s: controllerName %q", p.ParentRef.Name, p.ControllerName)
				}
				for _, c := range conds {
					if err := hasCondition(p.Conditions, c[0], metav1.ConditionStatus(c[1]), c[2], r.Generation); err != nil {
						return fmt.Errorf("parent %s: %w", p.ParentRef.Name, err)
					}
				}
			}
			return nil
		})
	}
	routeStatus(f.ns, "main", 2, [3]string{"Accepted", "True", "Accepted"}, [3]string{"ResolvedRefs", "True", "ResolvedRefs"})
	routeStatus(f.ns, "missing", 1, [3]string{"Accepted", "True", "Accepted"}, [3]string{"ResolvedRefs", "False", "BackendNotFound"})
	routeStatus(other.ns, "foreign", 1, [3]string{"Accepted", "False", "NotAllowedByListeners"})

	// Problems are Warning Events on the Gateway API objects.
	f.expectEvents("Gateway", gw.Name, "InvalidCertificateRef", 1)
	f.expectEvents("HTTPRoute", "missing", "BackendNotFound", 1)
	// The Gateway of an unusable address is not programmed, and says why.
	eventually(t, converge, "unbindable Gateway status", func() error {
		g, err := f.gw.GatewayV1().Gateways(f.ns).Get(f.ctx, unbindable.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := hasCondition(g.Status.Conditions, "Accepted", metav1.ConditionTrue, "Accepted", g.Generation); err != nil {
			return err
		}
		return hasCondition(g.Status.Conditions, "Programmed", metav1.ConditionFalse, "AddressNotUsable", g.Generation)
	})
	if evs := f.expectEventsAtLeast("Gateway", unbindable.Name, "AddressNotUsable"); !strings.Contains(evs[0].Message, "192.0.2.99") {
		t.Errorf("AddressNotUsable event %q does not name the address", evs[0].Message)
	}

	// A pool address stays with its Gateway when an older one goes: a
	// second pooled Gateway gets the next address, keeps it when the
	// first is deleted, and the freed address is not handed to it.
	pooled2 := f.gateway(newGateway("pooled2", class, httpListener("http", httpPort)))
	pooled2Status := func() error {
		g, err := f.gw.GatewayV1().Gateways(f.ns).Get(f.ctx, pooled2.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(g.Status.Addresses) != 1 || g.Status.Addresses[0].Value != "127.0.13.130" {
			return fmt.Errorf("addresses %v, want 127.0.13.130", g.Status.Addresses)
		}
		return hasCondition(g.Status.Conditions, "Programmed", metav1.ConditionTrue, "Programmed", g.Generation)
	}
	eventually(t, converge, "second pooled Gateway status", pooled2Status)
	if err := f.gw.GatewayV1().Gateways(f.ns).Delete(f.ctx, pooled.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, converge, "first pooled Gateway gone", func() error {
		if _, _, err := gatewayGet(pooledAddr, httpPort, "gw.test", "/", nil, nil); err == nil {
			return errors.New("still served")
		}
		return nil
	})
	// No route attaches to it: its listener answers 404.
	expectGW("127.0.13.130", httpPort, "gw.test", "/exact", nil, nil, notFound)
	if err := pooled2Status(); err != nil {
		t.Errorf("after the first pooled Gateway went: %v", err)
	}

	// A change of a route is served and its status follows its generation.
	eventually(t, converge, "update HTTPRoute", func() error {
		r, err := f.gw.GatewayV1().HTTPRoutes(f.ns).Get(f.ctx, "main", metav1.GetOptions{})
		if err != nil {
			return err
		}
		r.Spec.Rules[0].BackendRefs = []gatewayv1.HTTPBackendRef{backend("svc-v2", 1)}
		_, err = f.gw.GatewayV1().HTTPRoutes(f.ns).Update(f.ctx, r, metav1.UpdateOptions{})
		return err
	})
	expectGW(gwAddr, httpPort, "gw.test", "/", nil, nil, ok("v2"))
	// "pooled" is gone: its entry in status.parents went with it.
	routeStatus(f.ns, "main", 1, [3]string{"Accepted", "True", "Accepted"})
	// Deleting the Gateway stops its listeners.
	if err := f.gw.GatewayV1().Gateways(f.ns).Delete(f.ctx, gw.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, converge, "Gateway gone", func() error {
		if _, _, err := gatewayGet(gwAddr, httpPort, "gw.test", "/", nil, nil); err == nil {
			return errors.New("still served")
		}
		return nil
	})
	expectGW("127.0.13.130", httpPort, "gw.test", "/exact", nil, nil, notFound)
}

// expectEventsAtLeast waits for at least one Event of reason on the
// object kind/name and returns them: a rejection is retried with backoff,
// so it may be recorded again.
func (f *fixture) expectEventsAtLeast(kind, name, reason string) []corev1.Event {
	f.t.Helper()
	var evs []corev1.Event
	eventually(f.t, converge, fmt.Sprintf("%s events on %s %s", reason, kind, name), func() error {
		var n int32
		var err error
		evs, n, err = f.events(kind, name, reason)
		if err == nil && n == 0 {
			err = errors.New("none recorded")
		}
		return err
	})
	return evs
}

// hasCondition checks that conds holds a condition of typ with status,
// reason and observedGeneration.
func hasCondition(conds []metav1.Condition, typ string, status metav1.ConditionStatus, reason string, generation int64) error {
	c := meta.FindStatusCondition(conds, typ)
	switch {
	case c == nil:
		return fmt.Errorf("no %s condition in %s", typ, conditionsString(conds))
	case c.Status != status || c.Reason != reason:
		return fmt.Errorf("%s is %s (%s: %s), want %s (%s)", typ, c.Status, c.Reason, c.Message, status, reason)
	case c.ObservedGeneration != generation:
		return fmt.Errorf("%s has observedGeneration %d, want %d", typ, c.ObservedGeneration, generation)
	case c.LastTransitionTime.IsZero():
		return fmt.Errorf("%s has no lastTransitionTime", typ)
	}
	return nil
}

func conditionsString(conds []metav1.Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
