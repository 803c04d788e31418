package builtin

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

func compileRoutes(t testing.TB, routes ...lbconfig.Route) *portRoutes {
	t.Helper()
	for i := range routes {
		routes[i].Backend = lbconfig.BackendRef{Name: "b" + strconv.Itoa(i)}
	}
	pr, err := compileListener(lbconfig.Listener{Port: 80, VirtualHosts: []lbconfig.VirtualHost{{Routes: routes}}},
		func(r *lbconfig.BackendRef) (*backend, error) {
			if r == nil {
				return nil, nil
			}
			return &backend{name: r.Name}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func TestRegexRouteMatchesLikeLbconfig(t *testing.T) {
	paths := []string{"/", "/foo", "/FOO", "/foobar", "/foo/bar", "/x/foo", "/foo/BAR/1", "/a%20b"}
	for _, pat := range []string{`/foo`, `(?i)/foo`, `(?i)/foo/bar/(.+)`, `/foo$`, `/a|/b`, `/a%20`, `.*`} {
		ref := lbconfig.Route{Path: pat, Match: lbconfig.MatchRegex}
		r := &compileRoutes(t, ref).any.routes[0]
		for _, p := range paths {
			if got, want := r.matches(p), ref.Matches(p); got != want {
				t.Errorf("%q vs %q: matches = %v, lbconfig says %v", pat, p, got, want)
			}
		}
	}
}

func TestCompileRefusesBadRegex(t *testing.T) {
	for _, rt := range []lbconfig.Route{
		{Path: `/(a+)+$`, Match: lbconfig.MatchRegex},
		{Path: `/(`, Match: lbconfig.MatchRegex},
		{Path: `/(x)`, Match: lbconfig.MatchRegex, Rewrite: &lbconfig.Rewrite{Path: "/$2"}},
		{Path: `/x`, Match: lbconfig.MatchPrefix, Rewrite: &lbconfig.Rewrite{Path: "/a\r\nb"}},
	} {
		rt.Backend = lbconfig.BackendRef{Name: "b"}
		_, err := compileListener(lbconfig.Listener{Port: 80, VirtualHosts: []lbconfig.VirtualHost{{Routes: []lbconfig.Route{rt}}}},
			func(*lbconfig.BackendRef) (*backend, error) { return &backend{}, nil })
		if err == nil {
			t.Errorf("route %q rewrite %v compiled", rt.Path, rt.Rewrite)
		}
	}
}

func TestRewritePath(t *testing.T) {
	for _, tc := range []struct {
		route lbconfig.Route
		path  string
		want  string // "" means refused
	}{
		{lbconfig.Route{Path: `(?i)/something(/|$)(.*)`, Match: lbconfig.MatchRegex, Rewrite: &lbconfig.Rewrite{Path: "/$2"}}, "/SOMETHING/new/x", "/new/x"},
		{lbconfig.Route{Path: `/app/(.*)`, Match: lbconfig.MatchRegex, Rewrite: &lbconfig.Rewrite{Path: "/$1"}}, "/app/", "/"},
		// Re-normalized: a group can bring a dot segment or a slash next
		// to the template's.
		{lbconfig.Route{Path: `/app(.*)`, Match: lbconfig.MatchRegex, Rewrite: &lbconfig.Rewrite{Path: "/x/$1"}}, "/app/y", "/x/y"},
		{lbconfig.Route{Path: `/app(.*)`, Match: lbconfig.MatchRegex, Rewrite: &lbconfig.Rewrite{Path: "/x/$1/../z"}}, "/app/secret", "/x/z"},
		// A group that cuts "%20" in two can make "%2F": refused, never
		// an encoded slash to the backend.
		{lbconfig.Route{Path: `/(a%2)0(.*)`, Match: lbconfig.MatchRegex, Rewrite: &lbconfig.Rewrite{Path: "/$1$2"}}, "/a%20F", ""},
		{lbconfig.Route{Path: `/(a%)(.*)`, Match: lbconfig.MatchRegex, Rewrite: &lbconfig.Rewrite{Path: "/$1$2"}}, "/a%41", "/aA"},
		{lbconfig.Route{Path: `/old`, Match: lbconfig.MatchPrefix, Rewrite: &lbconfig.Rewrite{Path: "/new"}}, "/old/x", "/new"},
	} {
		r := &compileRoutes(t, tc.route).any.routes[0]
		if !r.matches(tc.path) {
			t.Fatalf("%q does not match %q", tc.route.Path, tc.path)
		}
		got, err := r.rewritePath(tc.path)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q on %q = %q, want refused", tc.route.Path, tc.path, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q on %q = %q, %v, want %q", tc.route.Path, tc.path, got, err, tc.want)
		}
	}
}

// BenchmarkRouteLookup compares routing a request among n Regex routes
// with routing it among n Prefix routes; the request matches the last
// route, so every route before it is tried.
func BenchmarkRouteLookup(b *testing.B) {
	for _, n := range []int{10, 100} {
		for _, m := range []lbconfig.MatchType{lbconfig.MatchPrefix, lbconfig.MatchRegex} {
			routes := make([]lbconfig.Route, n)
			for i := range routes {
				// Longer paths first: the request matches the last.
				routes[i] = lbconfig.Route{Path: "/svc" + strings.Repeat("x", n-i) + "/items", Match: m}
				if m == lbconfig.MatchRegex {
					routes[i].Path = "(?i)/svc" + strings.Repeat("x", n-i) + "/items/([0-9]+)"
				}
			}
			pr := compileRoutes(b, routes...)
			path := "/svcx/items/42"
			if pr.routeFor("bench.example.com", path) != &pr.any.routes[n-1] {
				b.Fatalf("%s n=%d: the request does not reach the last route", m, n)
			}
			b.Run(fmt.Sprintf("%s/n=%d", m, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = pr.routeFor("bench.example.com", path)
				}
			})
		}
	}
}

// TestPrefixRewritePath is Gateway API's ReplacePrefixMatch table on
// the compiled route, with hostile paths: long, odd encodings left as
// they came, dot segments already gone.
func TestPrefixRewritePath(t *testing.T) {
	long := strings.Repeat("a", 6000)
	for _, tc := range []struct{ prefix, value, path, want string }{
		{"/foo", "/xyz", "/foo/bar", "/xyz/bar"},
		{"/foo", "/xyz/", "/foo/bar", "/xyz/bar"},
		{"/foo/", "/xyz", "/foo/bar", "/xyz/bar"},
		{"/foo/", "/xyz/", "/foo/bar", "/xyz/bar"},
		{"/foo", "/xyz", "/foo", "/xyz"},
		{"/foo", "/xyz", "/foo/", "/xyz/"},
		{"/foo", "", "/foo/bar", "/bar"},
		{"/foo", "", "/foo/", "/"},
		{"/foo", "", "/foo", "/"},
		{"/foo", "/", "/foo/", "/"},
		{"/foo", "/", "/foo", "/"},
		{"/", "/xyz", "/a%20b", "/xyz/a%20b"},
		{"/foo", "/x%41y", "/foo/" + long, "/xAy/" + long},
	} {
		var r route
		r.path = tc.prefix
		rt := lbconfig.Route{Path: tc.prefix, Match: lbconfig.MatchPrefix, Rewrite: &lbconfig.Rewrite{Type: lbconfig.ReplacePrefixMatch, Path: tc.value}}
		if _, err := r.compileMatch(&rt); err != nil {
			t.Fatal(err)
		}
		got, err := r.rewritePath(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("%s on prefix %s replaced by %q: got %.60q, %v, want %.60q", tc.path, tc.prefix, tc.value, got, err, tc.want)
		}
	}
}
