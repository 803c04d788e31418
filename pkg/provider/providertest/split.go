package providertest

import (
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// canaryRoutes are the routes of an ingress-nginx canary on path "/",
// as the translator gives them: header x-canary always and never, header
// x-value exactly "v2", header x-pattern by regex, cookie canary always
// and never, then rest, the route without conditions.
func canaryRoutes(canary, main *backend, rest lbconfig.Route) []lbconfig.Route {
	hdr := func(b *backend, name string, typ lbconfig.HeaderMatchType, value string) lbconfig.Route {
		r := prefix("/", b)
		r.Headers = []lbconfig.HeaderMatch{{Name: name, Type: typ, Value: value}}
		return r
	}
	cookie := func(b *backend, value string) lbconfig.Route {
		r := prefix("/", b)
		r.Cookies = []lbconfig.CookieMatch{{Name: "canary", Value: value}}
		return r
	}
	return []lbconfig.Route{
		hdr(canary, "x-canary", lbconfig.HeaderExact, "always"),
		hdr(main, "x-canary", lbconfig.HeaderExact, "never"),
		hdr(canary, "x-value", lbconfig.HeaderExact, "v2"),
		hdr(canary, "x-pattern", lbconfig.HeaderRegularExpression, "^(?i)beta-[0-9]+$"),
		cookie(canary, "always"),
		cookie(main, "never"),
		rest,
	}
}

// weighted is a route on path to main and canary with these weights.
func weighted(path string, main, canary *backend, mainWeight, canaryWeight int32) lbconfig.Route {
	r := prefix(path, main)
	r.Backends = []lbconfig.WeightedBackend{{Name: main.ref, Weight: mainWeight}, {Name: canary.ref, Weight: canaryWeight}}
	return r
}

// testRequestMatches checks lbconfig.Route.Headers, Cookies and Backends
// with an ingress-nginx canary's routes: header before cookie before
// weight, "never" keeping a request on the main backend, the first field
// of a name only, cookies found among many fields and in a large one,
// names without regard to case and values as they are; weights 0 and 100
// exactly, and 30% within a bound that 0% or 100% cannot meet.
func (s *Suite) testRequestMatches(t *testing.T) {
	l := s.start(t)
	main, canary := l.startBackend("main"), l.startBackend("canary")
	port := l.freePort()
	strict := canaryRoutes(canary, main, prefix("/", main))
	split := canaryRoutes(canary, main, weighted("/", main, canary, 70, 30))
	// The same on Regex routes (ingress-nginx's regex mode).
	regex := canaryRoutes(canary, main, prefix("/", main))
	for i := range regex {
		regex[i].Path, regex[i].Match = "(?i)/", lbconfig.MatchRegex
	}
	l.apply(config(oneLB(port, nil,
		vhost("strict.example.com", strict...),
		vhost("regex.example.com", regex...),
		vhost("split.example.com", split...),
		vhost("weights.example.com", weighted("/zero", main, canary, 100, 0), weighted("/all", main, canary, 0, 100)),
	), main.pool(), canary.pool()))
	l.expect(
		at(port, "strict.example.com", "/", from(main)),
		at(port, "weights.example.com", "/zero", from(main)),
		at(port, "weights.example.com", "/all/x", from(canary)),
	)

	bigJunk := strings.Repeat("j", 4000)
	manyCookies := []string{}
	for i := range 40 {
		manyCookies = append(manyCookies, "Cookie", "k"+strings.Repeat("x", i)+"=v")
	}
	for _, tc := range []struct {
		name string
		hdr  []string
		want *backend
	}{
		{"nothing", nil, main},
		{"header always", []string{"X-Canary", "always"}, canary},
		{"header name upper case", []string{"X-CANARY", "always"}, canary},
		{"header value case kept", []string{"X-Canary", "Always"}, main},
		{"header value with a comma", []string{"X-Canary", "always, never"}, main},
		{"header value percent-encoded", []string{"X-Canary", "%61lways"}, main},
		{"first header field only", []string{"X-Canary", "other", "X-Canary", "always"}, main},
		{"header never wins over cookie always", []string{"X-Canary", "never", "Cookie", "canary=always"}, main},
		{"header always wins over cookie never", []string{"X-Canary", "always", "Cookie", "canary=never"}, canary},
		{"header value", []string{"X-Value", "v2"}, canary},
		{"header value not a prefix", []string{"X-Value", "v20"}, main},
		{"header pattern", []string{"X-Pattern", "BETA-42"}, canary},
		{"header pattern anchored", []string{"X-Pattern", "beta-42x"}, main},
		{"cookie always", []string{"Cookie", "a=1; canary=always; b=2"}, canary},
		{"cookie never", []string{"Cookie", "canary=never"}, main},
		{"cookie name case", []string{"Cookie", "Canary=always"}, main},
		{"cookie inside another", []string{"Cookie", "xcanary=always; canary-x=always"}, main},
		{"cookie value percent-encoded", []string{"Cookie", "canary=%61lways"}, main},
		{"cookie in a large field", []string{"Cookie", "junk=" + bigJunk + "; canary=always"}, canary},
		{"cookie after many fields", append(append([]string{}, manyCookies...), "Cookie", "canary=always"), canary},
	} {
		for _, host := range []string{"strict.example.com", "regex.example.com", "split.example.com"} {
			if host == "split.example.com" && tc.want == main {
				continue // the weighted route may take it to either
			}
			r := l.get(l.client, port, host, "/x", tc.hdr...)
			if !from(tc.want).matches(r) {
				t.Errorf("%s on %s: got %s, want %s", tc.name, host, r, from(tc.want))
			}
		}
	}
	// "never" keeps every request on main, whatever the weight says.
	for range 20 {
		for _, hdr := range [][]string{{"X-Canary", "never"}, {"Cookie", "canary=never"}} {
			if r := l.get(l.client, port, "split.example.com", "/", hdr...); !from(main).matches(r) {
				t.Fatalf("%s on the weighted host: got %s, want %s", hdr, r, from(main))
			}
		}
	}
	l.expectNow(50, at(port, "weights.example.com", "/zero/y", from(main)), at(port, "weights.example.com", "/all", from(canary)))
	l.checkShare(port, "split.example.com", canary, main, 0.30)
}

// checkShare sends up to 2000 requests (for at most a minute) and checks
// that share of those answered came from b, the rest from other: within
// 5 points, about five standard deviations at 2000 requests, which a
// split of 0% or 100% cannot meet.
func (l *lab) checkShare(port int32, host string, b, other *backend, share float64) {
	l.t.Helper()
	deadline := time.Now().Add(time.Minute)
	n, got := 0, 0
	for n < 2000 && time.Now().Before(deadline) {
		r := l.get(l.client, port, host, "/")
		switch {
		case from(b).matches(r):
			got++
		case !from(other).matches(r):
			l.t.Fatalf("request %d to %s: got %s, want %s", n, host, r, from(b, other))
		}
		n++
	}
	if n < 500 {
		l.t.Fatalf("only %d requests in a minute", n)
	}
	if f := float64(got) / float64(n); f < share-0.05 || f > share+0.05 {
		l.t.Errorf("%s: %d of %d requests (%.1f%%) went to %s, want %.0f%% ± 5", host, got, n, 100*f, b.name, 100*share)
	}
}
