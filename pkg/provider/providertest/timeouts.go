package providertest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// slowAnswer answers after the request's "delay" query parameter (a
// duration), or sends its head at once and its body after "drip".
func slowAnswer(w http.ResponseWriter, r *http.Request) {
	if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if d, err := time.ParseDuration(r.URL.Query().Get("drip")); err == nil {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "first part\n")
		w.(http.Flusher).Flush()
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	_, _ = io.WriteString(w, "ok\n")
}

// testTimeouts checks lbconfig.Route.Timeouts as Gateway API's
// HTTPRouteTimeoutRequest and HTTPRouteTimeoutBackendRequest
// conformance tests do: a quick answer passes, a backend slower than the
// request or backendRequest timeout gets 504 from the load balancer in
// about that time, a route without timeouts waits; the route's timeout
// replaces the backend's shorter response timeout; a body that stalls
// after the head is cut; a request with a body is bound the same; other
// routes of the backend keep its own timeout.
func (s *Suite) testTimeouts(t *testing.T) {
	l := s.start(t)
	slow := l.startRecorder("slow", slowAnswer)
	strict := l.startRecorder("strict", slowAnswer)
	port := l.freePort()
	timed := func(path string, rec *recorder, request, backend time.Duration) lbconfig.Route {
		r := route(path, lbconfig.MatchPrefix, rec.ref)
		r.Timeouts = &lbconfig.RouteTimeouts{Request: lbconfig.Duration(request), BackendRequest: lbconfig.Duration(backend)}
		return r
	}
	strictPool := strict.pool()
	strictPool.Policy.Timeouts.ResponseHeader = lbconfig.Duration(300 * time.Millisecond)
	l.apply(config(oneLB(port, nil, vhost("to.example.com",
		timed("/request-timeout", slow, 500*time.Millisecond, 0),
		timed("/backend-timeout", slow, 0, 500*time.Millisecond),
		timed("/both", slow, 2*time.Second, 500*time.Millisecond),
		route("/disable-request-timeout", lbconfig.MatchPrefix, slow.ref),
		timed("/longer", strict, 3*time.Second, 0),
		route("/strict", lbconfig.MatchPrefix, strict.ref),
	)), slow.pool(), strictPool))
	l.expect(at(port, "to.example.com", "/request-timeout", want{status: http.StatusOK, backends: []string{slow.name}}))

	for _, tc := range []struct {
		method, path string
		want         int
		atMost       time.Duration
	}{
		{"GET", "/request-timeout", 200, 0},
		{"GET", "/request-timeout?delay=1s", 504, 900 * time.Millisecond},
		{"POST", "/request-timeout?delay=1s", 504, 900 * time.Millisecond},
		{"GET", "/backend-timeout", 200, 0},
		{"GET", "/backend-timeout?delay=1s", 504, 900 * time.Millisecond},
		{"GET", "/both?delay=1s", 504, 900 * time.Millisecond},
		{"GET", "/disable-request-timeout?delay=1s", 200, 0},
		{"GET", "/longer?delay=800ms", 200, 0},
		{"GET", "/strict?delay=800ms", 504, 700 * time.Millisecond},
	} {
		start := time.Now()
		var r reply
		if tc.method == "POST" {
			r = l.request(l.client, tc.method, port, "to.example.com", tc.path, strings.Repeat("b", 10000))
		} else {
			r = l.do(tc.method, port, "to.example.com", tc.path)
		}
		took := time.Since(start)
		ok := r.err == nil && r.status == tc.want && (tc.want != 504 || r.server == "")
		if !ok || (tc.atMost > 0 && took > tc.atMost) {
			t.Errorf("%s %s: got %s in %v, want %d (within %v)", tc.method, tc.path, r, took.Round(time.Millisecond), tc.want, tc.atMost)
		}
	}
	// The head came in time, the body stalls past the timeout: the
	// response cannot be finished, and is cut.
	r := l.do("GET", port, "to.example.com", "/request-timeout?drip=2s")
	if r.err == nil {
		t.Errorf("GET /request-timeout?drip=2s: got %s with body %q, want the response cut", r, r.body)
	}
	if r := l.do("GET", port, "to.example.com", "/disable-request-timeout?drip=300ms"); r.err != nil || r.body != "first part\nok\n" {
		t.Errorf("GET /disable-request-timeout?drip=300ms: got %s with body %q, want it whole", r, r.body)
	}
}
