package builtin

import (
	"net/http"
	"testing"
)

// TestStickyBackend: with sticky backends an affinity cookie naming an
// endpoint of the canary picks the canary whatever the weights (here 0),
// one naming an endpoint of the main backend picks it; a forged value, a
// cookie of another name, or none at all leaves the choice to the
// weights; without sticky the cookie is not read. The choice allocates
// nothing.
func TestStickyBackend(t *testing.T) {
	pol := &policy{cookie: "route"}
	canaryEP := endpoint{cookie: cookieValue("198.18.0.2:80")}
	mainEP := endpoint{cookie: cookieValue("198.18.0.1:80")}
	canary := &backend{name: "canary", policy: pol, endpoints: []endpoint{canaryEP}}
	main := &backend{name: "main", policy: pol, endpoints: []endpoint{mainEP}}
	canary.byCookie = map[string]*endpoint{canaryEP.cookie: &canary.endpoints[0]}
	main.byCookie = map[string]*endpoint{mainEP.cookie: &main.endpoints[0]}
	rt := &route{backend: main, split: &split{weighted: weighted{backends: []*backend{canary, main}, upTo: []int32{0, 100}, total: 100}, sticky: true}}
	cookie := func(v string) *http.Request { return requestWith("GET", "/", http.Header{"Cookie": {v}}) }
	for name, tc := range map[string]struct {
		r    *http.Request
		want string
	}{
		"canary's endpoint":   {cookie("a=b; route=" + canaryEP.cookie), "canary"},
		"quoted":              {cookie(`route="` + canaryEP.cookie + `"`), "canary"},
		"main's endpoint":     {cookie("route=" + mainEP.cookie), "main"},
		"forged":              {cookie("route=" + canaryEP.cookie + "x"), "main"},
		"other cookie":        {cookie("routes=" + canaryEP.cookie), "main"},
		"CRLF in the cookie":  {cookie("route=" + canaryEP.cookie + "\r\nX: y"), "main"},
		"no cookie":           {requestWith("GET", "/", http.Header{}), "main"},
		"no request (TCP)":    {nil, "main"},
		"canary's, many more": {cookie("k=v; k=v; k=v; route=" + canaryEP.cookie), "canary"},
	} {
		for range 50 {
			if got := rt.pickBackend(tc.r).name; got != tc.want {
				t.Fatalf("%s: picked %q, want %q", name, got, tc.want)
			}
		}
	}
	rt.split.sticky = false
	if got := rt.pickBackend(cookie("route=" + canaryEP.cookie)).name; got != "main" {
		t.Errorf("without sticky the canary's cookie picked %q, want the weights' main", got)
	}
	rt.split.sticky = true
	r := cookie("a=b; route=" + canaryEP.cookie)
	if allocs := testing.AllocsPerRun(1000, func() { _ = rt.pickBackend(r) }); allocs != 0 {
		t.Errorf("pickBackend with a sticky cookie allocates %.1f times", allocs)
	}
}
