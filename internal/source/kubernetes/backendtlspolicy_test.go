package kubernetes_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/translate"
)

// TestBackendTLSPolicy: a BackendTLSPolicy read through the source has
// an HTTPRoute's backend verified against the ca.crt of a ConfigMap and
// the policy's hostname; the leader writes its status.ancestors
// (Accepted, ResolvedRefs, with the policy's generation): a missing
// ConfigMap makes it NoValidCACertificate and its backend answer 500,
// the ConfigMap's creation serves it, a newer policy for the same port is
// Conflicted, and a CA that does not sign the backend's certificate fails
// its requests, never served unverified. Keys of the ConfigMap other than
// ca.crt are not cached.
func TestBackendTLSPolicy(t *testing.T) {
	f := newGatewayFixture(t)
	class := "btls-" + f.ns
	ca, other := startTLSBackend(t, f.fixture, "web.test")

	f.gatewayClass(class)
	// 127.0.96.0/24 is this branch's; its top is this test's.
	gwAddr := "127.0.96.250"
	httpPort := nettest.FreePort(t)
	gw := newGateway("web", class, httpListener("http", httpPort))
	gw.Spec.Addresses = ipAddresses(gwAddr)
	f.gateway(gw)
	route := newHTTPRoute("tls", []gatewayv1.ParentReference{{Name: "web"}}, backendRule(backendRef("web", 443)))
	route.Spec.Hostnames = []gatewayv1.Hostname{"tls.test"}
	f.route(route)
	policy := func(name, hostname string) *gatewayv1.BackendTLSPolicy {
		t.Helper()
		p := newBackendTLSPolicy(name, "web", "backend-ca", hostname)
		p.Spec.TargetRefs[0].SectionName = ptr.To(gatewayv1.SectionName("https"))
		return f.backendTLSPolicy(p)
	}
	first := policy("first", "web.test")

	c := startController(t, controllerOptions{class: "btls-ingress-" + f.ns, namespaces: []string{f.ns}, gatewayAPI: true, addressPool: netip.MustParsePrefix("127.0.96.248/30")})
	get := func() (response, error) {
		got, _, err := gatewayGet(gwAddr, httpPort, "tls.test", "/", nil, nil)
		return got, err
	}
	expectGet := func(want response) {
		t.Helper()
		eventually(t, converge, fmt.Sprintf("GET tls.test/ to answer %s", want), func() error {
			got, err := get()
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
	}
	expectPolicy := func(name string, conds ...[3]string) {
		t.Helper()
		eventually(t, converge, "BackendTLSPolicy "+name+" status", func() error {
			p, err := f.gw.GatewayV1().BackendTLSPolicies(f.ns).Get(f.ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(p.Status.Ancestors) != 1 {
				return fmt.Errorf("ancestors %v, want one, Gateway web", p.Status.Ancestors)
			}
			a := p.Status.Ancestors[0]
			if a.AncestorRef.Name != "web" || ptr.Deref(a.AncestorRef.Namespace, "") != gatewayv1.Namespace(f.ns) || a.ControllerName != translate.GatewayControllerName {
				return fmt.Errorf("ancestor %+v of %s", a.AncestorRef, a.ControllerName)
			}
			for _, c := range conds {
				if err := hasCondition(a.Conditions, c[0], metav1.ConditionStatus(c[1]), c[2], p.Generation); err != nil {
					return err
				}
			}
			return nil
		})
	}

	// No ConfigMap yet: not accepted, and answered 500, not unverified.
	expectPolicy("first", [3]string{"Accepted", "False", "NoValidCACertificate"}, [3]string{"ResolvedRefs", "False", "InvalidCACertificateRef"})
	expectGet(response{code: http.StatusInternalServerError})

	configMaps := f.client.CoreV1().ConfigMaps(f.ns)
	put := func(caPEM []byte) {
		t.Helper()
		data := map[string]string{translate.BackendTLSCAKey: string(caPEM), "db-password": "hunter2"}
		if cur, err := configMaps.Get(f.ctx, "backend-ca", metav1.GetOptions{}); err == nil {
			cur.Data = data
			if _, err := configMaps.Update(f.ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := configMaps.Create(f.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "backend-ca"}, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(ca.ChainPEM)
	expectPolicy("first", [3]string{"Accepted", "True", "Accepted"}, [3]string{"ResolvedRefs", "True", "ResolvedRefs"})
	expectGet(ok("tls"))

	// A newer policy for the same port: Conflicted; the first still
	// applies.
	policy("second", "other.test")
	expectPolicy("second", [3]string{"Accepted", "False", "Conflicted"})
	expectGet(ok("tls"))

	// A hostname the certificate is not for: no longer served.
	first, err := f.gw.GatewayV1().BackendTLSPolicies(f.ns).Get(f.ctx, first.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first.Spec.Validation.Hostname = "elsewhere.test"
	if _, err := f.gw.GatewayV1().BackendTLSPolicies(f.ns).Update(f.ctx, first, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectGet(response{code: http.StatusBadGateway})
	expectPolicy("first", [3]string{"Accepted", "True", "Accepted"}) // of the new generation

	// Back to its name, but a CA that did not sign the certificate.
	first, err = f.gw.GatewayV1().BackendTLSPolicies(f.ns).Get(f.ctx, first.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first.Spec.Validation.Hostname = "web.test"
	if _, err := f.gw.GatewayV1().BackendTLSPolicies(f.ns).Update(f.ctx, first, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectGet(ok("tls"))
	put(other.ChainPEM)
	expectGet(response{code: http.StatusBadGateway})

	snap := c.src.Snapshot()
	for _, cm := range snap.ConfigMaps {
		if cm.Namespace == f.ns && cm.Name == "backend-ca" && cm.Data["db-password"] != "" {
			t.Errorf("the cached ConfigMap holds db-password's value, which nothing reads")
		}
	}
}
