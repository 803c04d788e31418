package providertest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testGatewayCORS checks the CORS fields of Gateway API's semantics
// (lbconfig.CORS.MultiLabel, EchoWildcards, PreflightExposes): a "*" of
// an origin stands for several labels; with EchoWildcards "*" grants the
// request's own Origin, Access-Control-Request-Method and -Headers, never
// "*", and only when they are what lbconfig.IsOrigin and IsEchoable
// take; a preflight's grant exposes headers too. Hostile origins and
// request fields (two fields, CR and LF raw or encoded, odd case, huge,
// "null") get no grant, and nothing of them reaches the answer but an
// origin or names echoed whole.
func (s *Suite) testGatewayCORS(t *testing.T) {
	l := s.start(t)
	answer := func(w http.ResponseWriter, r *http.Request) {
		// A backend that grants everyone: the route's CORS overrides it.
		w.Header().Set("Access-Control-Allow-Origin", "https://evil.example")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		_, _ = io.WriteString(w, "ok\n")
	}
	listed, echoed, star := l.startRecorder("listed", answer), l.startRecorder("echoed", answer), l.startRecorder("star", answer)
	port := l.freePort()
	withList := route("/list", lbconfig.MatchPrefix, listed.ref)
	withList.CORS = &lbconfig.CORS{
		AllowOrigins: []string{"https://*.bar.com", "https://www.foo.com"}, AllowMethods: []string{"GET", "OPTIONS"},
		AllowHeaders: []string{"x-header-1", "x-header-2"}, ExposeHeaders: []string{"x-header-3", "x-header-4"},
		AllowCredentials: true, MaxAge: 3600, MultiLabel: true, EchoWildcards: true, PreflightExposes: true,
	}
	withEcho := route("/echo", lbconfig.MatchPrefix, echoed.ref)
	withEcho.CORS = &lbconfig.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"},
		AllowCredentials: true, MaxAge: 5, MultiLabel: true, EchoWildcards: true, PreflightExposes: true}
	withStar := route("/star", lbconfig.MatchPrefix, star.ref)
	withStar.CORS = &lbconfig.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"},
		ExposeHeaders: []string{"*"}, MaxAge: 5, MultiLabel: true, PreflightExposes: true}
	l.apply(config(oneLB(port, nil, vhost("cors.example.com", withList, withEcho, withStar)), listed.pool(), echoed.pool(), star.pool()))

	field := func(r reply, name string) string { return strings.Join(r.header.Values(name), "|") }
	expect := func(what string, r reply, want map[string]string) {
		t.Helper()
		for name, v := range want {
			if got := field(r, name); got != v {
				t.Errorf("%s: %s = %q, want %q", what, name, clipped([]string{got}), v)
			}
		}
	}
	preflight := func(path string, hdr ...string) reply {
		t.Helper()
		r := l.do(http.MethodOptions, port, "cors.example.com", path, hdr...)
		if r.err != nil || r.status != http.StatusNoContent || r.server != "" {
			t.Errorf("preflight %s %q: got %s, want 204 from the load balancer", path, clipped(hdr), r)
		}
		return r
	}
	none := map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": "",
		"Access-Control-Allow-Headers": "", "Access-Control-Expose-Headers": "", "Access-Control-Max-Age": ""}

	// Listed origins, the "*" for one label or several.
	for _, origin := range []string{"https://www.bar.com", "https://xpto.www.bar.com", "HTTPS://XPTO.WWW.Bar.com", "https://www.foo.com"} {
		r := preflight("/list", "Origin", origin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-header-1")
		expect("preflight from "+origin, r, map[string]string{
			"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods": "GET, OPTIONS", "Access-Control-Allow-Headers": "x-header-1, x-header-2",
			"Access-Control-Expose-Headers": "x-header-3, x-header-4", "Access-Control-Max-Age": "3600", "Vary": "Origin",
		})
	}
	hostile := [][]string{
		{"https://bar.com"}, {"https://evil.com"}, {"https://a..bar.com"}, {"https://.bar.com"}, {"https://a_b.bar.com"},
		{"https://evil.com/.bar.com"}, {"https://evil.com?.bar.com"}, {"https://evil.com%0d%0a.bar.com"}, {"https://www.bar.com:8443"},
		{"http://www.bar.com"}, {"null"}, {"https://www.bar.com.evil.com"}, {"https://www.foo.com.bar"},
		{"https://" + strings.Repeat("a.", 3000) + "bar.com"}, {"https://" + strings.Repeat("a.", 150) + "bar.com"},
		{"https://www.bar.com", "https://evil.com"}, {"https://www.bar.com", "https://www.bar.com"},
		{"https://www.bar.com, https://evil.com"}, {"https://\u00e4.bar.com"}, {""},
	}
	for _, origins := range hostile {
		hdr := []string{"Access-Control-Request-Method", "GET"}
		for _, o := range origins {
			hdr = append(hdr, "Origin", o)
		}
		expect(fmt.Sprintf("preflight to /list from %q", clipped(origins)), preflight("/list", hdr...), none)
	}

	// "*" echoed: the Origin, method and headers asked for.
	r := preflight("/echo/x", "Origin", "https://other.foo.com", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-header-1, x-header-2")
	expect("preflight to /echo", r, map[string]string{
		"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Headers": "x-header-1, x-header-2",
		"Access-Control-Expose-Headers": "", "Access-Control-Max-Age": "5", "Vary": "Origin",
	})
	for _, origin := range []string{"HTTP://Odd.Case.example:8080", "https://[2001:db8::1]:8443", "http://10.0.0.1"} {
		expect("preflight to /echo from "+origin, preflight("/echo", "Origin", origin, "Access-Control-Request-Method", "PUT"),
			map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Headers": ""})
	}
	for _, origins := range [][]string{
		{"null"}, {"https://a.example/path"}, {"https://a.example, https://b.example"}, {"https://a.example", "https://b.example"},
		{"https://" + strings.Repeat("a", 400) + ".example"}, {"https://a.example%0d%0aX-Evil:%201"}, {"file://a"}, {"https://a.example:123456"}, {""},
	} {
		hdr := []string{"Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-a"}
		for _, o := range origins {
			hdr = append(hdr, "Origin", o)
		}
		expect(fmt.Sprintf("preflight to /echo from %q", clipped(origins)), preflight("/echo", hdr...), none)
	}
	for _, asked := range [][]string{
		{"Access-Control-Request-Method", "PUT, DELETE", "Access-Control-Request-Headers", "x-a;evil"},
		{"Access-Control-Request-Method", "PUT", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-a", "Access-Control-Request-Headers", "x-b"},
		{"Access-Control-Request-Method", "P%0D%0AUT", "Access-Control-Request-Headers", "x-a%0d%0aX-Evil: 1"},
		{"Access-Control-Request-Method", strings.Repeat("P", 2000), "Access-Control-Request-Headers", strings.Repeat("x-a,", 300) + "x-a"},
		{"Access-Control-Request-Method", "\u00e4", "Access-Control-Request-Headers", "x-\u00e4"},
	} {
		r := preflight("/echo", append([]string{"Origin", "https://other.foo.com"}, asked...)...)
		expect(fmt.Sprintf("preflight to /echo asking %q", clipped(asked)), r, map[string]string{
			"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": "",
		})
	}
	if reqs, _ := echoed.take(); len(reqs) != 0 {
		t.Errorf("backend echoed got %d preflights, want none", len(reqs))
	}

	// Raw CR and LF in the fields: refused, or no grant; never a field
	// of the client's making in the answer.
	for _, raw := range []string{
		"Origin: https://other.foo.com\rX-Evil: 1\r\n",
		"Origin: https://other.foo.com\r\n X-Evil: 1\r\n",
		"Origin: https://other.foo.com\r\nAccess-Control-Request-Headers: x-a\rX-Evil: 1\r\n",
		"Origin: https://other.foo.com\r\nAccess-Control-Request-Headers: x-a,\r\n X-Evil: 1\r\n",
	} {
		req := "OPTIONS /echo HTTP/1.1\r\nHost: cors.example.com\r\nAccess-Control-Request-Method: PUT\r\n" + raw + "Connection: close\r\n\r\n"
		got, _, err := pipeline(l.addr, port, req)
		if err != nil || len(got) != 1 {
			t.Errorf("raw preflight %q: %d answers, %v", raw, len(got), err)
			continue
		}
		a := got[0]
		if len(a.header.Values("X-Evil")) > 0 || strings.Contains(fmt.Sprint(a.header), "Evil") {
			t.Errorf("raw preflight %q: the answer holds the client's field: %v", raw, a.header)
		}
		if a.status != http.StatusBadRequest && a.header.Get("Access-Control-Allow-Headers") != "" {
			t.Errorf("raw preflight %q: %d with Access-Control-Allow-Headers %q, want 400 or none", raw, a.status, a.header.Get("Access-Control-Allow-Headers"))
		}
	}

	// Requests that are not preflights reach the backend, whose grant is
	// replaced.
	get := func(path string, hdr ...string) reply {
		t.Helper()
		r := l.do(http.MethodGet, port, "cors.example.com", path, hdr...)
		if r.err != nil || r.status != http.StatusOK || r.server == "" {
			t.Errorf("GET %s %q: got %s, want 200 from a backend", path, clipped(hdr), r)
		}
		return r
	}
	expect("GET /echo from an origin", get("/echo", "Origin", "https://other.foo.com"), map[string]string{
		"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Credentials": "true", "Vary": "Origin",
	})
	for _, hdr := range [][]string{{"Origin", "null"}, {"Origin", "https://a.example", "Origin", "https://b.example"}, {}} {
		expect(fmt.Sprintf("GET /echo %q", hdr), get("/echo", hdr...), map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Vary": "Origin",
		})
	}
	expect("GET /list from a deep origin", get("/list", "Origin", "https://xpto.www.bar.com"), map[string]string{
		"Access-Control-Allow-Origin": "https://xpto.www.bar.com", "Access-Control-Allow-Credentials": "true",
		"Access-Control-Expose-Headers": "x-header-3, x-header-4",
	})
	expect("GET /list from a refused origin", get("/list", "Origin", "https://foobar.com"), map[string]string{
		"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Expose-Headers": "",
	})

	// Without EchoWildcards "*" is sent as it is, and no credentials.
	r = preflight("/star", "Origin", "https://foobar.com:12345", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "x-a")
	expect("preflight to /star", r, map[string]string{
		"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": "*",
		"Access-Control-Allow-Headers": "*", "Access-Control-Expose-Headers": "*", "Access-Control-Max-Age": "5",
	})
	expect("GET /star", get("/star", "Origin", "https://foobar.com"), map[string]string{
		"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "", "Access-Control-Expose-Headers": "*",
	})
	if reqs, _ := listed.take(); len(reqs) != 2 {
		t.Errorf("backend listed got %d requests, want the 2 that are not preflights", len(reqs))
	}
}
