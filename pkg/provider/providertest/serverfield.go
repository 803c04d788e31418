package providertest

import (
	"io"
	"net/http"
	"slices"
	"testing"

	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// testServerField checks provider.Options.ServerHeader: a backend's
// response without a Server field gets the load balancer's, on kept-alive
// connections and with a request body alike; one with its own keeps it,
// alone; a route that removes the field sends none; and without the
// option nothing is added.
func (s *Suite) testServerField(t *testing.T) {
	const ours = "lb-test/1"
	quietAnswer := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "quiet\n")
	}
	namedAnswer := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "app/2")
		_, _ = io.WriteString(w, "named\n")
	}
	l := s.startWith(t, provider.Options{ServerHeader: ours})
	quiet, named := l.startRecorder("quiet", quietAnswer), l.startRecorder("named", namedAnswer)
	port := l.freePort()
	stripped := route("/stripped", lbconfig.MatchPrefix, quiet.ref)
	stripped.ResponseHeaders = &lbconfig.HeaderModifier{Remove: []string{"Server"}}
	l.apply(config(oneLB(port, nil, vhost("app.example.com",
		route("/quiet", lbconfig.MatchPrefix, quiet.ref), route("/named", lbconfig.MatchPrefix, named.ref), stripped,
	)), quiet.pool(), named.pool()))

	check := func(method, path, body string, want ...string) {
		t.Helper()
		r := l.request(l.client, method, port, "app.example.com", path, body)
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("%s %s: got %s, want 200", method, path, r)
		}
		if got := r.header.Values("Server"); !slices.Equal(got, want) {
			t.Errorf("%s %s: Server %q, want %q", method, path, got, want)
		}
	}
	for range 3 {
		check("GET", "/quiet", "", ours)
		check("GET", "/named", "", "app/2")
		check("GET", "/stripped", "")
		check("POST", "/quiet", "a body", ours)
	}

	// Without the option, a response without one stays without.
	plain := s.start(t)
	quiet2 := plain.startRecorder("quiet", quietAnswer)
	port2 := plain.freePort()
	plain.apply(config(oneLB(port2, nil, vhost("app.example.com", route("/", lbconfig.MatchPrefix, quiet2.ref))), quiet2.pool()))
	if r := plain.request(plain.client, "GET", port2, "app.example.com", "/quiet", ""); r.err != nil || r.status != http.StatusOK || r.header.Values("Server") != nil {
		t.Errorf("without ServerHeader: got %s with Server %q, want 200 without", r, r.header.Values("Server"))
	}
}
