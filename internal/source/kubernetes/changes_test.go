package kubernetes_test

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"ingress-controller/internal/translate"
)

// TestEveryKindChangesWhatIsServed creates, updates and deletes every kind
// the source watches and checks the effect through the proxy (or, for
// Secrets, which nothing serves yet, in the snapshot).
func TestEveryKindChangesWhatIsServed(t *testing.T) {
	f := newFixture(t)
	class := "kinds-" + f.ns
	addrs, port := startBackends(t, "a", "b", "c")
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})

	t.Run("Ingress", func(t *testing.T) {
		f.service("ing-a", "http", 80, port)
		f.slice("ing-a-1", "ing-a", "http", port, addrs["a"])
		f.service("ing-b", "http", 80, port)
		f.slice("ing-b-1", "ing-b", "http", port, addrs["b"])

		expect(t, c.port, "ing.test", "/", notFound)
		f.createIngress(ingress("ing", &class, route{host: "ing.test", path: "/", service: "ing-a", port: "http"}))
		expect(t, c.port, "ing.test", "/", ok("a"))
		f.updateIngress("ing", func(ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].HTTP.Paths[0].Backend = serviceBackend("ing-b", "80")
		})
		expect(t, c.port, "ing.test", "/", ok("b"))
		f.updateIngress("ing", func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].Host = "moved.test" })
		expect(t, c.port, "moved.test", "/", ok("b"))
		expect(t, c.port, "ing.test", "/", notFound)
		f.deleteIngress("ing")
		expect(t, c.port, "moved.test", "/", notFound)
	})

	t.Run("Service", func(t *testing.T) {
		// The Ingress comes first: its route answers 503 until the Service
		// exists.
		f.createIngress(ingress("svc", &class,
			route{host: "svc.test", path: "/byname", service: "svc", port: "http"},
			route{host: "svc.test", path: "/bynumber", service: "svc", port: "80"},
		))
		f.slice("svc-1", "svc", "http", port, addrs["a"])
		expect(t, c.port, "svc.test", "/byname", unavailable)
		f.service("svc", "http", 80, port)
		expect(t, c.port, "svc.test", "/byname", ok("a"))
		expect(t, c.port, "svc.test", "/bynumber", ok("a"))

		// The port number changes: routes by number lose it, by name keep it.
		f.updateService("svc", func(s *corev1.Service) { s.Spec.Ports[0].Port = 81 })
		expect(t, c.port, "svc.test", "/bynumber", unavailable)
		expect(t, c.port, "svc.test", "/byname", ok("a"))
		// The port name changes: now the reverse.
		f.updateService("svc", func(s *corev1.Service) { s.Spec.Ports[0].Port, s.Spec.Ports[0].Name = 80, "web" })
		expect(t, c.port, "svc.test", "/byname", unavailable)
		f.updateSlice("svc-1", func(es *discoveryv1.EndpointSlice) { es.Ports[0].Name = ptr.To("web") })
		expect(t, c.port, "svc.test", "/bynumber", ok("a"))

		// The target port changes, and the EndpointSlice follows as the
		// EndpointSlice controller would make it: traffic moves to the
		// backend listening on the new port.
		newPort := port + 1
		startBackendOn(t, "a-new-port", addrs["a"], newPort)
		f.updateService("svc", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(newPort) })
		f.updateSlice("svc-1", func(es *discoveryv1.EndpointSlice) { es.Ports[0].Port = ptr.To(newPort) })
		expect(t, c.port, "svc.test", "/bynumber", ok("a-new-port"))

		if err := f.client.CoreV1().Services(f.ns).Delete(f.ctx, "svc", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expect(t, c.port, "svc.test", "/bynumber", unavailable)
	})

	t.Run("EndpointSlice", func(t *testing.T) {
		f.service("eps", "http", 80, port)
		f.createIngress(ingress("eps", &class, route{host: "eps.test", path: "/", service: "eps", port: "http"}))
		expect(t, c.port, "eps.test", "/", unavailable)
		f.slice("eps-1", "eps", "http", port, addrs["a"])
		expect(t, c.port, "eps.test", "/", ok("a"))
		// A second slice adds b: both answer.
		f.slice("eps-2", "eps", "http", port, addrs["b"])
		expectBackends(t, c.port, "eps.test", "a", "b")
		// An update replaces a with c.
		f.updateSlice("eps-1", func(es *discoveryv1.EndpointSlice) { setSliceAddresses(es, addrs["c"]) })
		expectBackends(t, c.port, "eps.test", "b", "c")
		// A deleted slice takes its endpoints along.
		if err := f.client.DiscoveryV1().EndpointSlices(f.ns).Delete(f.ctx, "eps-2", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expectBackends(t, c.port, "eps.test", "c")
		// An endpoint that is not ready takes no traffic.
		f.updateSlice("eps-1", func(es *discoveryv1.EndpointSlice) { es.Endpoints[0].Conditions.Ready = ptr.To(false) })
		expect(t, c.port, "eps.test", "/", unavailable)
	})

	t.Run("Secret", func(t *testing.T) {
		secrets := f.client.CoreV1().Secrets(f.ns)
		tls := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "cert"},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: []byte("chain v1"), corev1.TLSPrivateKeyKey: []byte("key v1")},
		}
		if _, err := secrets.Create(f.ctx, tls, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Other types are never cached, and of Opaque ones (basic
		// authentication's) only what could be a password hash.
		if _, err := secrets.Create(f.ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "opaque"},
			StringData: map[string]string{"password": "hunter2"},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := secrets.Create(f.ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "basic"},
			Type:       corev1.SecretTypeBasicAuth,
			StringData: map[string]string{corev1.BasicAuthUsernameKey: "admin", corev1.BasicAuthPasswordKey: "hunter2"},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		expectSecret(t, c, f.ns, "cert", "chain v1")
		tls.Data[corev1.TLSCertKey] = []byte("chain v2")
		if _, err := secrets.Update(f.ctx, tls, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		expectSecret(t, c, f.ns, "cert", "chain v2")
		if err := secrets.Delete(f.ctx, "cert", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expectSecret(t, c, f.ns, "cert", "")
		for _, s := range c.src.Snapshot().Secrets {
			switch {
			case s.Type == corev1.SecretTypeOpaque && len(s.Data) > 0:
				t.Errorf("snapshot holds Opaque Secret %s/%s with keys %v, none an htpasswd file or a hash", s.Namespace, s.Name, slices.Collect(maps.Keys(s.Data)))
			case s.Type != corev1.SecretTypeTLS && s.Type != corev1.SecretTypeOpaque:
				t.Errorf("snapshot holds Secret %s/%s of type %s", s.Namespace, s.Name, s.Type)
			}
		}
	})

	t.Run("IngressClass", func(t *testing.T) {
		classes := f.client.NetworkingV1().IngressClasses()
		ours, theirs := "ours-"+f.ns, "theirs-"+f.ns
		t.Cleanup(func() {
			// IngressClasses are cluster-wide: leave no default class behind.
			for _, name := range []string{ours, theirs} {
				_ = classes.Delete(f.ctx, name, metav1.DeleteOptions{})
			}
		})
		f.service("cls", "http", 80, port)
		f.slice("cls-1", "cls", "http", port, addrs["a"])
		f.createIngress(ingress("by-class", &ours, route{host: "by-class.test", path: "/", service: "cls", port: "http"}))
		f.createIngress(ingress("classless", nil, route{host: "classless.test", path: "/", service: "cls", port: "http"}))
		expect(t, c.port, "by-class.test", "/", notFound)
		expect(t, c.port, "classless.test", "/", notFound)

		// An IngressClass naming our controller makes its Ingresses ours.
		createClass(t, f, ours, translate.DefaultControllerName, false)
		expect(t, c.port, "by-class.test", "/", ok("a"))
		expect(t, c.port, "classless.test", "/", notFound)

		// Another controller's default class does not.
		createClass(t, f, theirs, "example.com/another-controller", true)
		expect(t, c.port, "classless.test", "/", notFound)

		// The default-class annotation moves to our class.
		setDefault(t, f, theirs, false)
		setDefault(t, f, ours, true)
		expect(t, c.port, "classless.test", "/", ok("a"))
		// And back.
		setDefault(t, f, ours, false)
		expect(t, c.port, "classless.test", "/", notFound)
		setDefault(t, f, ours, true)
		expect(t, c.port, "classless.test", "/", ok("a"))

		// Deleting our class drops both.
		if err := classes.Delete(f.ctx, ours, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		expect(t, c.port, "by-class.test", "/", notFound)
		expect(t, c.port, "classless.test", "/", notFound)
	})
}

func createClass(t *testing.T, f *fixture, name, controller string, isDefault bool) {
	t.Helper()
	ic := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       networkingv1.IngressClassSpec{Controller: controller},
	}
	if isDefault {
		ic.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
	}
	if _, err := f.client.NetworkingV1().IngressClasses().Create(f.ctx, ic, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create IngressClass %s: %v", name, err)
	}
}

func setDefault(t *testing.T, f *fixture, name string, isDefault bool) {
	t.Helper()
	c := f.client.NetworkingV1().IngressClasses()
	ic, err := c.Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if isDefault {
		if ic.Annotations == nil {
			ic.Annotations = map[string]string{}
		}
		ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] = "true"
	} else {
		delete(ic.Annotations, networkingv1.AnnotationIsDefaultIngressClass)
	}
	if _, err := c.Update(f.ctx, ic, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update IngressClass %s: %v", name, err)
	}
}

// expectSecret polls until the source's snapshot holds the Secret with
// that certificate chain, or does not hold it when chain is "".
func expectSecret(t *testing.T, c *controller, ns, name, chain string) {
	t.Helper()
	eventually(t, converge, fmt.Sprintf("Secret %s/%s in the snapshot with chain %q", ns, name, chain), func() error {
		for _, s := range c.src.Snapshot().Secrets {
			if s.Namespace != ns || s.Name != name {
				continue
			}
			if chain == "" {
				return fmt.Errorf("still there")
			}
			if got := s.Data[corev1.TLSCertKey]; !bytes.Equal(got, []byte(chain)) {
				return fmt.Errorf("chain %q", got)
			}
			return nil
		}
		if chain == "" {
			return nil
		}
		return fmt.Errorf("not there")
	})
}

// expectBackends polls until requests to host are answered by exactly the
// named backends (round robin over them).
func expectBackends(t *testing.T, port int, host string, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	eventually(t, converge, fmt.Sprintf("%s served by %v", host, names), func() error {
		seen := map[string]bool{}
		for range 4 * len(names) {
			r, err := get(port, host, "/")
			if err != nil {
				return err
			}
			if r.code != 200 || !want[r.backend] {
				return fmt.Errorf("got %v", r)
			}
			seen[r.backend] = true
		}
		if len(seen) != len(want) {
			return fmt.Errorf("only %v answered", seen)
		}
		return nil
	})
}
