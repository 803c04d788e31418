package kubernetes_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// statusDeadline is how soon after an Ingress is served its status must
// show the load balancer's addresses.
const statusDeadline = 5 * time.Second

// TestStatusPublishAddresses publishes --publish-status-address addresses
// with the listener port (not 80), writes nothing when nothing changed,
// clears the status of an Ingress that moves to another class, and never
// touches another controller's status.
func TestStatusPublishAddresses(t *testing.T) {
	f := newFixture(t)
	class := "status-" + f.ns
	addrs, port := startBackends(t, "a", "b")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	foreign := []networkingv1.IngressLoadBalancerIngress{{IP: "203.0.113.9"}}
	f.createIngress(ingress("foreign", ptr.To("someone-else"), route{host: "foreign.test", path: "/", service: "web", port: "http"}))
	f.setStatus("foreign", foreign)

	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns},
		publishAddresses: []string{"lb.example.test", "198.18.4.250"}})
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	expect(t, c.port, "web.test", "/", ok("a"))
	ports := []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}}
	want := []networkingv1.IngressLoadBalancerIngress{
		{IP: "198.18.4.250", Ports: ports},
		{Hostname: "lb.example.test", Ports: ports},
	}
	took := f.expectStatus("web", want, statusDeadline)
	t.Logf("status published %s after the Ingress was served", took.Round(time.Millisecond))

	// Reconciles that change the config but not the addresses write no
	// status.
	rv := f.getIngress("web").ResourceVersion
	for _, backends := range [][]string{{"a", "b"}, {"b"}, {"a"}} {
		applied := c.eng.Status().Applied
		var ips []string
		for _, b := range backends {
			ips = append(ips, addrs[b])
		}
		f.updateSlice("web-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es, ips...) })
		eventually(t, converge, "config applied", func() error {
			if c.eng.Status().Applied == applied {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if got := f.getIngress("web").ResourceVersion; got != rv {
			t.Fatalf("Ingress resourceVersion %s -> %s with no change of address: status rewritten", rv, got)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Moved to another class: no longer ours, our status goes.
	f.updateIngress("web", func(ing *networkingv1.Ingress) { ing.Spec.IngressClassName = ptr.To("someone-else") })
	expect(t, c.port, "web.test", "/", notFound)
	f.expectStatus("web", nil, statusDeadline)

	// Another controller's status was never touched.
	if got := f.getIngress("foreign").Status.LoadBalancer.Ingress; !equalStatus(got, foreign) {
		t.Errorf("foreign Ingress status = %v, want %v untouched", got, foreign)
	}
}

// TestStatusFromProvider publishes the provider's addresses when nothing
// else is configured: the builtin proxy reports its listen address and
// ports.
func TestStatusFromProvider(t *testing.T) {
	f := newFixture(t)
	class := "status-provider-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	expect(t, c.port, "web.test", "/", ok("a"))
	f.expectStatus("web", []networkingv1.IngressLoadBalancerIngress{{
		IP: "127.0.0.1", Ports: []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}},
	}}, statusDeadline)
}

// TestStatusFromPublishService copies the publish Service's addresses and
// follows their changes.
func TestStatusFromPublishService(t *testing.T) {
	f := newFixture(t)
	class := "status-service-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	front, err := f.client.CoreV1().Services(f.ns).Create(f.ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "front"},
		Spec: corev1.ServiceSpec{
			Type:  corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setServiceStatus := func(in ...corev1.LoadBalancerIngress) {
		t.Helper()
		front, err = f.client.CoreV1().Services(f.ns).Get(f.ctx, "front", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		front.Status.LoadBalancer.Ingress = in
		if front, err = f.client.CoreV1().Services(f.ns).UpdateStatus(f.ctx, front, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setServiceStatus(corev1.LoadBalancerIngress{IP: "203.0.113.7"})

	// The publish Service lives in a namespace of its own in real
	// deployments; watching only the Ingress namespace must not matter.
	other := newFixture(t)
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	c := startController(t, controllerOptions{class: class, namespaces: []string{other.ns, f.ns}, publishService: f.ns + "/front"})
	expect(t, c.port, "web.test", "/", ok("a"))
	f.expectStatus("web", []networkingv1.IngressLoadBalancerIngress{{IP: "203.0.113.7"}}, statusDeadline)

	setServiceStatus(corev1.LoadBalancerIngress{Hostname: "lb.example.test"}, corev1.LoadBalancerIngress{IP: "203.0.113.8"})
	f.expectStatus("web", []networkingv1.IngressLoadBalancerIngress{{IP: "203.0.113.8"}, {Hostname: "lb.example.test"}}, statusDeadline)
}

// TestStatusOnShutdown leaves the status in place when the controller
// stops, unless it is asked to clear it.
func TestStatusOnShutdown(t *testing.T) {
	for _, clear := range []bool{false, true} {
		t.Run(fmt.Sprintf("clear=%v", clear), func(t *testing.T) {
			f := newFixture(t)
			class := "status-shutdown-" + f.ns
			addrs, port := startBackends(t, "a")
			f.service("web", "http", 80, port)
			f.slice("web-1", "web", "http", port, addrs["a"])
			f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
			c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns},
				publishAddresses: []string{"198.18.4.250"}, clearOnShutdown: clear})
			want := []networkingv1.IngressLoadBalancerIngress{{IP: "198.18.4.250", Ports: []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}}}}
			f.expectStatus("web", want, converge)
			c.stop(t)
			got := f.getIngress("web").Status.LoadBalancer.Ingress
			if clear && len(got) != 0 {
				t.Errorf("status after shutdown = %v, want it cleared", got)
			}
			if !clear && !equalStatus(got, want) {
				t.Errorf("status after shutdown = %v, want %v left in place", got, want)
			}
		})
	}
}

func (f *fixture) setStatus(name string, st []networkingv1.IngressLoadBalancerIngress) {
	f.t.Helper()
	ing := f.getIngress(name)
	ing.Status.LoadBalancer.Ingress = st
	if _, err := f.client.NetworkingV1().Ingresses(f.ns).UpdateStatus(f.ctx, ing, metav1.UpdateOptions{}); err != nil {
		f.t.Fatalf("update status of ingress %s: %v", name, err)
	}
}

// expectStatus polls until the Ingress's status is want and returns how
// long that took.
func (f *fixture) expectStatus(name string, want []networkingv1.IngressLoadBalancerIngress, timeout time.Duration) time.Duration {
	f.t.Helper()
	return eventually(f.t, timeout, fmt.Sprintf("status of Ingress %s = %v", name, want), func() error {
		got := f.getIngress(name).Status.LoadBalancer.Ingress
		if !equalStatus(got, want) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
}

func equalStatus(a, b []networkingv1.IngressLoadBalancerIngress) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}
