package kubernetes_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/internal/migrate"
	"ingress-controller/internal/translate"
)

// TestMigrateReadsCluster: the migration report reads Ingresses and the
// ingress-nginx ConfigMap from the API server, and the ConfigMaps that
// custom-headers names, and reports on the nginx class's Ingresses only.
func TestMigrateReadsCluster(t *testing.T) {
	f := newFixture(t)
	nginx, other := "nginx", "other-"+f.ns
	f.service("web", "http", 80, 8080)
	refused := ingress("admin", &nginx, route{host: "admin.migrate.test", path: "/", service: "web", port: "http"})
	refused.Annotations = map[string]string{"nginx.ingress.kubernetes.io/auth-tls-secret": f.ns + "/client-ca"}
	f.createIngress(refused)
	f.createIngress(ingress("plain", &nginx, route{host: "plain.migrate.test", path: "/", service: "web", port: "http"}))
	f.createIngress(ingress("elsewhere", &other, route{host: "other.migrate.test", path: "/", service: "web", port: "http"}))
	headers := ingress("headers", &nginx, route{host: "headers.migrate.test", path: "/", service: "web", port: "http"})
	headers.Annotations = map[string]string{"nginx.ingress.kubernetes.io/custom-headers": f.ns + "/headers"}
	f.createIngress(headers)
	if _, err := f.client.CoreV1().ConfigMaps(f.ns).Create(f.ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "headers"},
		Data:       map[string]string{"X-Team": "checkout"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.CoreV1().ConfigMaps(f.ns).Create(f.ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-controller"},
		Data:       map[string]string{"global-auth-url": "http://auth/verify", "global-allowed-response-headers": "X-Team"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	in, err := migrate.ReadCluster(f.ctx, f.client, f.ns+"/ingress-nginx-controller")
	if err != nil {
		t.Fatal(err)
	}
	r := migrate.Build(in.Snapshot, translate.Options{ControllerName: translate.DefaultControllerName,
		IngressClass: translate.DefaultIngressClass, HTTPPort: 80, HTTPSPort: 443}, in.ConfigMap, in.Settings)
	got := map[string]migrate.Verdict{}
	for _, ir := range r.Ingresses {
		if ir.Namespace == f.ns {
			got[ir.Name] = ir.Verdict
		}
	}
	if len(got) != 3 || got["admin"] != migrate.Refused || got["plain"] != migrate.Unchanged || got["headers"] != migrate.Unchanged {
		t.Errorf("verdicts in %s: %v, want admin refused, plain and headers unchanged, elsewhere left out", f.ns, got)
	}
	if len(r.Settings) != 2 || r.Settings[0].Global || !r.Settings[1].Global {
		t.Errorf("settings %+v, want global-allowed-response-headers, then global-auth-url flagged", r.Settings)
	}
}
