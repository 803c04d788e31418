package translate

import (
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/pkg/lbconfig"
)

// FuzzCanaryAnnotations puts a canary with fuzzed canary annotations
// beside its main Ingress and checks that the translation stays valid and
// deterministic, that the main route keeps serving the requests no
// condition takes, and that nothing but the main Ingress's route and the
// canary's routes of its path appear.
func FuzzCanaryAnnotations(f *testing.F) {
	f.Add("X-Canary", "", "", "canary", "30", "")
	f.Add("x-version", "v2", "^v2", "", "500", "1000")
	f.Add("X_Canary: x\r\nInjected", "always\r\nX: y", "(a+)+$", "a;b=c", "-5", "0")
	f.Add("x", "", `\pL|(?=a)|\1`, "Cookie", "99999999999", "1000001")
	f.Add("x", "\xff", "^(?i)é$", "a b", "100", "50")
	f.Fuzz(func(t *testing.T, header, value, pattern, cookie, weight, total string) {
		annotations := map[string]string{NginxAnnotationPrefix + "canary": "true"}
		for name, v := range map[string]string{
			"canary-by-header": header, "canary-by-header-value": value, "canary-by-header-pattern": pattern,
			"canary-by-cookie": cookie, "canary-weight": weight, "canary-weight-total": total,
		} {
			if v != "" {
				annotations[NginxAnnotationPrefix+name] = v
			}
		}
		main := canaryTestIngress("main", "web", nil, 1)
		c := canaryTestIngress("canary", "web-v2", annotations, 2)
		snap := &Snapshot{Ingresses: []*networkingv1.Ingress{c, main}}
		opts := goldenOptions
		opts.NginxCompat = true
		cfg := translateTwice(t, snap, opts) // gateway_fuzz_test.go
		routes := cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes
		last := routes[len(routes)-1]
		if last.HasConditions() || !strings.HasPrefix(last.Backend.Name, "shop/web:80") || last.Source.Name != "main" {
			t.Fatalf("the last route is %+v, want the main Ingress's route without conditions", last)
		}
		for _, r := range routes {
			if r.Path != "/" || r.Match != lbconfig.MatchPrefix {
				t.Errorf("route %+v is not the main Ingress's path", r)
			}
		}
	})
}

// canaryTestIngress is an Ingress of the nginx class routing
// shop.example.com/ to service, created on day.
func canaryTestIngress(name, service string, annotations map[string]string, day int) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Annotations: annotations,
			CreationTimestamp: metav1.Date(2024, 1, day, 0, 0, 0, 0, time.UTC)},
		Spec: networkingv1.IngressSpec{
			IngressClassName: new(DefaultNginxIngressClass),
			Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: new(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
}
