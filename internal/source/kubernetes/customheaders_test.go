package kubernetes_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/internal/translate"
)

// getHeader sends GET http://host/ to the proxy on port and returns the
// status and the values of the response header name.
func getHeader(port int, host, name string) (int, []string, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
	if err != nil {
		return 0, nil, err
	}
	req.Host = host
	resp, err := proxyClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Values(name), nil
}

func expectHeader(t *testing.T, port int, name string, want ...string) {
	t.Helper()
	eventually(t, converge, fmt.Sprintf("GET shop.test/ = 200 with %s %q", name, want), func() error {
		code, got, err := getHeader(port, "shop.test", name)
		if err != nil {
			return err
		}
		if code != http.StatusOK || strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("got %d with %q", code, got)
		}
		return nil
	})
}

// TestCustomHeadersFromConfigMap: an Ingress of the nginx class with
// custom-headers gets the allowed keys of its ConfigMap as response
// headers through the source's ConfigMap informer; a change of the
// ConfigMap changes them (ingress-nginx would wait for a reload), a key
// not allowed gets a Warning naming it, and without the ConfigMap the
// Ingress is served without the headers. Values of keys not allowed are
// never cached. On both providers.
func TestCustomHeadersFromConfigMap(t *testing.T) {
	for _, haproxy := range []bool{false, true} {
		t.Run(map[bool]string{false: "builtin", true: "haproxy"}[haproxy], func(t *testing.T) { testCustomHeaders(t, haproxy) })
	}
}

func testCustomHeaders(t *testing.T, haproxy bool) {
	f := newFixture(t)
	class, nginxClass := "ours-"+f.ns, "nginx-"+f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	maps := f.client.CoreV1().ConfigMaps(f.ns)
	put := func(data map[string]string) {
		t.Helper()
		if cur, err := maps.Get(f.ctx, "headers", metav1.GetOptions{}); err == nil {
			cur.Data = data
			if _, err := maps.Update(f.ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := maps.Create(f.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "headers"}, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(map[string]string{"X-Team": "checkout", "Not-Listed": "db-password=hunter2"})
	ing := ingress("shop", &nginxClass, route{host: "shop.test", path: "/", service: "web", port: "http"})
	ing.Annotations = map[string]string{translate.NginxAnnotationPrefix + "custom-headers": f.ns + "/headers"}
	f.createIngress(ing)
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}, nginxClass: nginxClass, allowedResponseHeaders: []string{"X-Team"}, haproxy: haproxy})

	expectHeader(t, c.port, "X-Team", "checkout")
	expectHeader(t, c.port, "Not-Listed")
	evs := f.expectEventsAtLeast("Ingress", "shop", "InvalidAnnotation")
	if !strings.Contains(evs[0].Message, `key "Not-Listed"`) {
		t.Errorf("event %q does not name the key", evs[0].Message)
	}
	cached := 0
	for _, cm := range c.src.Snapshot().ConfigMaps {
		if cm.Name == "headers" {
			cached++
			if v := cm.Data["Not-Listed"]; v != "" {
				t.Errorf("the source cached %q, the value of a key not allowed", v)
			}
		}
	}
	if cached != 1 {
		t.Errorf("the source cached %d ConfigMaps named headers, want 1", cached)
	}

	// A changed value is served without a restart.
	put(map[string]string{"X-Team": "payments"})
	expectHeader(t, c.port, "X-Team", "payments")

	// A value that would inject a header is refused; the Ingress serves.
	put(map[string]string{"X-Team": "a\r\nX-Injected: 1"})
	expectHeader(t, c.port, "X-Team")
	expectHeader(t, c.port, "X-Injected")

	// Deleted: served without the headers.
	put(map[string]string{"X-Team": "payments"})
	expectHeader(t, c.port, "X-Team", "payments")
	if err := maps.Delete(f.ctx, "headers", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expectHeader(t, c.port, "X-Team")
}
