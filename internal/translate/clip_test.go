package translate

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHugeValuesMakeShortProblems: a problem about a 500 KB annotation
// value, host or path names the object and the field in a message of
// bounded length; the value is not repeated whole in logs and Events.
func TestHugeValuesMakeShortProblems(t *testing.T) {
	huge := strings.Repeat("x", 500<<10)
	for _, key := range []string{
		AnnotationLoadBalancer, AnnotationListenPorts, AnnotationScale, AnnotationDNSName, AnnotationAffinity, AnnotationAffinityCookieName,
		AnnotationAffinityCookieMaxAge, AnnotationAffinityCookiePath, AnnotationAffinityCookieSameSite,
		AnnotationLoadBalance, AnnotationConnectTimeout, AnnotationResponseTimeout, AnnotationIdleTimeout,
		AnnotationRetries, AnnotationHealthFailures, AnnotationHealthEjection, AnnotationMaxBodySize,
		AnnotationBackendProtocol, AnnotationSSLPassthrough,
		AnnotationRedirectTo, AnnotationRedirectCode, AnnotationAppRoot, AnnotationFromToWWWRedirect, AnnotationServerAlias,
		AnnotationLimitRPS, AnnotationLimitRPM, AnnotationLimitConnections, AnnotationLimitBurstMultiplier,
		AnnotationLimitExemptSourceRange, AnnotationLimitStatusCode,
	} {
		t.Run(strings.TrimPrefix(key, AnnotationPrefix), func(t *testing.T) {
			annotations := map[string]string{key: huge}
			if strings.HasPrefix(key, AnnotationAffinityCookieName[:len(AnnotationAffinityCookieName)-4]) {
				annotations[AnnotationAffinity] = "cookie" // the cookie annotations need it
			}
			if _, ok := annotations[AnnotationLimitRPM]; !ok && strings.HasPrefix(key, AnnotationPrefix+"limit-") {
				annotations[AnnotationLimitRPM] = "60" // the options of a limit need one
			}
			ing := hugeIngress(annotations, "web.example", "/")
			_, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, goldenOptions)
			checkShort(t, problems, "metadata.annotations["+key+"]")
		})
	}
	nginxOptions := goldenOptions
	nginxOptions.NginxCompat, nginxOptions.NginxIngressClass = true, DefaultIngressClass
	for _, name := range []string{
		"ssl-redirect", "force-ssl-redirect", "preserve-trailing-slash", "ssl-passthrough", "backend-protocol",
		"proxy-body-size", "proxy-connect-timeout", "proxy-read-timeout", "proxy-next-upstream-tries", "proxy-next-upstream",
		"load-balance", "affinity", "affinity-mode", "upstream-hash-by", "session-cookie-name", "session-cookie-max-age",
		"session-cookie-expires", "session-cookie-path", "session-cookie-samesite", "canary",
		"configuration-snippet", "auth-url", "auth-tls-secret", "enable-global-auth", "whitelist-source-range",
		"allowlist-source-range", "denylist-source-range", "satisfy", "enable-modsecurity", "modsecurity-transaction-id",
		"proxy-ssl-verify", "rewrite-target", "limit-rps", "limit-rpm", "limit-connections", "limit-burst-multiplier",
		"limit-whitelist", "limit-allowlist", "limit-rate", "no-such-annotation",
		"permanent-redirect", "permanent-redirect-code", "temporal-redirect", "app-root", "from-to-www-redirect", "server-alias",
	} {
		t.Run("nginx/"+name, func(t *testing.T) {
			annotations := map[string]string{NginxAnnotationPrefix + name: huge}
			if strings.HasPrefix(name, "session-cookie-") {
				annotations[NginxAnnotationPrefix+"affinity"] = "cookie"
			}
			ing := hugeIngress(annotations, "web.example", "/")
			_, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, nginxOptions)
			checkShort(t, problems, nginxField(name))
		})
	}
	// Annotation names in manifests are not checked by an API server.
	for _, name := range []string{huge, "a\nb]\x00c", "r\u2028\u00e9sum\u00e9", huge + "\u2028"} {
		t.Run("nginx/odd-name", func(t *testing.T) {
			ing := hugeIngress(map[string]string{NginxAnnotationPrefix + name: "x"}, "web.example", "/")
			_, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, nginxOptions)
			checkShort(t, problems, nginxField(name))
			if f := nginxField(name); strings.ContainsFunc(f, func(r rune) bool { return r < ' ' || r > '~' && r != '…' }) {
				t.Errorf("field %.300q is not one printable line", f)
			}
		})
	}
	for _, tc := range []struct{ name, host, path, field string }{
		{"host", huge + ".example", "/", "spec.rules[0].host"},
		{"path", "web.example", "/" + huge + "//", "spec.rules[0].http.paths[0].path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ing := hugeIngress(nil, tc.host, tc.path)
			_, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, goldenOptions)
			checkShort(t, problems, tc.field)
		})
	}
}

func hugeIngress(annotations map[string]string, host, path string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Annotations: annotations},
		Spec: networkingv1.IngressSpec{
			IngressClassName: new(DefaultIngressClass),
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: new(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
}

// checkShort fails t unless there is a problem about field of shop/web,
// and every problem's message is at most 1 KiB long.
func checkShort(t *testing.T, problems []Problem, field string) {
	t.Helper()
	found := false
	for _, p := range problems {
		if len(p.Field) > 1024 || len(p.Message) > 1024 {
			t.Errorf("%s: field of %d bytes, message of %d bytes (want at most 1 KiB): %.300s", p.Object, len(p.Field), len(p.Message), p.Message)
		}
		if p.Object.Namespace == "shop" && p.Object.Name == "web" && p.Field == field {
			found = true
		}
	}
	if !found {
		t.Errorf("no problem about shop/web %s in %v", field, problems)
	}
}
