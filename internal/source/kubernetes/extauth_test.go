package kubernetes_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/translate"
)

// startAuthServers starts one auth server per name, each on its own new
// loopback address and all on one port, as the endpoints of an auth
// Service: each allows every request and says who it is in a cookie.
func startAuthServers(t *testing.T, names ...string) (map[string]string, int32) {
	t.Helper()
	addrs, port := map[string]string{}, "0"
	for _, name := range names {
		n := nextBackendAddress.Add(1)
		if n > 240 {
			t.Fatal("out of backend addresses")
		}
		addr := fmt.Sprintf("198.18.4.%d", n)
		ln, err := net.Listen("tcp", net.JoinHostPort(nettest.LoopbackAddress(t, addr).String(), port))
		if err != nil {
			t.Fatalf("auth server %s: %v", name, err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Set-Cookie", "auth="+name)
		}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		addrs[name] = addr
	}
	p, _ := strconv.Atoi(port)
	return addrs, int32(p)
}

// askedAuth returns which auth server allowed a request to host/path
// through the proxy, by its cookie, and the answer.
func askedAuth(port int, host, path string) (string, response, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	if err != nil {
		return "", response{}, err
	}
	req.Host = host
	resp, err := proxyClient.Do(req)
	if err != nil {
		return "", response{}, err
	}
	defer resp.Body.Close()
	var who string
	for _, c := range resp.Cookies() {
		if c.Name == "auth" {
			who = c.Value
		}
	}
	return who, response{code: resp.StatusCode, backend: resp.Header.Get("X-Echo-Server")}, nil
}

// TestExternalAuthByServiceName: an auth-url naming a Service of another
// namespace, <svc>.<ns>.svc.cluster.local, is sent to that Service's
// endpoints, read through the source, on both providers: a moved
// endpoint is followed, and without a ready one every request gets 500
// (never open) with a NoReadyEndpoints Warning on the Ingress.
func TestExternalAuthByServiceName(t *testing.T) {
	t.Run("builtin", func(t *testing.T) { testExternalAuthByServiceName(t, false) })
	t.Run("haproxy", func(t *testing.T) { testExternalAuthByServiceName(t, true) })
}

func testExternalAuthByServiceName(t *testing.T, haproxy bool) {
	f, auth := newFixture(t), newFixture(t)
	class := "extauth-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	authAddrs, authPort := startAuthServers(t, "one", "two")
	auth.service("sso", "http", 4180, authPort)
	auth.slice("sso-1", "sso", "http", authPort, authAddrs["one"])
	ing := ingress("shop", &class, route{host: "shop.test", path: "/", service: "web", port: "http"})
	ing.Annotations = map[string]string{translate.AnnotationAuthURL: "http://sso." + auth.ns + ".svc.cluster.local:4180/check"}
	f.createIngress(ing)
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns, auth.ns}, haproxy: haproxy})

	expectAuthBy := func(who string, want response) {
		t.Helper()
		eventually(t, converge, fmt.Sprintf("GET shop.test/ = %v, allowed by %q", want, who), func() error {
			got, r, err := askedAuth(c.port, "shop.test", "/")
			if err != nil {
				return err
			}
			if r != want || got != who {
				return fmt.Errorf("got %v, allowed by %q", r, got)
			}
			return nil
		})
	}
	expectAuthBy("one", ok("a"))
	// The endpoint moves: the next subrequests follow.
	auth.updateSlice("sso-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es, authAddrs["two"]) })
	expectAuthBy("two", ok("a"))
	// No ready endpoint: 500, never open, and a Warning.
	auth.updateSlice("sso-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es) })
	expectAuthBy("", response{code: http.StatusInternalServerError})
	f.expectEvents("Ingress", "shop", "NoReadyEndpoints", 1)
	// Back.
	auth.updateSlice("sso-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es, authAddrs["one"]) })
	expectAuthBy("one", ok("a"))
}
