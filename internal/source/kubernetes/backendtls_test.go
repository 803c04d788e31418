package kubernetes_test

import (
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/internal/translate"
)

// TestBackendTLSFromSecrets: an Ingress whose backend TLS verifies
// against the ca.crt of an Opaque Secret reads it through the source; a
// changed CA that no longer signs the backend's certificate makes its
// requests fail (502), never served unverified; the Secret's deletion
// holds the path at 503 with a Warning; its return serves again. Keys of
// the Secret that backend TLS does not read are never cached.
func TestBackendTLSFromSecrets(t *testing.T) {
	f := newFixture(t)
	class := "backendtls-" + f.ns
	// The Service's DNS name is what is verified by default.
	ca, other := startTLSBackend(t, f, "web."+f.ns+".svc")

	secrets := f.client.CoreV1().Secrets(f.ns)
	put := func(caPEM []byte) {
		t.Helper()
		data := map[string][]byte{translate.BackendTLSCAKey: caPEM, "db-password": []byte("hunter2"), "tls.key": []byte("a key without its certificate")}
		if cur, err := secrets.Get(f.ctx, "backend-ca", metav1.GetOptions{}); err == nil {
			cur.Data = data
			if _, err := secrets.Update(f.ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := secrets.Create(f.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "backend-ca"}, Type: corev1.SecretTypeOpaque, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(ca.ChainPEM)
	ing := ingress("shop", &class, route{host: "shop.test", path: "/", service: "web", port: "https"})
	ing.Annotations = map[string]string{
		translate.AnnotationBackendProtocol:  "HTTPS",
		translate.AnnotationBackendTLSSecret: "backend-ca",
		translate.AnnotationBackendTLSVerify: "true",
	}
	f.createIngress(ing)
	// Another Ingress on the host keeps the load balancer when "shop" is
	// refused; then its path answers 503.
	f.createIngress(ingress("public", &class, route{host: "shop.test", path: "/public", service: "plain", port: "http"}))
	plainAddrs, plainPort := startBackends(t, "plain")
	f.service("plain", "http", 80, plainPort)
	f.slice("plain-1", "plain", "http", plainPort, plainAddrs["plain"])
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})
	expect(t, c.port, "shop.test", "/", ok("tls"))

	for _, sec := range c.src.Snapshot().Secrets {
		if sec.Name != "backend-ca" {
			continue
		}
		for _, k := range []string{"db-password", "tls.key"} {
			if _, cached := sec.Data[k]; cached {
				t.Errorf("the source cached key %s of an Opaque Secret", k)
			}
		}
		if _, cached := sec.Data[translate.BackendTLSCAKey]; !cached {
			t.Errorf("the source did not cache ca.crt")
		}
	}

	// Another CA: the backend's certificate is no longer trusted.
	put(other.ChainPEM)
	expect(t, c.port, "shop.test", "/", response{code: http.StatusBadGateway})

	// Deleted: 503, never unverified, and a Warning on the Ingress.
	if err := secrets.Delete(f.ctx, "backend-ca", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, c.port, "shop.test", "/", unavailable)
	expect(t, c.port, "shop.test", "/public", ok("plain"))
	f.expectEvents("Ingress", "shop", "InvalidBackendTLS", 1)

	// Back with the right CA: served again.
	put(ca.ChainPEM)
	expect(t, c.port, "shop.test", "/", ok("tls"))
}
