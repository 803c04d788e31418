package kubernetes_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/translate"
)

// getWithCookie sends GET http://shop.test/ with cookie (none when "")
// and returns who answered and the value of the Set-Cookie route.
func getWithCookie(port int, cookie string) (response, string, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
	if err != nil {
		return response{}, "", err
	}
	req.Host = "shop.test"
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := proxyClient.Do(req)
	if err != nil {
		return response{}, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	set := ""
	for _, c := range resp.Cookies() {
		if c.Name == "route" {
			set = c.Value
		}
	}
	return response{code: resp.StatusCode, backend: resp.Header.Get("X-Echo-Server")}, set, nil
}

// TestStickyCanary: an nginx main Ingress with cookie affinity and a
// canary at weight 50, affinity-canary-behavior left at its default,
// sticky. With the builtin a client whose cookie names the canary stays
// on it when the canary's weight drops to 0; with haproxy sticky is
// served as legacy with a Warning, and the same client goes to main.
func TestStickyCanary(t *testing.T) {
	for _, haproxy := range []bool{false, true} {
		t.Run(map[bool]string{false: "builtin", true: "haproxy"}[haproxy], func(t *testing.T) { testStickyCanary(t, haproxy) })
	}
}

func testStickyCanary(t *testing.T, haproxy bool) {
	f := newFixture(t)
	class, nginxClass := "ours-"+f.ns, "nginx-"+f.ns
	addrs, port := startBackends(t, "main", "canary")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["main"])
	f.service("canary", "http", 80, port)
	f.slice("canary-1", "canary", "http", port, addrs["canary"])
	const p = translate.NginxAnnotationPrefix
	main := ingress("main", &nginxClass, route{host: "shop.test", path: "/", service: "web", port: "http"})
	main.Annotations = map[string]string{p + "affinity": "cookie", p + "session-cookie-name": "route"}
	f.createIngress(main)
	canary := ingress("canary", &nginxClass, route{host: "shop.test", path: "/", service: "canary", port: "http"})
	canary.Annotations = map[string]string{p + "canary": "true", p + "canary-weight": "50"}
	f.createIngress(canary)
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}, nginxClass: nginxClass, haproxy: haproxy})

	cookies := map[string]string{}
	eventually(t, converge, "both backends to answer with their cookies", func() error {
		got, set, err := getWithCookie(c.port, "")
		if err != nil {
			return err
		}
		if got.code == http.StatusOK && set != "" {
			cookies[got.backend] = "route=" + set
		}
		if len(cookies) < 2 {
			return fmt.Errorf("cookies %v", cookies)
		}
		return nil
	})
	f.updateIngress("canary", func(ing *networkingv1.Ingress) { ing.Annotations[p+"canary-weight"] = "0" })
	eventually(t, converge, "new clients all on main", func() error {
		for range 20 {
			got, _, err := getWithCookie(c.port, "")
			if err != nil {
				return err
			}
			if got != ok("main") {
				return fmt.Errorf("got %v", got)
			}
		}
		return nil
	})
	want := ok("canary")
	if haproxy {
		want = ok("main")
		evs := f.expectEventsAtLeast("Ingress", "canary", "UnsupportedAnnotation")
		t.Logf("haproxy: %s", evs[0].Message)
	}
	for range 20 {
		got, _, err := getWithCookie(c.port, cookies["canary"])
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("a client whose cookie names the canary got %v at weight 0, want %v", got, want)
		}
	}
}
