package translate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/pkg/lbconfig"
)

func TestNginxHeaderNameAndValue(t *testing.T) {
	names := map[string]bool{
		"X-Frame-Options": true, "x_team": true, "A1": true,
		"": false, "Bad:Name": false, "X Team": false, "X-Team\r\n": false, "Caf\u00e9": false, "X\x00": false,
	}
	for name, want := range names {
		if got := isNginxHeaderName(name); got != want {
			t.Errorf("isNginxHeaderName(%q) = %v, want %v", name, got, want)
		}
	}
	values := map[string]bool{
		"DENY": true, "default-src 'self'; img-src *": true, "a $remote_addr ~^%": true,
		"": false, "a\r\nX-Injected: 1": false, "a\nb": false, "a\x00": false, "tab\there": false, "caf\u00e9": false, "\x7f": false,
	}
	for v, want := range values {
		if got := isNginxHeaderValue(v); got != want {
			t.Errorf("isNginxHeaderValue(%q) = %v, want %v", v, got, want)
		}
	}
}

// FuzzCustomHeaders translates an nginx Ingress whose custom-headers
// ConfigMap holds a fuzzed key and value (and a few fixed ones), beside a
// fuzzed response-headers of ours, with the fuzzed name allowed: the
// config is always valid, no header added holds a control character, and
// no more than lbconfig.MaxHeaderChanges are made.
func FuzzCustomHeaders(f *testing.F) {
	f.Add("X-Team", "checkout", "set X-Frame-Options: DENY", "shop/headers")
	f.Add("X-Team", "a\r\nX-Injected: 1", "", "headers")
	f.Add("Connection", "close", "remove X-Team", "other/headers")
	f.Add("X-Team", strings.Repeat("v", 2000), "add X-Team: 1", "shop/")
	f.Fuzz(func(t *testing.T, key, value, ours, ref string) {
		data := map[string]string{key: value, "X-Fixed": "1", "Not-Allowed": "2"}
		ann := map[string]string{NginxAnnotationPrefix + "custom-headers": ref}
		if ours != "" {
			ann[AnnotationResponseHeaders] = ours
		}
		snap := &Snapshot{
			Ingresses: []*networkingv1.Ingress{{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: ann},
				Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
					Host: "web.example.com",
					IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
						Paths: []networkingv1.HTTPIngressPath{{
							Path: "/", PathType: new(networkingv1.PathTypePrefix),
							Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
								Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
							}},
						}},
					}},
				}}},
			}},
			ConfigMaps: []*corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "headers"}, Data: data}},
		}
		opts := goldenOptions
		opts.NginxCompat, opts.NginxIngressClass = true, DefaultIngressClass
		opts.NginxAllowedResponseHeaders = []string{key, "X-Fixed"}
		cfg, problems := Ingresses(snap, opts)
		checkResult(t, cfg, problems)
		for _, lb := range cfg.LoadBalancers {
			for _, l := range lb.Listeners {
				for _, vh := range l.VirtualHosts {
					for _, r := range vh.Routes {
						checkAdded(t, r.ResponseHeaders)
					}
				}
			}
		}
	})
}

func checkAdded(t *testing.T, m *lbconfig.HeaderModifier) {
	t.Helper()
	if m == nil {
		return
	}
	if n := len(m.Set) + len(m.Add) + len(m.Remove); n > lbconfig.MaxHeaderChanges {
		t.Fatalf("%d header changes", n)
	}
	for _, h := range append(m.Set, m.Add...) {
		if strings.ContainsAny(h.Name+h.Value, "\r\n\x00") {
			t.Fatalf("header %q: %q holds a control character", h.Name, h.Value)
		}
	}
}
