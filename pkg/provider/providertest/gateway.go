package providertest

import (
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testGatewayShapes checks route shapes of the Gateway API translator: a
// weighted route where one share goes to a backend without endpoints
// answers 503 for that share only and never reaches another backend or
// route; all weight on that backend answers 503 every time; a group of
// header matches whose plain route is a copy of a shorter prefix's
// routes (fillGroups) serves those. (The translator's share of an
// unresolved backendRef is a backend that answers 500: StatusAnswers.)
func (s *Suite) testGatewayShapes(t *testing.T) {
	l := s.start(t)
	a, b := l.startBackend("a"), l.startBackend("b")
	port := l.freePort()
	invalid := lbconfig.Backend{Name: "ns/route!invalid"}
	half := prefix("/half", a)
	half.Backends = []lbconfig.WeightedBackend{{Name: a.ref, Weight: 1}, {Name: invalid.Name, Weight: 1}}
	none := route("/none", lbconfig.MatchPrefix, invalid.Name)
	hdr := prefix("/api", b)
	hdr.Headers = []lbconfig.HeaderMatch{{Name: "x-version", Type: lbconfig.HeaderExact, Value: "2"}}
	fallback := prefix("/api", a) // the copy of "/"'s route
	l.apply(config(oneLB(port, nil,
		vhost("gw.example.com", half, none, hdr, fallback, prefix("/", a)),
	), a.pool(), b.pool(), invalid))
	l.expect(
		at(port, "gw.example.com", "/none", status(503)),
		at(port, "gw.example.com", "/api", from(a)),
		at(port, "gw.example.com", "/", from(a)),
	)
	if r := l.get(l.client, port, "gw.example.com", "/api/x", "X-Version", "2"); !from(b).matches(r) {
		t.Errorf("/api/x with X-Version 2: got %s, want %s", r, from(b))
	}
	for _, v := range []string{"20", "02", "3"} {
		if r := l.get(l.client, port, "gw.example.com", "/api/x", "X-Version", v); !from(a).matches(r) {
			t.Errorf("/api/x with X-Version %q: got %s, want %s (the fallback)", v, r, from(a))
		}
	}
	l.expectNow(20, at(port, "gw.example.com", "/none/x", status(503)))
	served, failed := 0, 0
	for range 400 {
		r := l.get(l.client, port, "gw.example.com", "/half")
		switch {
		case from(a).matches(r):
			served++
		case status(503).matches(r):
			failed++
		default:
			t.Fatalf("/half: got %s, want %s or 503", r, from(a))
		}
	}
	if served < 140 || failed < 140 {
		t.Errorf("/half with weights 1 and 1: %d served, %d answered 503; want about 200 each", served, failed)
	}
}
