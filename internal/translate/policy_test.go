package translate

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzPolicyAnnotations sets fuzzed values on every policy annotation and
// checks that the translation stays valid: bad values are problems, never
// an invalid config or a panic.
func FuzzPolicyAnnotations(f *testing.F) {
	f.Add("cookie", "route", "3600", "/a", "Lax", "least_request", "2s", "90", "5m", "3", "2", "10s", "8m")
	f.Add("source-ip", "a=b", "-1", "x;y", "?", "fastest", "soon", "1e9", "0", "-1", "0", "0s", "1m2")
	f.Add("", "", "", "", "", "", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, affinity, name, maxAge, path, sameSite, lb, connect, response, idle, retries, failures, ejection, size string) {
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Annotations: map[string]string{
				AnnotationAffinity: affinity, AnnotationAffinityCookieName: name, AnnotationAffinityCookieMaxAge: maxAge,
				AnnotationAffinityCookiePath: path, AnnotationAffinityCookieSameSite: sameSite, AnnotationLoadBalance: lb,
				AnnotationConnectTimeout: connect, AnnotationResponseTimeout: response, AnnotationIdleTimeout: idle,
				AnnotationRetries: retries, AnnotationHealthFailures: failures, AnnotationHealthEjection: ejection,
				AnnotationMaxBodySize: size, AnnotationBackendProtocol: lb,
			}},
			Spec: networkingv1.IngressSpec{
				IngressClassName: new(DefaultIngressClass),
				DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
				}},
			},
		}
		cfg, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, goldenOptions)
		checkResult(t, cfg, problems)
	})
}

func TestParseDurationAndSize(t *testing.T) {
	for in, want := range map[string]time.Duration{"90": 90 * time.Second, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond, "24h": 24 * time.Hour} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "0s", "25h", "86401", "1.5", "soon", "9223372036854775807"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
	for in, want := range map[string]time.Duration{"48h": 48 * time.Hour, "172800": 48 * time.Hour, "9600h": maxCookieAge} {
		if got, err := parseDurationUpTo(in, maxCookieAge, "9600h"); err != nil || got != want {
			t.Errorf("parseDurationUpTo(%q, 400 days) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"9601h", "34560001", "0"} {
		if got, err := parseDurationUpTo(in, maxCookieAge, "9600h"); err == nil {
			t.Errorf("parseDurationUpTo(%q, 400 days) = %v, want an error", in, got)
		}
	}
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "8m": 8 << 20, "8M": 8 << 20, "512Ki": 512 << 10, "2g": 2 << 30, "1Gi": 1 << 30, "10k": 10 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5m", "1mb", "m", "1Ti", "2000g", "1 m"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %v, want an error", in, got)
		}
	}
}
