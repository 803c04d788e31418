package haproxy

import (
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// redirectSeeds are hostile and ordinary values for a redirect's URL,
// hostname and path.
var redirectSeeds = []struct {
	host, url, value string
	code             int32
}{
	{"shop.example.com", "https://new.example.org/a?b=c#d", "/new", 301},
	{"shop.example.com", "/app?x=%2F", "/v2/", 308},
	{"*.example.com", "http://[2001:db8::1]:8080/", "/", 307},
	{"evil.example.com' code 301\n    bind :1", "/a", "/b", 302},
	{"shop.example.com", "/a' code 301\n    bind :1 #", "/b", 302},
	{"shop.example.com", "/a", "/b%[src]%%", 303},
	{"shop.example.com", "/%[req.hdr(cookie)]", "/b", 303},
	{"shop.example.com", "https://a.example/${HOME}", "/b#c", 301},
	{"shop.example.com", "/a", "/b c", 301},
	{"shop.example.com", "https://a.example/\r\nX: y", "/b", 301},
	{"shop.example.com", "/a", "/b", 200},
}

func redirectConfig(host, url, value string, code int32) *lbconfig.Config {
	to := func(path string, m lbconfig.MatchType, rd lbconfig.Redirect) lbconfig.Route {
		rd.StatusCode = code
		return lbconfig.Route{Path: path, Match: m, Backend: lbconfig.BackendRef{Name: "b"}, Redirect: &rd}
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 8080, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: host, Routes: []lbconfig.Route{
				to("/", lbconfig.MatchExact, lbconfig.Redirect{URL: url}),
				to("/p", lbconfig.MatchPrefix, lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: value}}),
				to("/f", lbconfig.MatchPrefix, lbconfig.Redirect{Hostname: "other.example.com", Path: &lbconfig.RedirectPath{Type: lbconfig.ReplaceFullPath, Value: value}}),
			}}},
		}}}},
		Backends: []lbconfig.Backend{{Name: "b", Endpoints: []lbconfig.Endpoint{{Address: "127.0.0.1", Port: 9, Ready: true}}}},
	}
	cfg.Sort()
	return cfg
}

// FuzzRenderRedirect: a redirect RenderConfig accepts renders only lines
// of the grammar (no value breaks out of its quotes or adds a fetch).
func FuzzRenderRedirect(f *testing.F) {
	for _, s := range redirectSeeds {
		f.Add(s.host, s.url, s.value, s.code)
	}
	f.Fuzz(func(t *testing.T, host, url, value string, code int32) {
		r, err := RenderConfig(redirectConfig(host, url, value, code), RenderOptions{RuntimeDir: testRuntimeDir})
		if err != nil {
			return
		}
		checkGrammar(t, r)
	})
}

// TestRedirectSeedsWithHAProxy: every redirect seed RenderConfig accepts,
// HAProxy accepts too; the hostile ones are rejected.
func TestRedirectSeedsWithHAProxy(t *testing.T) {
	bin := haproxyBinary(t)
	accepted := 0
	for _, s := range redirectSeeds {
		r, err := RenderConfig(redirectConfig(s.host, s.url, s.value, s.code), goldenOptions(t))
		if err != nil {
			continue
		}
		accepted++
		checkGrammar(t, r)
		if err := checkWithHAProxy(t, bin, r); err != nil {
			t.Errorf("seed %q %q %q: %v", s.host, s.url, s.value, err)
		}
	}
	if accepted != 3 {
		t.Errorf("%d seeds rendered, want the 3 ordinary ones", accepted)
	}
}
