package builtin

import (
	"net/http"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// TestBackendHeaders: each weighted backend's changes reach only the
// requests it gets, after the route's own; a route whose backends
// change nothing costs no allocation to pick.
func TestBackendHeaders(t *testing.T) {
	routes := []lbconfig.Route{
		{Path: "/", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: "a"},
			RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "X-Route", Value: "r"}, {Name: "X-Both", Value: "route"}}},
			Backends: []lbconfig.WeightedBackend{
				{Name: "a", Weight: 1, RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "Backend", Value: "a"}}, Add: []lbconfig.Header{{Name: "X-Both", Value: "a"}}}},
				{Name: "b", Weight: 1, RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "backend", Value: "b"}}, Remove: []string{"x-route"}}},
				{Name: "c", Weight: 1},
			}},
		{Path: "/plain", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: "a"},
			Backends: []lbconfig.WeightedBackend{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}}},
	}
	pr := compileValidRoutes(t, routes, "a", "b", "c")
	want := map[string]http.Header{
		"a": {"Backend": {"a"}, "X-Route": {"r"}, "X-Both": {"route", "a"}, "X-Client": {"c"}},
		"b": {"Backend": {"b"}, "X-Both": {"route"}, "X-Client": {"c"}},
		"c": {"Backend": {"forged"}, "X-Route": {"r"}, "X-Both": {"route"}, "X-Client": {"c"}},
	}
	seen := map[string]int{}
	for range 300 {
		r := requestWith("GET", "/x", http.Header{"Backend": {"forged"}, "X-Client": {"c"}})
		rt := pr.routeForRequest(r, "/x")
		rt.headers.request.apply(r.Header) // as forward.go does
		b := rt.pickBackend(r)
		rt.changeForBackend(b, r.Header)
		seen[b.name]++
		if !sameHeader(r.Header, want[b.name]) {
			t.Fatalf("to %s: fields %v, want %v", b.name, r.Header, want[b.name])
		}
	}
	if len(seen) != 3 {
		t.Errorf("backends picked %v, want all three", seen)
	}
	r := requestWith("GET", "/plain", http.Header{"Backend": {"forged"}})
	rt := pr.routeForRequest(r, "/plain")
	if rt.split.changes != nil {
		t.Fatal("a route whose backends change nothing compiled changes")
	}
	if allocs := testing.AllocsPerRun(1000, func() { rt.changeForBackend(rt.pickBackend(r), r.Header) }); allocs != 0 {
		t.Errorf("pickBackend and changeForBackend allocate %.1f times", allocs)
	}
	if r.Header.Get("Backend") != "forged" {
		t.Errorf("a backend without changes changed Backend to %q", r.Header.Get("Backend"))
	}
}

func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, vs := range a {
		ws := b[k]
		if len(vs) != len(ws) {
			return false
		}
		for i := range vs {
			if vs[i] != ws[i] {
				return false
			}
		}
	}
	return true
}
