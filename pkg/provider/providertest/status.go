package providertest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// testStatusAnswers: backends that are answers (lbconfig.Backend.Status),
// as the Gateway API translator makes them. A weighted route with one
// share to such a backend answers that share with its status and sends
// the rest on; a route to one, and a listener's default backend that is
// one, answer every request with the status, keep-alive, without any
// backend getting the request or the body of one, nor a request hidden
// in that body.
func (s *Suite) testStatusAnswers(t *testing.T) {
	l := s.start(t)
	rec := l.startRecorder("rec", nil)
	port := l.freePort()
	invalid := lbconfig.Backend{Name: "ns/route!invalid", Status: http.StatusInternalServerError}
	notFound := lbconfig.Backend{Name: "gateway!not-found", Status: http.StatusNotFound}
	unavailable := lbconfig.Backend{Name: "gateway!unavailable", Status: http.StatusServiceUnavailable}
	half := route("/half", lbconfig.MatchPrefix, rec.ref)
	half.Backends = []lbconfig.WeightedBackend{{Name: invalid.Name, Weight: 1}, {Name: rec.ref, Weight: 1}}
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: unavailable.Name}, vhost("gw.example",
		half, route("/none", lbconfig.MatchPrefix, invalid.Name), route("/", lbconfig.MatchPrefix, notFound.Name),
	)), rec.pool(), invalid, notFound, unavailable))
	l.expect(
		at(port, "gw.example", "/none", status(http.StatusInternalServerError)),
		at(port, "gw.example", "/none/x", status(http.StatusInternalServerError)),
		at(port, "gw.example", "/other", status(http.StatusNotFound)),
		at(port, "other.example", "/half", status(http.StatusServiceUnavailable)),
	)
	served, failed := 0, 0
	for range 400 {
		switch r := l.get(l.client, port, "gw.example", "/half"); {
		case r.status == http.StatusOK && r.server == rec.name:
			served++
		case status(http.StatusInternalServerError).matches(r):
			failed++
		default:
			t.Fatalf("%s: /half: got %s, want 200 from %s or 500 from the load balancer", l.p.Name(), r, rec.name)
		}
	}
	if served < 140 || failed < 140 {
		t.Errorf("%s: /half with weights 1 and 1: %d served, %d answered 500; want about 200 each", l.p.Name(), served, failed)
	}
	if reqs, _ := rec.take(); len(reqs) != served {
		t.Errorf("%s: the backend got %d requests, want the %d it answered", l.p.Name(), len(reqs), served)
	}

	t.Run("keep-alive", func(t *testing.T) {
		var reqs []string
		for i := range 20 {
			path := []string{"/none", "/other", "/none/" + strconv.Itoa(i)}[i%3]
			reqs = append(reqs, "GET "+path+" HTTP/1.1\r\nHost: gw.example\r\n\r\n")
		}
		got, closed, err := pipeline(l.addr, port, reqs...)
		if err != nil || closed || len(got) != len(reqs) {
			t.Fatalf("%s: %d requests on one connection: %d answers %v, closed %v, error %v; want all answered on an open connection", l.p.Name(), len(reqs), len(got), got, closed, err)
		}
		for i, g := range got {
			want := []int{http.StatusInternalServerError, http.StatusNotFound, http.StatusInternalServerError}[i%3]
			if g.status != want || g.server != "" {
				t.Errorf("%s: answer %d: %v, want %d from the load balancer", l.p.Name(), i, g, want)
			}
		}
	})

	t.Run("bodies", func(t *testing.T) {
		const hidden = "GET /half/smuggled HTTP/1.1\r\nHost: gw.example\r\n\r\n"
		for _, path := range []string{"/none", "/other"} {
			body := hidden + strings.Repeat("x", 64<<10)
			req := "POST " + path + " HTTP/1.1\r\nHost: gw.example\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
			got, closed, err := pipeline(l.addr, port, req)
			if len(got) == 0 || got[0].status < 400 || got[0].server != "" {
				t.Errorf("%s: POST %s: got %v (closed %v, error %v), want the load balancer's own answer", l.p.Name(), path, got, closed, err)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if reqs, raw := rec.take(); len(reqs) > 0 || raw != "" {
			t.Errorf("%s: the backend got %d requests (%.200q) from requests answered with a status", l.p.Name(), len(reqs), raw)
		}
	})
}
