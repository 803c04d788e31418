package providertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// testRegexRewrite checks lbconfig.MatchRegex routes and Route.Rewrite as
// the ingress-nginx layer writes them: case-insensitive patterns anchored
// at the start only (so "/foo" matches "/foobar"), longest first, the
// first match wins; the backend gets the path the rewrite makes with the
// groups of the normalized path, the query kept. Hostile paths: encoded
// slashes are refused before routing, dot segments and repeated slashes
// are normalized before matching, a long path is rewritten whole, a
// group that cuts a percent-encoding into an encoded slash gets 400 with
// no backend hit, and a pattern with nested repetition is refused by
// Apply while the serving config goes on.
func (s *Suite) testRegexRewrite(t *testing.T) {
	l := s.start(t)
	api, svc1, svc2, svc3, web, cut := l.startBackend("api"), l.startBackend("svc1"), l.startBackend("svc2"), l.startBackend("svc3"), l.startBackend("web"), l.startBackend("cut")
	port := l.freePort()
	regex := func(pattern string, b *backend, rewrite string) lbconfig.Route {
		r := route(pattern, lbconfig.MatchRegex, b.ref)
		if rewrite != "" {
			r.Rewrite = &lbconfig.Rewrite{Path: rewrite}
		}
		return r
	}
	routes := []lbconfig.Route{
		regex("(?i)/something(/|$)(.*)", api, "/$2"),
		regex("(?i)/foo/bar/(.+)", svc3, "/got/$1"),
		regex("/cut/(a%2)0(.*)", cut, "/$1$2"),
		regex("(?i)/foo/bar/", svc2, ""),
		// Allowed (no nested repetition), yet polynomial for PCRE2's
		// backtracking: its match limit bounds it.
		regex("/poly/.*.*.*.*.*x", cut, ""),
		regex("(?i)/foo", svc1, ""),
		regex("(?i)/", web, ""),
	}
	good := config(oneLB(port, nil, vhost("re.example.com", routes...)), api.pool(), svc1.pool(), svc2.pool(), svc3.pool(), web.pool(), cut.pool())
	good.Sort()
	l.apply(good)
	l.expect(
		at(port, "re.example.com", "/foo/bar/1", from(svc3)),
		at(port, "re.example.com", "/FOO/BAR/", from(svc2)),
		at(port, "re.example.com", "/foo/bar", from(svc1)),
		at(port, "re.example.com", "/foobar", from(svc1)),
		at(port, "re.example.com", "/x", from(web)),
		at(port, "re.example.com", "/something/a%2Fb", status(http.StatusBadRequest)),
	)
	long := strings.Repeat("a", 6000)
	for _, tc := range []struct{ path, backend, uri string }{
		{"/foo/bar/1?q=1&r=%2F", "svc3", "/got/1?q=1&r=%2F"},
		{"/Something/new/x?a=b", "api", "/new/x?a=b"},
		{"/something", "api", "/"},
		{"/something//new", "api", "/new"},
		{"/x/../foo/bar/%41", "svc3", "/got/A"},
		{"/FOO/BAR/", "svc2", "/FOO/BAR/"},
		// The query as it came, rewritten or not.
		{"/foobar?x=%7e&y=%2f", "svc1", "/foobar?x=%7e&y=%2f"},
		{"/something/x?x=%7e", "api", "/x?x=%7e"},
		{"/something/" + long, "api", "/" + long},
		{"/cut/a%20Fx", "cut", ""}, // refused: "/a%2Fx" would hold an encoded slash
	} {
		r := l.get(l.client, port, "re.example.com", tc.path)
		if tc.uri == "" {
			if r.status != http.StatusBadRequest || r.server != "" {
				t.Errorf("GET %s: got %s, want 400 from the load balancer", tc.path, r)
			}
			continue
		}
		first, _, _ := strings.Cut(r.body, "\n")
		if r.status != http.StatusOK || r.server != tc.backend || first != tc.backend+" re.example.com"+tc.uri {
			t.Errorf("GET %s: got %s, first line %q, want backend %s to see %s", clipText(tc.path), r, clipText(first), tc.backend, clipText(tc.uri))
		}
	}
	if n := cut.hits.Load(); n != 0 {
		t.Errorf("the backend behind the cut rewrite (and /poly/) got %d requests, want none", n)
	}
	// Validate refuses nested repetition, and so does each provider's
	// Apply, given it anyway: the config that serves goes on.
	redos := config(oneLB(port, nil, vhost("re.example.com", regex("/(a+)+$", web, ""))), web.pool())
	if err := redos.Validate(); err == nil {
		t.Error("Validate accepted the pattern /(a+)+$")
	}
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	if _, err := l.p.Apply(ctx, redos); err == nil {
		t.Errorf("%s: Apply accepted the pattern /(a+)+$", l.p.Name())
	}
	l.expectNow(10, at(port, "re.example.com", "/foobar", from(svc1)))
	// Against long paths that make a backtracking engine work, the
	// patterns answer within a second on both engines.
	for _, tc := range []struct{ path, backend string }{
		{"/" + strings.Repeat("a", 6000) + "!", "web"},
		{"/poly/" + strings.Repeat("a", 6000), "web"},
		{"/poly/" + strings.Repeat("a", 6000) + "x", "cut"},
	} {
		start := time.Now()
		r := l.get(l.client, port, "re.example.com", tc.path)
		if d := time.Since(start); r.status != http.StatusOK || r.server != tc.backend || d > time.Second {
			t.Errorf("GET %s: got %s in %v, want 200 from %s within 1s", clipText(tc.path), r, d, tc.backend)
		}
	}
}

// clipText shortens s for a message.
func clipText(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
