package providertest

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testHeaderChanges checks lbconfig.Route.RequestHeaders and
// ResponseHeaders: the backend sees the Host set for it (the original in
// X-Forwarded-Host), fields set (replacing the client's), added (after
// the client's) and removed; the client sees the response's fields set,
// added and removed. A route without changes on the same host passes
// every field as it is.
func (s *Suite) testHeaderChanges(t *testing.T) {
	l := s.start(t)
	answer := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend-Secret", "s3cr3t")
		w.Header().Set("Cache-Control", "private")
		w.Header().Add("X-Multi", "1")
		w.Header().Add("X-Multi", "2")
		_, _ = io.WriteString(w, "ok\n")
	}
	changed, plain := l.startRecorder("changed", answer), l.startRecorder("plain", answer)
	port := l.freePort()
	rt := route("/vhost", lbconfig.MatchPrefix, changed.ref)
	rt.RequestHeaders = &lbconfig.HeaderModifier{
		Set:    []lbconfig.Header{{Name: "Host", Value: "internal.example.com:8080"}, {Name: "X-Forwarded-Prefix", Value: "/vhost"}, {Name: "X-Quoted", Value: `a 'b' "c" %[src] $HOME #d \e`}},
		Add:    []lbconfig.Header{{Name: "X-Added", Value: "a, b"}},
		Remove: []string{"Cookie"},
	}
	rt.ResponseHeaders = &lbconfig.HeaderModifier{
		Set:    []lbconfig.Header{{Name: "Cache-Control", Value: "no-store"}},
		Add:    []lbconfig.Header{{Name: "X-Frame-Options", Value: "DENY"}, {Name: "X-Multi", Value: "3"}},
		Remove: []string{"X-Backend-Secret"},
	}
	l.apply(config(oneLB(port, nil, vhost("app.example.com", rt, route("/", lbconfig.MatchPrefix, plain.ref))), changed.pool(), plain.pool()))

	r := l.do(http.MethodGet, port, "app.example.com", "/vhost/x?q=1",
		"Cookie", "session=1", "X-Added", "client", "X-Forwarded-Prefix", "/spoofed", "X-Quoted", "client")
	if r.err != nil || r.status != http.StatusOK || r.server != "changed" {
		t.Fatalf("GET /vhost/x: got %s, want 200 from backend changed", r)
	}
	reqs, _ := changed.take()
	if len(reqs) != 1 {
		t.Fatalf("backend changed got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	checkField := func(where string, h http.Header, name string, want ...string) {
		t.Helper()
		if !slices.Equal(h.Values(name), want) {
			t.Errorf("%s: %s = %q, want %q", where, name, h.Values(name), want)
		}
	}
	if got.host != "internal.example.com:8080" {
		t.Errorf("backend saw Host %q, want internal.example.com:8080", got.host)
	}
	if got.path != "/vhost/x" {
		t.Errorf("backend saw path %q, want /vhost/x", got.path)
	}
	checkField("request", got.header, "X-Forwarded-Host", "app.example.com")
	checkField("request", got.header, "X-Forwarded-Prefix", "/vhost")
	checkField("request", got.header, "X-Quoted", `a 'b' "c" %[src] $HOME #d \e`)
	checkField("request", got.header, "X-Added", "client", "a, b")
	checkField("request", got.header, "Cookie")
	checkField("response", r.header, "Cache-Control", "no-store")
	checkField("response", r.header, "X-Frame-Options", "DENY")
	checkField("response", r.header, "X-Multi", "1", "2", "3")
	checkField("response", r.header, "X-Backend-Secret")

	// The other route on the host is untouched either way.
	r = l.do(http.MethodGet, port, "app.example.com", "/other", "Cookie", "session=1", "X-Forwarded-Prefix", "/client")
	if r.err != nil || r.status != http.StatusOK || r.server != "plain" {
		t.Fatalf("GET /other: got %s, want 200 from backend plain", r)
	}
	reqs, _ = plain.take()
	if len(reqs) != 1 {
		t.Fatalf("backend plain got %d requests, want 1", len(reqs))
	}
	if reqs[0].host != "app.example.com" {
		t.Errorf("plain route: backend saw Host %q, want app.example.com", reqs[0].host)
	}
	checkField("plain request", reqs[0].header, "Cookie", "session=1")
	checkField("plain request", reqs[0].header, "X-Forwarded-Prefix", "/client")
	checkField("plain response", r.header, "X-Backend-Secret", "s3cr3t")
	checkField("plain response", r.header, "Cache-Control", "private")
}

// testCORS checks lbconfig.Route.CORS. A preflight is answered by the
// load balancer with 204 and never reaches the backend: with the grant
// for an allowed origin (exact, or one label for "*."), echoed as sent,
// without it for any other, however odd (very long, "null", encoded,
// two fields, two origins in one, non-ASCII). A request that is not a
// preflight reaches the backend, and its response carries the grant for
// an allowed origin and no grant, even one the backend sent, for any
// other; "*" is answered with "*", never an echo. Answers that depend on
// the Origin say "Vary: Origin".
func (s *Suite) testCORS(t *testing.T) {
	l := s.start(t)
	answer := func(w http.ResponseWriter, r *http.Request) {
		// A backend that grants everyone: the route's CORS overrides it.
		w.Header().Set("Access-Control-Allow-Origin", "https://evil.example")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		_, _ = io.WriteString(w, "ok\n")
	}
	listed, any, plain := l.startRecorder("listed", answer), l.startRecorder("any", answer), l.startRecorder("plain", answer)
	port := l.freePort()
	withList := route("/cors", lbconfig.MatchPrefix, listed.ref)
	withList.CORS = &lbconfig.CORS{
		AllowOrigins:     []string{"http://localhost:3000", "https://*.example.com", "https://app.example.org"},
		AllowMethods:     []string{"GET", "PUT"},
		AllowHeaders:     []string{"X-Custom", "Content-Type"},
		ExposeHeaders:    []string{"X-Total"},
		AllowCredentials: true,
		MaxAge:           600,
	}
	withAny := route("/any", lbconfig.MatchPrefix, any.ref)
	withAny.CORS = &lbconfig.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"}, AllowCredentials: true, MaxAge: 1728000}
	l.apply(config(oneLB(port, nil, vhost("api.example.com", withList, withAny, route("/", lbconfig.MatchPrefix, plain.ref))), listed.pool(), any.pool(), plain.pool()))

	field := func(r reply, name string) string { return strings.Join(r.header.Values(name), "|") }
	varyOrigin := func(r reply) bool {
		for _, v := range r.header.Values("Vary") {
			for _, f := range strings.Split(v, ",") {
				if strings.EqualFold(strings.TrimSpace(f), "origin") {
					return true
				}
			}
		}
		return false
	}
	preflight := func(path string, origins ...string) reply {
		t.Helper()
		hdr := []string{"Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-custom"}
		for _, o := range origins {
			hdr = append(hdr, "Origin", o)
		}
		r := l.do(http.MethodOptions, port, "api.example.com", path, hdr...)
		if r.err != nil || r.status != http.StatusNoContent || r.server != "" {
			t.Errorf("preflight %s from %q: got %s, want 204 from the load balancer", path, clipped(origins), r)
		}
		return r
	}
	for _, origin := range []string{"http://localhost:3000", "https://app.example.org", "https://App.example.com", "https://x-1.example.com"} {
		r := preflight("/cors", origin)
		for name, want := range map[string]string{
			"Access-Control-Allow-Origin":      origin,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "GET, PUT",
			"Access-Control-Allow-Headers":     "X-Custom, Content-Type",
			"Access-Control-Max-Age":           "600",
		} {
			if got := field(r, name); got != want {
				t.Errorf("preflight from %q: %s = %q, want %q", origin, name, got, want)
			}
		}
		if !varyOrigin(r) {
			t.Errorf("preflight from %q: Vary = %q, want Origin", origin, field(r, "Vary"))
		}
	}
	hostile := [][]string{
		{"https://evil.com"},
		{"https://example.com"},
		{"https://a.b.example.com"},
		{"https://app.example.org.evil.com"},
		{"https://evil.com/https://app.example.org"},
		{"xhttps://app.example.org"},
		{"http://app.example.org"},
		{"https://app.example.org:443"},
		{"http://localhost:30000"},
		{"null"},
		{"https://app%2eexample.com"},
		{"https://evil.com%0d%0a.example.com"},
		{"https://evil.com?.example.com"},
		{"https://\u00e4.example.com"},
		{"http\u017f://app.example.org"}, // long s, which Unicode case folding takes for "s"
		{"HTTPS://APP.EXAMPLE.ORG.evil.com"},
		{"https://" + strings.Repeat("a", 4000) + ".example.com"},
		{"https://app.example.org, https://evil.com"},
		{"https://evil.com, https://app.example.org"},
		{"https://evil.com", "https://app.example.org"},
		{"https://app.example.org", "https://evil.com"},
		{""},
	}
	for _, origins := range hostile {
		r := preflight("/cors", origins...)
		for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods"} {
			if got := field(r, name); got != "" {
				t.Errorf("preflight from %q: %s = %q, want none", clipped(origins), name, clipped([]string{got}))
			}
		}
	}
	if reqs, _ := listed.take(); len(reqs) != 0 {
		t.Errorf("the backend got %d preflights, want none", len(reqs))
	}

	// Requests that are not preflights reach the backend.
	get := func(path string, hdr ...string) reply {
		t.Helper()
		r := l.do(http.MethodGet, port, "api.example.com", path, hdr...)
		if r.err != nil || r.status != http.StatusOK || r.server == "" {
			t.Errorf("GET %s %q: got %s, want 200 from a backend", path, clipped(hdr), r)
		}
		return r
	}
	r := get("/cors/items", "Origin", "https://app.example.org")
	if got := field(r, "Access-Control-Allow-Origin"); got != "https://app.example.org" {
		t.Errorf("GET from an allowed origin: Access-Control-Allow-Origin = %q, want the origin once", got)
	}
	if got := field(r, "Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("GET from an allowed origin: Access-Control-Allow-Credentials = %q, want true", got)
	}
	if got := field(r, "Access-Control-Expose-Headers"); got != "X-Total" {
		t.Errorf("GET from an allowed origin: Access-Control-Expose-Headers = %q, want X-Total", got)
	}
	if !varyOrigin(r) {
		t.Errorf("GET from an allowed origin: no Vary: Origin")
	}
	for _, hdr := range [][]string{
		{"Origin", "https://evil.com"},
		{"Origin", "null"},
		{"Origin", "https://app.example.org", "Origin", "https://evil.com"},
		{},
	} {
		r := get("/cors/items", hdr...)
		if got := field(r, "Access-Control-Allow-Origin") + field(r, "Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("GET %q: grant %q, want none (not even the backend's)", hdr, got)
		}
		if !varyOrigin(r) {
			t.Errorf("GET %q: no Vary: Origin", hdr)
		}
	}
	// OPTIONS without Access-Control-Request-Method is no preflight.
	if r := l.do(http.MethodOptions, port, "api.example.com", "/cors", "Origin", "https://app.example.org"); r.status != http.StatusOK || r.server != "listed" {
		t.Errorf("OPTIONS without Access-Control-Request-Method: got %s, want 200 from backend listed", r)
	}
	if reqs, _ := listed.take(); len(reqs) != 6 {
		t.Errorf("backend listed got %d requests, want the 6 that are not preflights", len(reqs))
	}

	// "*": answered with "*" whatever the origin, never echoed.
	for _, origin := range []string{"https://anyone.example", "null"} {
		r := preflight("/any", origin)
		if got := field(r, "Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("preflight to \"*\" from %q: Access-Control-Allow-Origin = %q, want *", origin, got)
		}
		if got := field(r, "Access-Control-Allow-Methods"); got != "GET, PUT, POST, DELETE, PATCH, OPTIONS" {
			t.Errorf("preflight to \"*\": Access-Control-Allow-Methods = %q", got)
		}
		if got := field(r, "Access-Control-Max-Age"); got != "1728000" {
			t.Errorf("preflight to \"*\": Access-Control-Max-Age = %q, want 1728000", got)
		}
		r = get("/any", "Origin", origin)
		if got := field(r, "Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("GET to \"*\" from %q: Access-Control-Allow-Origin = %q, want *", origin, got)
		}
	}
	if reqs, _ := any.take(); len(reqs) != 2 {
		t.Errorf("backend any got %d requests, want the 2 that are not preflights", len(reqs))
	}

	// A route without CORS passes the backend's answer as it is, and its
	// preflights reach the backend.
	r = get("/plain", "Origin", "https://evil.com")
	if got := field(r, "Access-Control-Allow-Origin"); got != "https://evil.example" {
		t.Errorf("route without CORS: Access-Control-Allow-Origin = %q, want the backend's", got)
	}
	if r := l.do(http.MethodOptions, port, "api.example.com", "/plain", "Origin", "https://evil.com", "Access-Control-Request-Method", "PUT"); r.status != http.StatusOK || r.server != "plain" {
		t.Errorf("preflight to a route without CORS: got %s, want 200 from backend plain", r)
	}
}

// do sends one request with method; hdr holds header name, value pairs.
func (l *lab) do(method string, port int32, host, path string, hdr ...string) reply {
	req, err := http.NewRequest(method, "http://"+net.JoinHostPort(l.addr, strconv.Itoa(int(port)))+path, nil)
	if err != nil {
		return reply{err: err}
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return replyOf(l.client.Do(req))
}

// clipped shortens long values for messages.
func clipped(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		if len(s) > 60 {
			s = s[:60] + "..."
		}
		out[i] = s
	}
	return out
}
