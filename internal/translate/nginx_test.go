package translate

import (
	"bytes"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzNginxAnnotations sets two fuzzed nginx annotations, and one of ours
// with a fuzzed value, on an Ingress of the nginx class and checks that
// the translation stays valid and deterministic, leaves the Ingress alone,
// and never serves an Ingress it refuses.
func FuzzNginxAnnotations(f *testing.F) {
	f.Add("proxy-body-size", "8m", "affinity", "cookie", "session-cookie-name", "route")
	f.Add("whitelist-source-range", "0.0.0.0/0,::/0", "backend-protocol", "grpc", "max-body-size", "1m")
	f.Add("Auth-Url", "https://auth", "force-ssl-redirect", "true", "ssl-redirect", "false")
	f.Add("proxy-read-timeout", "99999999999", "proxy-next-upstream", "off", "response-timeout", "1s")
	f.Add("canary", "true", "upstream-hash-by", "$remote_addr", "affinity", "source-ip")
	f.Add("", "", "\x00]", "\n", "", "")
	f.Fuzz(func(t *testing.T, name1, value1, name2, value2, ours, oursValue string) {
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Annotations: map[string]string{
				NginxAnnotationPrefix + name1: value1,
				NginxAnnotationPrefix + name2: value2,
				AnnotationPrefix + ours:       oursValue,
			}},
			Spec: networkingv1.IngressSpec{
				IngressClassName: new(DefaultNginxIngressClass),
				DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
				}},
				TLS: []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}},
				Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: new(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
						Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
					}}},
				}}}},
			},
		}
		snap := &Snapshot{Ingresses: []*networkingv1.Ingress{ing}}
		before := mustJSON(t, snap)
		opts := goldenOptions
		opts.NginxCompat = true
		cfg, problems := Ingresses(snap, opts)
		checkResult(t, cfg, problems)
		checkRefusedNotServed(t, cfg, problems)
		first := mustJSON(t, []any{cfg, problems})
		cfg, problems = Ingresses(snap, opts)
		if again := mustJSON(t, []any{cfg, problems}); !bytes.Equal(first, again) {
			t.Fatalf("two translations differ:\n%s\n%s", first, again)
		}
		if after := mustJSON(t, snap); !bytes.Equal(before, after) {
			t.Fatal("Ingresses modified its snapshot")
		}
	})
}

func TestNginxValues(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "8m": 8 << 20, "8M": 8 << 20, "512k": 512 << 10, "2g": 2 << 30, "1024g": 1 << 40} {
		if got, err := parseNginxSize(in); err != nil || got != want {
			t.Errorf("parseNginxSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "+1", "1.5m", "1mb", "8b", "8Mi", "m", "1025g", "1 m"} {
		if got, err := parseNginxSize(in); err == nil {
			t.Errorf("parseNginxSize(%q) = %v, want an error", in, got)
		}
	}
	for in, want := range map[string]bool{
		"0.0.0.0/0,::/0": true, " ::/0 , 0.0.0.0/0 ,10.0.0.0/8": true, "0.0.0.0/0": false, "::/0": false,
		"::ffff:0.0.0.0/0,0.0.0.0/0": true, "10.0.0.0/8,2001:db8::/32": false, "0.0.0.0/1,128.0.0.0/1,::/0": false,
	} {
		ranges, err := parseSourceRanges(in)
		if err != nil || allowsEveryAddress(ranges) != want {
			t.Errorf("allowsEveryAddress(%q) = %v, %v; want %v", in, allowsEveryAddress(ranges), err, want)
		}
	}
	for _, in := range []string{"", "0.0.0.0/0,", "10.0.0.0/33", "office", "0.0.0.0/0,::/0,x"} {
		if got, err := parseSourceRanges(in); err == nil {
			t.Errorf("parseSourceRanges(%q) = %v, want an error", in, got)
		}
	}
}
