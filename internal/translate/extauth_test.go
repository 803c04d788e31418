package translate

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestHugeExtAuthValuesMakeShortProblems: a problem about a 500 KB value
// of an external authentication annotation, ours or ingress-nginx's,
// names the object and the field in a message of bounded length.
func TestHugeExtAuthValuesMakeShortProblems(t *testing.T) {
	huge := strings.Repeat("x", 500<<10)
	for _, key := range extAuthAnnotations {
		t.Run(strings.TrimPrefix(key, AnnotationPrefix), func(t *testing.T) {
			annotations := map[string]string{key: huge}
			if key != AnnotationAuthURL {
				annotations[AnnotationAuthURL] = "http://10.0.0.1/auth" // the options need it
			}
			ing := hugeIngress(annotations, "web.example", "/")
			_, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, goldenOptions)
			checkShort(t, problems, "metadata.annotations["+key+"]")
		})
	}
	nginxOptions := goldenOptions
	nginxOptions.NginxCompat, nginxOptions.NginxIngressClass = true, DefaultIngressClass
	for _, name := range []string{
		"auth-url", "auth-method", "auth-signin", "auth-signin-redirect-param", "auth-response-headers",
		"auth-request-redirect", "auth-proxy-set-headers", "auth-always-set-cookie", "auth-cache-key", "auth-keepalive",
	} {
		t.Run("nginx/"+name, func(t *testing.T) {
			annotations := map[string]string{NginxAnnotationPrefix + name: huge}
			if name != "auth-url" {
				annotations[NginxAnnotationPrefix+"auth-url"] = "http://10.0.0.1/auth"
			}
			ing := hugeIngress(annotations, "web.example", "/")
			_, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, nginxOptions)
			checkShort(t, problems, nginxField(name))
		})
	}
}
