package kubernetes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	kubesource "ingress-controller/internal/source/kubernetes"
)

// TestServiceDeletedAnswers503AndWarns deletes the Service behind a route:
// the route answers 503 and one Warning Event on the Ingress names the
// Service, however many reconciles follow. Recreated, the Service is
// served again; deleted again, it is reported again. A deleted Ingress
// answers 404.
func TestServiceDeletedAnswers503AndWarns(t *testing.T) {
	f := newFixture(t)
	class := "svc-deleted-" + f.ns
	addrs, port := startBackends(t, "a", "b")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})
	expect(t, c.port, "web.test", "/", ok("a"))

	f.deleteService("web")
	expect(t, c.port, "web.test", "/", unavailable)
	warnings := f.expectEvents("Ingress", "web", "ServiceNotFound", 1)
	w := warnings[0]
	if w.Type != corev1.EventTypeWarning || w.Source.Component != kubesource.Component ||
		!strings.Contains(w.Message, `service "web" not found`) ||
		!strings.Contains(w.Message, "spec.rules[0].http.paths[0].backend.service.name") {
		t.Errorf("event = %s %s from %q: %q; want a Warning from %q naming the field and the Service",
			w.Type, w.Reason, w.Source.Component, w.Message, kubesource.Component)
	}

	// More reconciles, with the problem still there: no more events.
	f.causeReconciles(t, c, 3)
	f.consistentlyEvents("Ingress", "web", "ServiceNotFound", 1)

	f.service("web", "http", 80, port)
	expect(t, c.port, "web.test", "/", ok("a"))
	f.deleteService("web")
	expect(t, c.port, "web.test", "/", unavailable)
	f.expectEvents("Ingress", "web", "ServiceNotFound", 2)

	f.deleteIngress("web")
	expect(t, c.port, "web.test", "/", notFound)
}

// TestSyncEventOncePerIngressChange checks that a Normal Sync Event is
// recorded when a new version of an Ingress goes live, and not on other
// reconciles or on status updates.
func TestSyncEventOncePerIngressChange(t *testing.T) {
	f := newFixture(t)
	class := "sync-" + f.ns
	addrs, port := startBackends(t, "a", "b")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}, publishAddresses: []string{"198.18.4.250"}})

	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	expect(t, c.port, "web.test", "/", ok("a"))
	sync := f.expectEvents("Ingress", "web", kubesource.ReasonSync, 1)
	if sync[0].Type != corev1.EventTypeNormal {
		t.Errorf("Sync event of type %s", sync[0].Type)
	}

	// Endpoint changes are applied, the status is written: no new Sync.
	f.updateSlice("web-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es, addrs["a"], addrs["b"]) })
	expectBackends(t, c.port, "web.test", "a", "b")
	f.updateSlice("web-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es, addrs["b"]) })
	expectBackends(t, c.port, "web.test", "b")
	f.consistentlyEvents("Ingress", "web", kubesource.ReasonSync, 1)

	// A spec change is a new version.
	f.updateIngress("web", func(ing *networkingv1.Ingress) {
		ing.Spec.Rules = append(ing.Spec.Rules, route{host: "www.test", path: "/", service: "web", port: "http"}.rule())
	})
	expect(t, c.port, "www.test", "/", ok("b"))
	f.expectEvents("Ingress", "web", kubesource.ReasonSync, 2)
}

// TestWarningOnEndpointSlice checks that a problem found in an
// EndpointSlice is reported on the EndpointSlice.
func TestWarningOnEndpointSlice(t *testing.T) {
	f := newFixture(t)
	class := "slice-warning-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	// A port without a number is valid API-wise, but unusable.
	es := newSlice("web-1", "web", "http", port, addrs["a"])
	es.Ports[0].Port = nil
	if _, err := f.client.DiscoveryV1().EndpointSlices(f.ns).Create(f.ctx, es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})
	expect(t, c.port, "web.test", "/", unavailable)
	ev := f.expectEvents("EndpointSlice", "web-1", "InvalidPort", 1)[0]
	if ev.Type != corev1.EventTypeWarning || !strings.HasPrefix(ev.Message, "ports[0].port: ") {
		t.Errorf("event = %s %q, want a Warning about ports[0].port", ev.Type, ev.Message)
	}
	f.updateSlice("web-1", func(es *discoveryv1.EndpointSlice) { es.Ports[0].Port = ptr.To(port) })
	expect(t, c.port, "web.test", "/", ok("a"))
}

func (f *fixture) deleteService(name string) {
	f.t.Helper()
	if err := f.client.CoreV1().Services(f.ns).Delete(f.ctx, name, metav1.DeleteOptions{}); err != nil {
		f.t.Fatalf("delete service %s: %v", name, err)
	}
}

// events returns the Events about one object with reason and how many
// times they were recorded in all.
func (f *fixture) events(kind, name, reason string) ([]corev1.Event, int32, error) {
	list, err := f.client.CoreV1().Events(f.ns).List(f.ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "reason": reason}.String(),
	})
	if err != nil {
		return nil, 0, err
	}
	var n int32
	for _, e := range list.Items {
		n += max(e.Count, 1)
	}
	return list.Items, n, nil
}

// expectEvents polls until the object's Events with reason were recorded
// count times in all, and returns them.
func (f *fixture) expectEvents(kind, name, reason string, count int32) []corev1.Event {
	f.t.Helper()
	var evs []corev1.Event
	eventually(f.t, converge, fmt.Sprintf("%d %s events on %s %s", count, reason, kind, name), func() error {
		var n int32
		var err error
		evs, n, err = f.events(kind, name, reason)
		if err != nil {
			return err
		}
		if n != count {
			return fmt.Errorf("%d recorded: %v", n, messages(evs))
		}
		return nil
	})
	return evs
}

// consistentlyEvents checks for a while that no more Events arrive: they
// are sent in the background, so a stray one would show up late.
func (f *fixture) consistentlyEvents(kind, name, reason string, count int32) {
	f.t.Helper()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		evs, n, err := f.events(kind, name, reason)
		if err != nil {
			f.t.Fatal(err)
		}
		if n != count {
			f.t.Fatalf("%s events on %s %s recorded %d times, want %d: %v", reason, kind, name, n, count, messages(evs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func messages(evs []corev1.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s x%d: %s", e.Reason, e.Count, e.Message))
	}
	return out
}

// causeReconciles changes an unrelated Service n times and waits until the
// engine has reconciled after each change.
func (f *fixture) causeReconciles(t *testing.T, c *controller, n int) {
	t.Helper()
	f.service("unrelated", "http", 80, 8080)
	for i := range n {
		before := c.eng.Status().Reconciles
		f.updateService("unrelated", func(s *corev1.Service) { s.Spec.Ports[0].Port = int32(81 + i) })
		eventually(t, converge, "a reconcile", func() error {
			if c.eng.Status().Reconciles == before {
				return fmt.Errorf("no reconcile yet")
			}
			return nil
		})
	}
}
