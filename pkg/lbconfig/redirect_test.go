package lbconfig

import (
	"net/url"
	"strings"
	"testing"
)

func TestValidateRedirect(t *testing.T) {
	const route = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"
	const wildRoute = "loadBalancers[0].listeners[0].virtualHosts[1].routes[0]"
	for name, tc := range map[string]struct {
		rd    *Redirect
		wild  bool // on *.example.com's Exact route instead of foo's Prefix route
		https bool // with an HTTPSRedirect too
		field string
	}{
		"url":                 {rd: &Redirect{URL: "https://example.org/a?b=c#d", StatusCode: 301}},
		"url path":            {rd: &Redirect{URL: "/app", StatusCode: 302}},
		"url ip port":         {rd: &Redirect{URL: "http://[2001:db8::1]:8080/", StatusCode: 307}},
		"url percent":         {rd: &Redirect{URL: "https://example.org/%C3%A9", StatusCode: 308}},
		"url upper host":      {rd: &Redirect{URL: "https://Example.ORG/", StatusCode: 301}},
		"scheme":              {rd: &Redirect{Scheme: "https", StatusCode: 301}},
		"hostname port":       {rd: &Redirect{Hostname: "bar.example.com", Port: 8443, StatusCode: 303}},
		"full path":           {rd: &Redirect{Path: &RedirectPath{Type: ReplaceFullPath, Value: "/x"}, StatusCode: 302}},
		"prefix path":         {rd: &Redirect{Path: &RedirectPath{Type: ReplacePrefixMatch, Value: "/x/"}, StatusCode: 302}},
		"wild relative":       {rd: &Redirect{Path: &RedirectPath{Type: ReplaceFullPath, Value: "/x"}, StatusCode: 302}, wild: true},
		"wild hostname":       {rd: &Redirect{Hostname: "example.com", Scheme: "https", StatusCode: 302}, wild: true},
		"wild scheme no host": {rd: &Redirect{Scheme: "https", StatusCode: 302}, wild: true, field: wildRoute + ".redirect.hostname"},
		"wild port no host":   {rd: &Redirect{Port: 8080, StatusCode: 302}, wild: true, field: wildRoute + ".redirect.hostname"},
		"wild prefix":         {rd: &Redirect{Path: &RedirectPath{Type: ReplacePrefixMatch, Value: "/x"}, StatusCode: 302}, wild: true, field: wildRoute + ".redirect.path.type"},
		"code 200":            {rd: &Redirect{URL: "/a", StatusCode: 200}, field: route + ".redirect.statusCode"},
		"code 300":            {rd: &Redirect{URL: "/a", StatusCode: 300}, field: route + ".redirect.statusCode"},
		"code 0":              {rd: &Redirect{URL: "/a"}, field: route + ".redirect.statusCode"},
		"both":                {rd: &Redirect{URL: "/a", StatusCode: 301}, https: true, field: route + ".redirect"},
		"url and host":        {rd: &Redirect{URL: "/a", Hostname: "a.example.com", StatusCode: 301}, field: route + ".redirect"},
		"changes nothing":     {rd: &Redirect{StatusCode: 301}, field: route + ".redirect"},
		"url crlf":            {rd: &Redirect{URL: "https://a.example/\r\nSet-Cookie: x=1", StatusCode: 301}, field: route + ".redirect.url"},
		"url lf":              {rd: &Redirect{URL: "/a\nb", StatusCode: 301}, field: route + ".redirect.url"},
		"url nul":             {rd: &Redirect{URL: "/a\x00", StatusCode: 301}, field: route + ".redirect.url"},
		"url space":           {rd: &Redirect{URL: "/a b", StatusCode: 301}, field: route + ".redirect.url"},
		"url quote":           {rd: &Redirect{URL: "/a'b", StatusCode: 301}, field: route + ".redirect.url"},
		"url dquote":          {rd: &Redirect{URL: `/a"b`, StatusCode: 301}, field: route + ".redirect.url"},
		"url backslash":       {rd: &Redirect{URL: `/\evil.example`, StatusCode: 301}, field: route + ".redirect.url"},
		"url non-ascii":       {rd: &Redirect{URL: "/é", StatusCode: 301}, field: route + ".redirect.url"},
		"url bad percent":     {rd: &Redirect{URL: "/a%zz", StatusCode: 301}, field: route + ".redirect.url"},
		"url percent at end":  {rd: &Redirect{URL: "/a%4", StatusCode: 301}, field: route + ".redirect.url"},
		"url scheme-relative": {rd: &Redirect{URL: "//evil.example/", StatusCode: 301}, field: route + ".redirect.url"},
		"url javascript":      {rd: &Redirect{URL: "javascript:alert(1)", StatusCode: 301}, field: route + ".redirect.url"},
		"url relative":        {rd: &Redirect{URL: "a/b", StatusCode: 301}, field: route + ".redirect.url"},
		"url userinfo":        {rd: &Redirect{URL: "https://good.example@evil.example/", StatusCode: 301}, field: route + ".redirect.url"},
		"url no host":         {rd: &Redirect{URL: "https:///a", StatusCode: 301}, field: route + ".redirect.url"},
		"url bad port":        {rd: &Redirect{URL: "https://a.example:99999/", StatusCode: 301}, field: route + ".redirect.url"},
		"url bad host":        {rd: &Redirect{URL: "https://a_b.example/", StatusCode: 301}, field: route + ".redirect.url"},
		"url too long":        {rd: &Redirect{URL: "/" + strings.Repeat("a", MaxRedirectURL), StatusCode: 301}, field: route + ".redirect.url"},
		"scheme ftp":          {rd: &Redirect{Scheme: "ftp", StatusCode: 301}, field: route + ".redirect.scheme"},
		"hostname wildcard":   {rd: &Redirect{Hostname: "*.example.com", StatusCode: 301}, field: route + ".redirect.hostname"},
		"hostname crlf":       {rd: &Redirect{Hostname: "a.example\r\nX: y", StatusCode: 301}, field: route + ".redirect.hostname"},
		"port":                {rd: &Redirect{Port: 70000, StatusCode: 301}, field: route + ".redirect.port"},
		"path type":           {rd: &Redirect{Path: &RedirectPath{Type: "Regex", Value: "/x"}, StatusCode: 301}, field: route + ".redirect.path.type"},
		"path relative":       {rd: &Redirect{Path: &RedirectPath{Type: ReplaceFullPath, Value: "x"}, StatusCode: 301}, field: route + ".redirect.path.value"},
		"path query":          {rd: &Redirect{Path: &RedirectPath{Type: ReplaceFullPath, Value: "/x?y"}, StatusCode: 301}, field: route + ".redirect.path.value"},
		"path double slash":   {rd: &Redirect{Path: &RedirectPath{Type: ReplaceFullPath, Value: "//x"}, StatusCode: 301}, field: route + ".redirect.path.value"},
		"path crlf":           {rd: &Redirect{Path: &RedirectPath{Type: ReplaceFullPath, Value: "/x\r\nY: z"}, StatusCode: 301}, field: route + ".redirect.path.value"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			vh := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0]
			if tc.wild {
				vh = &c.LoadBalancers[0].Listeners[0].VirtualHosts[1]
			}
			vh.Routes[0].Redirect = tc.rd
			if tc.https {
				vh.Routes[0].HTTPSRedirect = &HTTPSRedirect{Port: 443, StatusCode: 308}
				c.LoadBalancers[0].Listeners = append(c.LoadBalancers[0].Listeners, Listener{Port: 443, Protocol: ProtocolHTTPS})
			}
			err := checkField(t, c, tc.field)
			if err != nil && strings.ContainsAny(err.Error(), "\r\n\x00") {
				t.Errorf("error %q holds a line break or NUL", err)
			}
		})
	}
}

func TestRedirectBase(t *testing.T) {
	for _, tc := range []struct {
		rd    Redirect
		vhost string
		proto Protocol
		port  int32
		want  string
	}{
		{Redirect{}, "a.example", ProtocolHTTP, 80, "http://a.example"},
		{Redirect{}, "a.example", ProtocolHTTP, 8080, "http://a.example:8080"},
		{Redirect{}, "a.example", ProtocolHTTPS, 443, "https://a.example"},
		{Redirect{}, "a.example", ProtocolHTTPS, 8443, "https://a.example:8443"},
		{Redirect{Scheme: "https"}, "a.example", ProtocolHTTP, 8080, "https://a.example"},
		{Redirect{Scheme: "http"}, "a.example", ProtocolHTTPS, 443, "http://a.example"},
		{Redirect{Scheme: "https", Port: 8443}, "a.example", ProtocolHTTP, 80, "https://a.example:8443"},
		{Redirect{Port: 443}, "a.example", ProtocolHTTP, 80, "http://a.example:443"},
		{Redirect{Hostname: "b.example"}, "a.example", ProtocolHTTP, 80, "http://b.example"},
		{Redirect{Hostname: "b.example"}, "*.example", ProtocolHTTP, 80, "http://b.example"},
		{Redirect{}, "*.example", ProtocolHTTP, 80, ""},
		{Redirect{}, "", ProtocolHTTPS, 443, ""},
	} {
		if got := RedirectBase(&tc.rd, tc.vhost, tc.proto, tc.port); got != tc.want {
			t.Errorf("RedirectBase(%+v, %q, %s, %d) = %q, want %q", tc.rd, tc.vhost, tc.proto, tc.port, got, tc.want)
		}
	}
}

func TestReplacePrefix(t *testing.T) {
	for _, tc := range []struct{ path, prefix, value, want string }{
		{"/old/a", "/old", "/new", "/new/a"},
		{"/old", "/old", "/new", "/new"},
		{"/old/", "/old", "/new", "/new/"},
		{"/old/a", "/old", "/", "/a"},
		{"/old", "/old", "/", "/"},
		{"/old/a", "/old", "/new/", "/new/a"},
		{"/a/b", "", "/new", "/new/a/b"},
		{"/", "", "/new", "/new"},
	} {
		if got := ReplacePrefix(tc.path, tc.prefix, tc.value); got != tc.want {
			t.Errorf("ReplacePrefix(%q, %q, %q) = %q, want %q", tc.path, tc.prefix, tc.value, got, tc.want)
		}
	}
}

func TestDiffRedirectIsStructural(t *testing.T) {
	old, new := validConfig(), validConfig()
	new.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Redirect = &Redirect{URL: "/a", StatusCode: 302}
	if ch := Diff(old, new); !ch.Structure {
		t.Errorf("Diff = %+v, want a structural change", ch)
	}
}

// FuzzCheckRedirectURL: whatever CheckRedirectURL accepts is short,
// printable ASCII with nothing that could end a header or a quoted
// configuration word, and a path or an http(s) URL with a host.
func FuzzCheckRedirectURL(f *testing.F) {
	for _, s := range []string{"/app", "https://a.example/x?y#z", "//evil", "http://a\r\nb", "https://a.example:0/", "/%zz", "https://u@h/", "HTTPS://A.EXAMPLE/", "http://[::1]:80/", "/a'b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckRedirectURL(s) != nil {
			return
		}
		if len(s) > MaxRedirectURL || strings.ContainsAny(s, "\"'\\<>^`{|} ") {
			t.Fatalf("accepted %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				t.Fatalf("accepted %q: byte %#x", s, s[i])
			}
		}
		if strings.HasPrefix(s, "/") {
			if strings.HasPrefix(s, "//") {
				t.Fatalf("accepted %q, which a client reads as a host", s)
			}
			return
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			t.Fatalf("accepted %q: %+v, %v", s, u, err)
		}
	})
}
