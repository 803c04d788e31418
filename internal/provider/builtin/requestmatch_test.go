package builtin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// requestWith is a request to host "any" with method, target and header,
// as net/http hands it to the handler.
func requestWith(method, target string, h http.Header) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		panic(err)
	}
	return &http.Request{Method: method, Host: "any", URL: u, RequestURI: target, Header: h}
}

// gatewayListener has the routes of Gateway API's method and query
// matching conformance tests, without a route that serves every request
// of a path: unmatched requests fall through to "/", then 404.
func gatewayListener(t *testing.T) *portRoutes {
	t.Helper()
	q := func(kv ...string) []lbconfig.QueryParamMatch {
		var out []lbconfig.QueryParamMatch
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, lbconfig.QueryParamMatch{Name: kv[i], Type: lbconfig.HeaderExact, Value: kv[i+1]})
		}
		return out
	}
	hdr := func(v string) []lbconfig.HeaderMatch {
		return []lbconfig.HeaderMatch{{Name: "version", Type: lbconfig.HeaderExact, Value: v}}
	}
	r := func(path, backend string, change func(*lbconfig.Route)) lbconfig.Route {
		rt := lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: backend}}
		change(&rt)
		return rt
	}
	routes := []lbconfig.Route{
		r("/", "v1", func(rt *lbconfig.Route) { rt.Method = "POST" }),
		r("/", "v2", func(rt *lbconfig.Route) { rt.Method = "GET" }),
		r("/path1", "v1", func(rt *lbconfig.Route) { rt.Method = "GET" }),
		r("/", "v2", func(rt *lbconfig.Route) { rt.Method, rt.Headers = "PUT", hdr("one") }),
		r("/path2", "v3", func(rt *lbconfig.Route) { rt.Method, rt.Headers = "POST", hdr("two") }),
		r("/path5", "v1", func(rt *lbconfig.Route) {}),
		r("/", "v2", func(rt *lbconfig.Route) { rt.Method = "PATCH" }),
		r("/", "v3", func(rt *lbconfig.Route) { rt.Headers = hdr("four") }),
		r("/", "v1", func(rt *lbconfig.Route) { rt.QueryParams = q("animal", "whale") }),
		r("/", "v3", func(rt *lbconfig.Route) { rt.QueryParams = q("animal", "dolphin", "color", "blue") }),
		r("/", "v3", func(rt *lbconfig.Route) { rt.QueryParams = q("ANIMAL", "Whale") }),
		r("/q", "v2", func(rt *lbconfig.Route) {
			rt.QueryParams = []lbconfig.QueryParamMatch{{Name: "n", Type: lbconfig.HeaderRegularExpression, Value: "^[0-9]{1,3}$"}}
		}),
	}
	return compileValidRoutes(t, routes, "v1", "v2", "v3")
}

func TestRequestMatchesFallThrough(t *testing.T) {
	pr := gatewayListener(t)
	for _, tc := range []struct {
		method, target, version string
		want                    string // "" is no route
	}{
		{"POST", "/", "", "v1"},
		{"GET", "/", "", "v2"},
		{"HEAD", "/", "", ""},
		{"get", "/", "", ""},
		{"GET", "/path1", "", "v1"},
		{"PUT", "/", "one", "v2"},
		{"PUT", "/", "", ""},
		{"POST", "/path2", "two", "v3"},
		{"POST", "/path2", "", "v1"}, // falls through to "/" POST
		{"GET", "/path2/x", "two", "v2"},
		{"PATCH", "/path5", "", "v1"},
		{"PATCH", "/", "four", "v2"},
		{"DELETE", "/", "four", "v3"},
		{"DELETE", "/?animal=whale", "", "v1"},
		{"DELETE", "/?animal=whale&otherparam=irrelevant", "", "v1"},
		{"DELETE", "/?animal=dolphin&color=blue", "", "v3"},
		{"DELETE", "/?animal=dolphin&color=yellow", "", ""},
		{"DELETE", "/?ANIMAL=Whale", "", "v3"},
		{"DELETE", "/?animal=whaledolphin", "", ""},
		{"DELETE", "/?animal=whale&animal=dolphin", "", "v1"},
		{"DELETE", "/?animal=dolphin&animal=whale", "", ""},
		{"DELETE", "/?animal=%77hale", "", ""},
		{"DELETE", "/?animal=whale%00", "", ""},
		{"DELETE", "/?x=1;animal=whale", "", "v1"},
		{"DELETE", "/q?n=42", "", "v2"},
		{"DELETE", "/q?n=4242", "", ""},
		{"DELETE", "/q?n=42&n=x", "", "v2"},
		{"DELETE", "/q?" + strings.Repeat("a=1&", 50000) + "n=7", "", "v2"},
		{"DELETE", "/q?" + strings.Repeat("n", 100000) + "=1", "", ""},
	} {
		h := http.Header{}
		if tc.version != "" {
			h.Set("Version", tc.version)
		}
		r := requestWith(tc.method, tc.target, h)
		path, _, _ := strings.Cut(tc.target, "?")
		rt := pr.routeForRequest(r, path)
		got := ""
		if rt != nil {
			got = rt.backend.name
		}
		if got != tc.want {
			t.Errorf("%s %.60s (version %q): got %q, want %q", tc.method, tc.target, tc.version, got, tc.want)
		}
	}
}

// TestRequestMatchesHandOff: the fast path hands over a request whose
// path picks a route with conditions, and keeps the others.
func TestRequestMatchesHandOff(t *testing.T) {
	pr := gatewayListener(t)
	if rt := pr.routeFor("any", "/path5/x"); rt == nil || rt.split != nil {
		t.Errorf("/path5/x: route %+v, want the plain route, served on the fast path", rt)
	}
	if rt := pr.routeFor("any", "/path2"); rt == nil || rt.split == nil {
		t.Errorf("/path2: route %+v, want a route with conditions, handed over", rt)
	}
}

func TestQueryMatchAllocations(t *testing.T) {
	pr := gatewayListener(t)
	r := requestWith("DELETE", "/q?a=1&b=2;n=123", http.Header{})
	if allocs := testing.AllocsPerRun(1000, func() { _ = pr.routeForRequest(r, "/q") }); allocs != 0 {
		t.Errorf("routeForRequest allocates %.1f times", allocs)
	}
}
