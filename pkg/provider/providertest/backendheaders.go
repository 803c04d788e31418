package providertest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testBackendHeaders checks lbconfig.WeightedBackend.RequestHeaders, as
// Gateway API's filters on backendRefs give them: on a route split 1:1
// over v1 and v2, each backend sees only its own changes, made after the
// route's (v2 removes a field the route set), over keep-alive
// connections whatever the previous request's backend; a route whose
// only weighted backend changes requests, and the same backend on a
// route without changes, which sees the client's fields as they are. A
// config with a CR LF or a too long value in a backend's changes is
// rejected and the old one keeps serving.
func (s *Suite) testBackendHeaders(t *testing.T) {
	l := s.start(t)
	v1, v2 := l.startRecorder("v1", nil), l.startRecorder("v2", nil)
	port := l.freePort()
	changes := func(v1Value string) *lbconfig.Config {
		split := route("/", lbconfig.MatchPrefix, v1.ref)
		split.RequestHeaders = &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "X-Route", Value: "r"}, {Name: "X-Both", Value: "route"}}}
		split.Backends = []lbconfig.WeightedBackend{
			{Name: v1.ref, Weight: 1, RequestHeaders: &lbconfig.HeaderModifier{
				Set: []lbconfig.Header{{Name: "Backend", Value: v1Value}}, Add: []lbconfig.Header{{Name: "X-Both", Value: "v1"}}}},
			{Name: v2.ref, Weight: 1, RequestHeaders: &lbconfig.HeaderModifier{
				Set: []lbconfig.Header{{Name: "backend", Value: "v2"}}, Remove: []string{"x-route"}}},
		}
		single := route("/single", lbconfig.MatchPrefix, v1.ref)
		single.Backends = []lbconfig.WeightedBackend{{Name: v1.ref, Weight: 1, RequestHeaders: &lbconfig.HeaderModifier{
			Set: []lbconfig.Header{{Name: "X-Single", Value: `it's "50%" %[src]`}}}}}
		return config(oneLB(port, nil, vhost("app.example.com", split, single, route("/plain", lbconfig.MatchPrefix, v1.ref))), v1.pool(), v2.pool())
	}
	l.apply(changes("v1"))
	field := func(who string, h http.Header, name string, want ...string) {
		t.Helper()
		if got := h.Values(name); !slices.Equal(got, want) {
			t.Errorf("%s: %s = %q, want %q", who, name, got, want)
		}
	}
	check := func(what string) {
		t.Helper()
		const n = 40
		for i := range n {
			if r := l.do(http.MethodGet, port, "app.example.com", "/x", "Backend", "forged", "X-Both", "client"); r.err != nil || r.status != http.StatusOK {
				t.Fatalf("%s: request %d: got %s, want 200", what, i, r)
			}
		}
		r1, _ := v1.take()
		r2, _ := v2.take()
		if len(r1)+len(r2) != n || len(r1) == 0 || len(r2) == 0 {
			t.Fatalf("%s: v1 got %d and v2 %d of %d requests, want both some (1:1)", what, len(r1), len(r2), n)
		}
		for _, r := range r1 {
			field(what+": v1", r.header, "Backend", "v1")
			field(what+": v1", r.header, "X-Route", "r")
			field(what+": v1", r.header, "X-Both", "route", "v1")
		}
		for _, r := range r2 {
			field(what+": v2", r.header, "Backend", "v2")
			field(what+": v2", r.header, "X-Route")
			field(what+": v2", r.header, "X-Both", "route")
		}
	}
	check("split 1:1")

	for path, want := range map[string][]string{"/single": {`it's "50%" %[src]`}, "/plain": nil} {
		if r := l.do(http.MethodGet, port, "app.example.com", path, "Backend", "forged"); r.err != nil || r.server != "v1" {
			t.Fatalf("GET %s: got %s, want 200 from v1", path, r)
		}
		reqs, _ := v1.take()
		if len(reqs) != 1 {
			t.Fatalf("GET %s: v1 got %d requests, want 1", path, len(reqs))
		}
		field("GET "+path, reqs[0].header, "X-Single", want...)
		field("GET "+path, reqs[0].header, "Backend", "forged")
	}

	for why, v := range map[string]string{
		"a CR LF in a backend's value":     "v1\r\nX-Injected: 1",
		"a LF in a backend's value":        "v1\nX-Injected: 1",
		"a backend's value over the limit": strings.Repeat("v", lbconfig.MaxHeaderValueBytes+1),
	} {
		bad := changes(v)
		bad.Sort()
		if bad.Validate() == nil {
			t.Fatalf("Validate accepted %s", why)
		}
		ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
		_, err := l.p.Apply(ctx, bad)
		cancel()
		if err == nil {
			t.Fatalf("%s: Apply accepted %s", l.p.Name(), why)
		}
		check("after rejecting " + why)
	}
}
