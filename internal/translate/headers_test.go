package translate

import (
	"bytes"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

func TestParseHeaderChanges(t *testing.T) {
	for _, tc := range []struct {
		in      string
		request bool
		want    string // set|add|remove, "" for an error
	}{
		{"set X-A: 1\nadd X-B: 2\nremove X-C", true, "X-A=1|X-B=2|X-C"},
		{"  SET  X-A :  a: b  \r\n\r\n", true, "X-A=a: b||"},
		{"set X-A:", true, "X-A=||"},
		{"set X-A: caf\u00e9", false, "X-A=caf\u00e9||"},
		{"set X-A: 1\r\nX-B: 2", true, ""},
		{"set X-A: a\rb", true, ""},
		{"set X-A: a\x00", true, ""},
		{"set X-A: a\x1b[31m", true, ""},
		{"set X-A 1", true, ""},
		{"set : 1", true, ""},
		{"set X\u00e9: 1", true, ""},
		{"set X-A: 1\nset x-a: 2", true, ""},
		{"put X-A: 1", true, ""},
		{"remove", true, ""},
		{"set Host: a.example.com", true, ""},
		{"set Transfer-Encoding: chunked", false, ""},
		{"set X-Real-IP: 1.2.3.4", true, ""},
		{"set X-Real-IP: 1.2.3.4", false, "X-Real-IP=1.2.3.4||"},
		{"set X-A: " + strings.Repeat("a", 2000), true, ""},
		{strings.Repeat("remove X-A\n", 40), true, ""},
		{"", true, ""},
		{"\n \n", true, ""},
	} {
		m, err := parseHeaderChanges(tc.in, tc.request)
		got := ""
		if err == nil {
			var set, add []string
			for _, h := range m.Set {
				set = append(set, h.Name+"="+h.Value)
			}
			for _, h := range m.Add {
				add = append(add, h.Name+"="+h.Value)
			}
			got = strings.Join(set, ",") + "|" + strings.Join(add, ",") + "|" + strings.Join(m.Remove, ",")
		}
		if tc.want == "" && err == nil {
			t.Errorf("parseHeaderChanges(%q) = %s, want an error", clipped(tc.in), got)
		} else if tc.want != "" && got != tc.want {
			t.Errorf("parseHeaderChanges(%q) = %q (%v), want %q", clipped(tc.in), got, err, tc.want)
		}
	}
}

func clipped(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func TestParseOrigins(t *testing.T) {
	for in, want := range map[string]string{
		"*":   "*",
		" * ": "*",
		"https://B.example.com, https://a.example.com,https://a.example.com": "https://a.example.com https://b.example.com",
		"https://*.example.com:8443":                                         "https://*.example.com:8443",
		"http://[2001:db8::1]:80":                                            "http://[2001:db8::1]:80",
		"":                                                                   "",
		",,":                                                                 "",
		"*, https://a.example.com":                                           "",
		"null":                                                               "",
		"https://a.example.com/":                                             "",
		"https://a.example.com?x":                                            "",
		"https://user@a.example.com":                                         "",
		"https://a%2eexample.com":                                            "",
		"https://\u00e4.example.com":                                         "",
		"https://*":                                                          "",
		"https://*.*.example.com":                                            "",
		"javascript:alert(1)":                                                "",
		"https://a.example.com\r\nX-Injected: 1":                             "",
	} {
		got, err := parseOrigins(in)
		if s := strings.Join(got, " "); s != want || (want == "") != (err != nil) {
			t.Errorf("parseOrigins(%q) = %q, %v; want %q", in, s, err, want)
		}
	}
}

// TestHugeHeaderValuesMakeShortProblems: as TestHugeValuesMakeShortProblems,
// for the header annotations, ours and ingress-nginx's.
func TestHugeHeaderValuesMakeShortProblems(t *testing.T) {
	huge := strings.Repeat("x", 500<<10)
	for _, key := range []string{
		AnnotationUpstreamHost, AnnotationRequestHeaders, AnnotationResponseHeaders, AnnotationCORSAllowOrigins,
		AnnotationCORSAllowMethods, AnnotationCORSAllowHeaders, AnnotationCORSExposeHeaders, AnnotationCORSAllowCredentials, AnnotationCORSMaxAge,
	} {
		t.Run(strings.TrimPrefix(key, AnnotationPrefix), func(t *testing.T) {
			annotations := map[string]string{key: huge}
			if key != AnnotationCORSAllowOrigins && strings.HasPrefix(key, AnnotationPrefix+"cors-") {
				annotations[AnnotationCORSAllowOrigins] = "*"
			}
			ing := hugeIngress(annotations, "web.example", "/")
			_, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, goldenOptions)
			checkShort(t, problems, "metadata.annotations["+key+"]")
		})
	}
	nginxOptions := goldenOptions
	nginxOptions.NginxCompat, nginxOptions.NginxIngressClass = true, DefaultIngressClass
	for _, name := range []string{"upstream-vhost", "x-forwarded-prefix", "enable-cors", "cors-allow-origin", "cors-allow-methods",
		"cors-allow-headers", "cors-expose-headers", "cors-allow-credentials", "cors-max-age"} {
		t.Run("nginx/"+name, func(t *testing.T) {
			annotations := map[string]string{NginxAnnotationPrefix + name: huge}
			if name != "enable-cors" && strings.HasPrefix(name, "cors-") {
				annotations[NginxAnnotationPrefix+"enable-cors"] = "true"
			}
			ing := hugeIngress(annotations, "web.example", "/")
			_, problems := Ingresses(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}}, nginxOptions)
			checkShort(t, problems, nginxField(name))
		})
	}
}

// FuzzHeaderAnnotations: whatever the header annotations hold, ours and
// ingress-nginx's, the config validates (no value that could end a field
// or frame a message gets through), and the translation is deterministic.
func FuzzHeaderAnnotations(f *testing.F) {
	f.Add("internal.example.com:8080", "set X-A: 1\nremove Cookie", "add X-Frame-Options: DENY", "https://*.example.com, http://localhost:3000", "GET, PUT", "true", "600", "backend.example.com", "/api", "https://app.example.com")
	f.Add("a\r\nb", "set X-A: 1\r\nX-B: 2", "set Content-Length: 0", "*, null", "GET\r\n", "yes", "-1", "$host", "/a\nb", "*")
	f.Add("[::1]:80", "add Set-Cookie: a=b; Path=/", "remove Server", "https://A.EXAMPLE.com:443", "*", "false", "0", "", "%[src]", "https://*.x.example.com:8443, ftp://x")
	f.Fuzz(func(t *testing.T, host, req, res, origins, methods, credentials, maxAge, vhost, prefix, nginxOrigins string) {
		ours := hugeIngress(map[string]string{
			AnnotationUpstreamHost: host, AnnotationRequestHeaders: req, AnnotationResponseHeaders: res,
			AnnotationCORSAllowOrigins: origins, AnnotationCORSAllowMethods: methods, AnnotationCORSAllowHeaders: methods,
			AnnotationCORSExposeHeaders: methods, AnnotationCORSAllowCredentials: credentials, AnnotationCORSMaxAge: maxAge,
		}, "web.example", "/")
		theirs := hugeIngress(map[string]string{
			NginxAnnotationPrefix + "upstream-vhost": vhost, NginxAnnotationPrefix + "x-forwarded-prefix": prefix,
			NginxAnnotationPrefix + "enable-cors": "true", NginxAnnotationPrefix + "cors-allow-origin": nginxOrigins,
			NginxAnnotationPrefix + "cors-allow-methods": methods, NginxAnnotationPrefix + "cors-allow-headers": methods,
			NginxAnnotationPrefix + "cors-expose-headers": methods, NginxAnnotationPrefix + "cors-allow-credentials": credentials,
			NginxAnnotationPrefix + "cors-max-age": maxAge,
		}, "nginx.example", "/")
		theirs.Name = "nginx"
		nginxOptions := goldenOptions
		nginxOptions.NginxCompat, nginxOptions.NginxIngressClass = true, DefaultIngressClass
		snap := &Snapshot{Ingresses: []*networkingv1.Ingress{ours, theirs}}
		cfg, problems := Ingresses(snap, nginxOptions)
		checkResult(t, cfg, problems)
		again, problemsAgain := Ingresses(snap, nginxOptions)
		if a, b := mustJSON(t, []any{cfg, problems}), mustJSON(t, []any{again, problemsAgain}); !bytes.Equal(a, b) {
			t.Fatalf("two translations differ:\n%s\n%s", a, b)
		}
	})
}
