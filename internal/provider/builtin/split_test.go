package builtin

import (
	"net/http"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// canaryListener has the routes of a canary on "/": header always,
// header never, header regex, cookie always and a 30/70 split.
func canaryListener(t *testing.T) *portRoutes {
	t.Helper()
	canary := lbconfig.BackendRef{Name: "canary"}
	main := lbconfig.BackendRef{Name: "main"}
	routes := []lbconfig.Route{
		{Path: "/", Match: lbconfig.MatchPrefix, Backend: canary, Headers: []lbconfig.HeaderMatch{{Name: "x-canary", Type: lbconfig.HeaderExact, Value: "always"}}},
		{Path: "/", Match: lbconfig.MatchPrefix, Backend: main, Headers: []lbconfig.HeaderMatch{{Name: "x-canary", Type: lbconfig.HeaderExact, Value: "never"}}},
		{Path: "/", Match: lbconfig.MatchPrefix, Backend: canary, Headers: []lbconfig.HeaderMatch{{Name: "x-version", Type: lbconfig.HeaderRegularExpression, Value: "^v2"}}},
		{Path: "/", Match: lbconfig.MatchPrefix, Backend: canary, Cookies: []lbconfig.CookieMatch{{Name: "canary", Value: "always"}}},
		{Path: "/", Match: lbconfig.MatchPrefix, Backend: main, Backends: []lbconfig.WeightedBackend{{Name: "canary", Weight: 30}, {Name: "main", Weight: 70}}},
	}
	return compileValidRoutes(t, routes, "canary", "main")
}

func TestSplitPicksRoute(t *testing.T) {
	pr := canaryListener(t)
	for name, tc := range map[string]struct {
		header http.Header
		want   string // "" means the weighted route
	}{
		"header always":               {http.Header{"X-Canary": {"always"}}, "canary"},
		"header never wins on cookie": {http.Header{"X-Canary": {"never"}, "Cookie": {"canary=always"}}, "main"},
		"first field only":            {http.Header{"X-Canary": {"other", "always"}}, ""},
		"value case kept":             {http.Header{"X-Canary": {"Always"}}, ""},
		"regex":                       {http.Header{"X-Version": {"v2.1"}}, "canary"},
		"regex anchored":              {http.Header{"X-Version": {"xv2"}}, ""},
		"cookie among many":           {http.Header{"Cookie": {"a=1; b=2", "x=y; canary=always"}}, "canary"},
		"cookie name case":            {http.Header{"Cookie": {"Canary=always"}}, ""},
		"cookie in other value":       {http.Header{"Cookie": {"x=canary=always"}}, ""},
		"huge cookie":                 {http.Header{"Cookie": {strings.Repeat("k=v; ", 20000) + "canary=always"}}, "canary"},
		"nothing":                     {http.Header{}, ""},
	} {
		rt := pr.routeForRequest(requestWith("GET", "/x", tc.header), "/x")
		got := rt.backend.name
		if tc.want == "" {
			if rt.split == nil || rt.split.total != 100 {
				t.Errorf("%s: picked the route to %q, want the weighted route", name, got)
			}
		} else if got != tc.want || rt.split.total != 0 {
			t.Errorf("%s: picked %q, want %q", name, got, tc.want)
		}
	}
}

// TestSplitWeights: 30 of 100 within a bound a 0% or 100% split cannot
// meet; the choice allocates nothing.
func TestSplitWeights(t *testing.T) {
	pr := canaryListener(t)
	rt := pr.routeForRequest(requestWith("GET", "/", http.Header{}), "/")
	const n = 20000
	canary := 0
	for range n {
		if rt.pickBackend(nil).name == "canary" {
			canary++
		}
	}
	if canary < n*27/100 || canary > n*33/100 {
		t.Errorf("canary got %d of %d, want about 30%%", canary, n)
	}
	r := requestWith("GET", "/", http.Header{"X-Canary": {"never"}, "Cookie": {"a=b; canary=never"}})
	if allocs := testing.AllocsPerRun(1000, func() { _ = pr.routeForRequest(r, "/").pickBackend(r) }); allocs != 0 {
		t.Errorf("pick and pickBackend allocate %.1f times", allocs)
	}
}
