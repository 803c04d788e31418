package providertest

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// flaky answers a request whose "id" query parameter it has seen fewer
// than "fail" times with the status "code", or after waiting "stall"
// (a duration) with 200 "late <attempt>", or, without either, by
// resetting the connection; then with 200 "ok <attempt>". Like the
// conformance suite's echo-basic, it counts attempts per id.
type flaky struct {
	mu       sync.Mutex
	attempts map[string]int
}

func (f *flaky) answer(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail, _ := strconv.Atoi(q.Get("fail"))
	f.mu.Lock()
	f.attempts[q.Get("id")]++
	n := f.attempts[q.Get("id")]
	f.mu.Unlock()
	if n > fail {
		fmt.Fprintf(w, "ok %d\n", n)
		return
	}
	if stall, err := time.ParseDuration(q.Get("stall")); err == nil {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
		}
		fmt.Fprintf(w, "late %d\n", n)
		return
	}
	if code, err := strconv.Atoi(q.Get("code")); err == nil {
		w.WriteHeader(code)
		fmt.Fprintf(w, "failed attempt %d\n", n)
		return
	}
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ Unwrap() net.Conn }); ok {
		c = tc.Unwrap()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (f *flaky) seen(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id]
}

// testRetries checks lbconfig.Route.Retry: an answer with one of the
// route's codes, or a reset connection, goes again, up to the attempts,
// and the client gets only the last answer; other codes and routes
// without retries go once; a POST body goes again whole; a body larger
// than a provider buffers goes once; a backend's endpoint that refuses
// connections is skipped by a retry; an attempt that passes the route's
// backendRequest timeout goes again. (A backoff, which HAProxy refuses,
// and a backendRequest timeout under a request timeout, which HAProxy
// does not retry, are the builtin's own tests.)
func (s *Suite) testRetries(t *testing.T) {
	l := s.start(t)
	f := &flaky{attempts: map[string]int{}}
	rec := l.startRecorder("flaky", f.answer)
	port := l.freePort()
	retried := func(path string, ref string, attempts int32, codes ...int32) lbconfig.Route {
		r := route(path, lbconfig.MatchPrefix, ref)
		r.Retry = &lbconfig.Retry{Attempts: attempts, Codes: codes}
		return r
	}
	slow := retried("/slow", rec.ref, 1)
	slow.Timeouts = &lbconfig.RouteTimeouts{BackendRequest: lbconfig.Duration(300 * time.Millisecond)}
	slowOnce := route("/slow-once", lbconfig.MatchPrefix, rec.ref)
	slowOnce.Timeouts = slow.Timeouts
	// A second pool whose first endpoint refuses connections.
	refusing := rec.pool()
	refusing.Name = "test/refusing:80"
	refusing.Endpoints = append([]lbconfig.Endpoint{{Address: "127.0.0.1", Port: l.freePort(), Ready: true, Serving: true}}, refusing.Endpoints...)
	l.apply(config(oneLB(port, nil, vhost("retry.example.com",
		retried("/retry", rec.ref, 2, 500, 503),
		retried("/refusing", refusing.Name, 1, 503),
		route("/once", lbconfig.MatchPrefix, rec.ref),
		slow, slowOnce,
	)), rec.pool(), refusing))
	l.expect(at(port, "retry.example.com", "/once", want{status: http.StatusOK, backends: []string{rec.name}}))

	id := 0
	check := func(method, path string, fail int, code, body string, wantStatus, wantSeen int) {
		t.Helper()
		id++
		key := "r" + strconv.Itoa(id)
		q := fmt.Sprintf("%s?id=%s&fail=%d", path, key, fail)
		switch {
		case strings.HasPrefix(code, "stall="):
			q += "&" + code
		case code != "":
			q += "&code=" + code
		}
		rec.take()
		r := l.request(l.client, method, port, "retry.example.com", q, body)
		if r.err != nil || r.status != wantStatus {
			t.Errorf("%s %s: got %s, want %d", method, q, r, wantStatus)
		}
		if wantStatus == http.StatusOK && r.body != fmt.Sprintf("ok %d\n", wantSeen) {
			t.Errorf("%s %s: got body %q, want the answer of attempt %d alone", method, q, r.body, wantSeen)
		}
		if n := f.seen(key); n != wantSeen {
			t.Errorf("%s %s: the backend got %d attempts, want %d", method, q, n, wantSeen)
		}
		reqs, _ := rec.take()
		for i, got := range reqs {
			if got.body != body || got.bodyErr != nil {
				t.Errorf("%s %s: attempt %d got a body of %d bytes (%v), want the %d sent", method, q, i+1, len(got.body), got.bodyErr, len(body))
			}
		}
	}
	check("GET", "/retry", 2, "500", "", http.StatusOK, 3)
	check("GET", "/retry", 1, "503", "", http.StatusOK, 2)
	check("GET", "/retry", 3, "500", "", http.StatusInternalServerError, 3)
	check("GET", "/retry", 3, "503", "", http.StatusServiceUnavailable, 3)
	check("GET", "/retry", 2, "502", "", http.StatusBadGateway, 1)
	check("GET", "/retry", 1, "404", "", http.StatusNotFound, 1)
	check("GET", "/once", 1, "500", "", http.StatusInternalServerError, 1)
	check("POST", "/retry", 2, "500", strings.Repeat("posted body ", 400), http.StatusOK, 3)
	check("PUT", "/retry", 1, "", "reset once", http.StatusOK, 2)
	// The first attempt passes the backendRequest timeout: the second
	// one's answer is the client's, and the late one never reaches it.
	check("GET", "/slow", 1, "stall=2s", "", http.StatusOK, 2)
	check("POST", "/slow", 1, "stall=2s", "slow body", http.StatusOK, 2)
	// Every attempt passes it: the proxy's 504.
	check("GET", "/slow", 2, "stall=2s", "", http.StatusGatewayTimeout, 2)
	// Without retries a slow answer is not sent again, not even from a
	// reused connection (a timeout is not the keep-alive race).
	for range 3 {
		check("GET", "/slow-once", 1, "stall=2s", "", http.StatusGatewayTimeout, 1)
	}
	// Larger than any provider buffers to send again: sent once.
	check("POST", "/retry", 1, "500", strings.Repeat("x", 1<<20), http.StatusInternalServerError, 1)

	// Whichever endpoint a request goes to first, the one that refuses
	// is skipped: every POST gets the backend's answer.
	for i := range 6 {
		check("POST", "/refusing", 0, "", "post "+strconv.Itoa(i), http.StatusOK, 1)
	}
}
