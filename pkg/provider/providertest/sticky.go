package providertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testStickyBackends checks lbconfig.Route.StickyBackends as
// ingress-nginx's affinity-canary-behavior sticky needs it: a client
// whose affinity cookie names the canary's endpoint stays on the canary
// when its weight drops to 0, and one whose cookie names the main
// endpoint stays there; a client without the cookie follows the weights;
// a forged value (a huge one too) or a cookie of another name is drawn
// by weight; without StickyBackends the cookie does not pick the
// backend. A provider without the capability must refuse such a route
// and keep its config serving.
func (s *Suite) testStickyBackends(t *testing.T) {
	l := s.start(t)
	main, canary := l.startBackend("main"), l.startBackend("canary")
	port := l.freePort()
	pol := lbconfig.Policy{Affinity: &lbconfig.Affinity{Type: lbconfig.AffinityByCookie, Cookie: &lbconfig.AffinityCookie{Name: "route"}}}
	pool := func(b *backend) lbconfig.Backend {
		return lbconfig.Backend{Name: b.ref, Policy: pol, Endpoints: []lbconfig.Endpoint{b.endpoint}}
	}
	const host = "sticky.example.com"
	split := func(canaryWeight int32, sticky bool) *lbconfig.Config {
		r := prefix("/", main)
		r.Backends = []lbconfig.WeightedBackend{{Name: canary.ref, Weight: canaryWeight}, {Name: main.ref, Weight: 100 - canaryWeight}}
		r.StickyBackends = sticky
		return config(oneLB(port, nil, vhost(host, r)), pool(main), pool(canary))
	}
	l.apply(split(50, false))
	l.expect(at(port, host, "/", from(main, canary)))
	if !s.Capabilities.StickyBackends {
		cfg := split(50, true)
		cfg.Sort()
		ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
		defer cancel()
		if _, err := l.p.Apply(ctx, cfg); err == nil {
			t.Fatalf("%s: Apply accepted sticky backends, which the provider does not declare", l.p.Name())
		}
		l.expectNow(10, at(port, host, "/", from(main, canary)))
		return
	}
	l.apply(split(50, true))
	// Without a cookie the weights hold: both backends answer, and each
	// answer sets its endpoint's cookie.
	cookies := map[string]string{}
	l.eventually("both backends to answer and set their cookies", func() (bool, string) {
		r := l.get(l.client, port, host, "/")
		if c := cookieFrom(r, "route"); r.err == nil && r.server != "" && c != "" {
			cookies[r.server] = "route=" + c
		}
		return len(cookies) == 2, r.String()
	})
	stays := func(when, cookie, want string) {
		t.Helper()
		for range 20 {
			if r := l.get(l.client, port, host, "/", "Cookie", cookie); r.status != http.StatusOK || r.server != want {
				t.Fatalf("%s: a request with %q got %s, want 200 from %s", when, cookie, r, want)
			}
		}
	}
	stays("at 50%", cookies["canary"], "canary")
	stays("at 50%", cookies["main"], "main")

	// The canary's weight drops to 0: new clients all go to main, the
	// client pinned to the canary stays there.
	l.apply(split(0, true))
	l.expect(at(port, host, "/", from(main)))
	l.expectNow(20, at(port, host, "/", from(main)))
	stays("at 0%", cookies["canary"], "canary")
	stays("at 0%, among other cookies", strings.Repeat("k=v; ", 200)+cookies["canary"], "canary")
	stays("at 0%", cookies["main"], "main")
	for _, forged := range []string{
		cookies["canary"] + "x",
		"route=",
		"route=" + strings.Repeat("z", 4000),
		"other" + cookies["canary"],
		`route="` + strings.TrimPrefix(cookies["canary"], "route=") + `x"`,
	} {
		stays("a forged cookie", forged, "main")
	}

	// Without StickyBackends the cookie does not pick the backend.
	l.apply(split(0, false))
	l.eventually("the canary's cookie to be drawn by weight", func() (bool, string) {
		r := l.get(l.client, port, host, "/", "Cookie", cookies["canary"])
		return r.server == "main", r.String()
	})
	stays("not sticky", cookies["canary"], "main")
}
