package translate

import (
	"slices"
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
	f.Add("upstream-hash-by", "$host${request_uri}-v1", "proxy-send-timeout", "30", "hash-by", "header:x-user,text:a")
	f.Add("affinity-canary-behavior", "sticky", "load-balance", "ewma", "send-timeout", "-1")
	f.Add("limit-rps", "5", "limit-whitelist", "10.0.0.0/8", "limit-rpm", "60")
	f.Add("limit-connections", "1000000", "limit-burst-multiplier", "1000000", "limit-exempt-source-range", "::/0")
	f.Add("proxy-ssl-verify", "on", "proxy-ssl-secret", "shop/ca", "backend-protocol", "GRPCS")
	f.Add("proxy-ssl-protocols", "TLSv1.3 SSLv3", "proxy-ssl-server-name", "on", "backend-tls-name", "web.shop.svc")
	f.Add("default-backend", "web", "custom-http-errors", "404, 503,599", "error-backend", "web:80")
	f.Add("custom-http-errors", "503", "default-backend", "web:http", "error-statuses", "400,400")
	f.Add("auth-url", "http://10.0.0.1/auth", "auth-response-headers", "X-User,Content-Length", "auth-signin", "https://l/\r\n")
	f.Add("auth-signin", "https://l/start", "auth-cache-key", "$x", "auth-timeout", "0")
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
		opts := goldenOptions
		opts.NginxCompat = true
		checkTranslations(t, &Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, opts)
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

// TestNginxClassKinds: which Ingresses are read as ingress-nginx's,
// whatever the order of the IngressClasses.
func TestNginxClassKinds(t *testing.T) {
	class := func(name, controller string, isDefault bool) *networkingv1.IngressClass {
		ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		if isDefault {
			ic.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
		}
		return ic
	}
	byName := func(name string) *networkingv1.Ingress {
		return &networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: &name}}
	}
	byAnnotation := func(name string) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{legacyClassAnnotation: name}}}
	}
	noClass := &networkingv1.Ingress{}
	on := withDefaults(Options{NginxCompat: true})
	for _, tc := range []struct {
		name    string
		opts    Options
		classes []*networkingv1.IngressClass
		ing     *networkingv1.Ingress
		want    ingressKind
	}{
		{"off", withDefaults(Options{}), nil, byName("nginx"), notOurs},
		{"no object", on, nil, byName("nginx"), nginxIngress},
		{"annotation", on, nil, byAnnotation("nginx"), nginxIngress},
		{"ingress-nginx's", on, []*networkingv1.IngressClass{class("nginx", NginxControllerName, false)}, byName("nginx"), nginxIngress},
		{"ours by controller", on, []*networkingv1.IngressClass{class("nginx", DefaultControllerName, false)}, byName("nginx"), nginxIngress},
		{"foreign", on, []*networkingv1.IngressClass{class("nginx", "nginx.org/ingress-controller", false)}, byName("nginx"), notOurs},
		{"foreign and ingress-nginx's", on, []*networkingv1.IngressClass{
			class("nginx", "nginx.org/ingress-controller", false), class("nginx", NginxControllerName, false),
		}, byName("nginx"), nginxIngress},
		{"our class", on, nil, byName(DefaultIngressClass), ourIngress},
		{"no class, nginx default", on, []*networkingv1.IngressClass{class("nginx", NginxControllerName, true)}, noClass, notOurs},
		{"no class, our default", on, []*networkingv1.IngressClass{class("mine", DefaultControllerName, true)}, noClass, ourIngress},
		{"no class, ours named nginx default", on, []*networkingv1.IngressClass{class("nginx", DefaultControllerName, true)}, noClass, nginxIngress},
		{"nginx class is --ingress-class", withDefaults(Options{NginxCompat: true, NginxIngressClass: DefaultIngressClass}), nil, byName(DefaultIngressClass), nginxIngress},
	} {
		for _, reverse := range []bool{false, true} {
			classes := slices.Clone(tc.classes)
			if reverse {
				slices.Reverse(classes)
			}
			if got := newClassifier(classes, tc.opts, &problems{}).kind(tc.ing); got != tc.want {
				t.Errorf("%s (reversed %v): kind %d, want %d", tc.name, reverse, got, tc.want)
			}
		}
	}
}
