package builtin

import (
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// TestRouteMatchesLikeLbconfig checks the precompiled matcher against the
// reference in lbconfig.
func TestRouteMatchesLikeLbconfig(t *testing.T) {
	paths := []string{"", "/", "//", "/foo", "/foo/", "/foo//", "/foobar", "/foo/bar", "/foo/bar/", "/foo/barbaz", "/fo", "/FOO", "/a/b/c"}
	for _, m := range []lbconfig.MatchType{lbconfig.MatchExact, lbconfig.MatchPrefix} {
		// Route paths match in their normalized form (lbconfig.NormalizePath).
		for _, rp := range []string{"/", "/foo", "/foo/", "/foo//", "/foo/bar", "/a/b/c/", "/%66oo", "/foo/./bar", "/a/x/../b/c", "/foo%2Fbar"} {
			ref := lbconfig.Route{Path: rp, Match: m, Backend: lbconfig.BackendRef{Name: "b"}}
			pr, err := compileListener(lbconfig.Listener{Port: 80, VirtualHosts: []lbconfig.VirtualHost{{Routes: []lbconfig.Route{ref}}}},
				func(*lbconfig.BackendRef) (*backend, error) { return &backend{}, nil })
			if err != nil {
				t.Fatal(err)
			}
			r := &pr.any.routes[0]
			for _, p := range paths {
				if got, want := r.matches(p), ref.Matches(p); got != want {
					t.Errorf("%s %q vs request %q: matches = %v, lbconfig says %v", m, rp, p, got, want)
				}
			}
		}
	}
}

func TestHostLookupLikeLbconfig(t *testing.T) {
	patterns := []string{"foo.example.com", "*.example.com", "*.b.example.com", "example.com", "*.com"}
	hosts := []string{"foo.example.com", "bar.example.com", "a.b.example.com", "x.a.b.example.com", "example.com", "com", "other.org", "", ".example.com"}
	for _, withCatchAll := range []bool{false, true} {
		l := lbconfig.Listener{Port: 80}
		backends := map[string]*backend{}
		for _, pat := range append(patterns, "") {
			if pat == "" && !withCatchAll {
				continue
			}
			l.VirtualHosts = append(l.VirtualHosts, lbconfig.VirtualHost{Hostname: pat, Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: lbconfig.BackendRef{Name: pat}}}})
			backends[pat] = &backend{name: pat}
		}
		pr, err := compileListener(l, func(r *lbconfig.BackendRef) (*backend, error) {
			if r == nil {
				return nil, nil
			}
			return backends[r.Name], nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			// The reference: exact, then wildcard, then catch-all.
			want := ""
			found := false
			for _, exactPass := range []bool{true, false} {
				for _, pat := range patterns {
					if (pat[0] == '*') != exactPass && lbconfig.HostMatches(pat, h) && !found {
						want, found = pat, true
					}
				}
			}
			if !found && !withCatchAll {
				if b := pr.backendFor(h, "/"); b != nil {
					t.Errorf("host %q: got %q, want no match", h, b.name)
				}
				continue
			}
			if b := pr.backendFor(h, "/"); b == nil || b.name != want {
				t.Errorf("host %q: got %v, want %q", h, b, want)
			}
		}
	}
}

func TestBackendForDoesNotAllocate(t *testing.T) {
	pr := benchRoutes(t)
	allocs := testing.AllocsPerRun(1000, func() {
		for _, h := range []string{"app3.example.com", "x.wild.example.com:8080", "nothing.test"} {
			if pr.backendFor(h, "/api/v2/users/42") == nil {
				t.Fatal("no backend")
			}
		}
	})
	if allocs != 0 {
		t.Errorf("backendFor allocates %.1f times per lookup", allocs)
	}
}

// benchRoutes is a listener with a few dozen hosts and routes.
func benchRoutes(t testing.TB) *portRoutes {
	b := &backend{name: "b"}
	l := lbconfig.Listener{Port: 80, DefaultBackend: &lbconfig.BackendRef{Name: "b"}}
	for i := range 50 {
		name := "app" + string(rune('0'+i%10)) + string(rune('a'+i/10)) + ".example.com"
		if i == 3 {
			name = "app3.example.com"
		}
		l.VirtualHosts = append(l.VirtualHosts, lbconfig.VirtualHost{Hostname: name, Routes: []lbconfig.Route{
			{Path: "/api/v1", Match: lbconfig.MatchExact},
			{Path: "/api/v2", Match: lbconfig.MatchPrefix},
			{Path: "/api", Match: lbconfig.MatchPrefix},
			{Path: "/", Match: lbconfig.MatchPrefix},
		}})
	}
	l.VirtualHosts = append(l.VirtualHosts, lbconfig.VirtualHost{Hostname: "*.wild.example.com", Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix}}})
	pr, err := compileListener(l, func(*lbconfig.BackendRef) (*backend, error) { return b, nil })
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func BenchmarkBackendFor(b *testing.B) {
	pr := benchRoutes(b)
	b.ReportAllocs()
	for b.Loop() {
		pr.backendFor("app3.example.com:8080", "/api/v2/users/42")
	}
}
