package kubernetes_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestRouting serves a small cluster through real HTTP: hosts, Prefix and
// Exact paths, named and numbered service ports, a default backend, two
// Ingresses sharing a host, and class selection by spec.ingressClassName
// and by the legacy annotation, with another class's Ingress ignored.
func TestRouting(t *testing.T) {
	f := newFixture(t)
	class := "routing-" + f.ns
	addrs, port := startBackends(t, "a", "b", "c", "d")
	for _, name := range []string{"a", "b", "c", "d"} {
		f.service("svc-"+name, "http", 8080, port)
		f.slice("svc-"+name+"-1", "svc-"+name, "http", port, addrs[name])
	}

	f.createIngress(ingress("hosts", &class,
		route{host: "a.test", path: "/", service: "svc-a", port: "http"},
		route{host: "b.test", path: "/api", service: "svc-b", port: "8080"},
		route{host: "b.test", path: "/exact", exact: true, service: "svc-c", port: "http"},
	))
	f.createIngress(ingress("shared-host", &class,
		route{host: "a.test", path: "/other", service: "svc-c", port: "http"},
	))
	def := ingress("default", &class)
	def.Spec.DefaultBackend = ptr.To(serviceBackend("svc-d", "http"))
	f.createIngress(def)
	legacy := ingress("legacy", nil, route{host: "legacy.test", path: "/", service: "svc-b", port: "http"})
	legacy.Annotations = map[string]string{"kubernetes.io/ingress.class": class}
	f.createIngress(legacy)
	f.createIngress(ingress("theirs", ptr.To("someone-else"),
		route{host: "theirs.test", path: "/", service: "svc-a", port: "http"},
	))

	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})

	for _, tc := range []struct {
		host, path string
		want       response
	}{
		{"a.test", "/", ok("a")},
		{"a.test", "/x/y", ok("a")},
		{"A.Test", "/", ok("a")},
		{"a.test", "/other", ok("c")},
		{"a.test", "/other/deeper", ok("c")},
		{"a.test", "/otherwise", ok("a")},
		{"b.test", "/api", ok("b")},
		{"b.test", "/api/v1", ok("b")},
		{"b.test", "/exact", ok("c")},
		{"b.test", "/exact/more", ok("d")}, // no route of the host: the default backend
		{"b.test", "/", ok("d")},
		{"legacy.test", "/", ok("b")},
		{"theirs.test", "/", ok("d")}, // another class: not served
		{"unknown.test", "/", ok("d")},
	} {
		expect(t, c.port, tc.host, tc.path, tc.want)
	}

	// Without the default backend, unmatched requests get 404.
	if err := f.client.NetworkingV1().Ingresses(f.ns).Delete(f.ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, c.port, "unknown.test", "/", notFound)
	expect(t, c.port, "theirs.test", "/", notFound)
	expect(t, c.port, "a.test", "/", ok("a"))
}

// TestWatchNamespace serves only the watched namespaces' Ingresses.
func TestWatchNamespace(t *testing.T) {
	one, two, other := newFixture(t), newFixture(t), newFixture(t)
	class := "watch-" + one.ns
	addrs, port := startBackends(t, "one", "two", "other")
	for name, f := range map[string]*fixture{"one": one, "two": two, "other": other} {
		f.service("web", "http", 80, port)
		f.slice("web-1", "web", "http", port, addrs[name])
		f.createIngress(ingress("web", &class, route{host: name + ".test", path: "/", service: "web", port: "http"}))
	}
	c := startController(t, controllerOptions{class: class, namespaces: []string{one.ns, two.ns}})
	expect(t, c.port, "one.test", "/", ok("one"))
	expect(t, c.port, "two.test", "/", ok("two"))
	expect(t, c.port, "other.test", "/", notFound)
	for _, ing := range c.src.Snapshot().Ingresses {
		if ing.Namespace == other.ns {
			t.Errorf("snapshot holds Ingress %s/%s of an unwatched namespace", ing.Namespace, ing.Name)
		}
	}
}
