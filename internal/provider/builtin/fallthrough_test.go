package builtin

import (
	"bytes"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// fallThroughHosts is a Gateway listener's hostnames: "a.example.com"
// with "/api" only, "*.example.com" with a longer "/api/long" and
// "/", "*.b.example.com" with "/b", the catch-all with "/x", each
// falling through to the next less specific.
func fallThroughHosts() []lbconfig.VirtualHost {
	to := func(h string) *string { return &h }
	wild := vh("*.example.com", prefix("/api/long", "wild-long"), prefix("/", "wild"))
	wild.MultiLabel, wild.FallThrough = true, to("")
	b := vh("*.b.example.com", prefix("/b", "b"))
	b.MultiLabel, b.FallThrough = true, to("*.example.com")
	a := vh("a.example.com", prefix("/api", "a"))
	a.FallThrough = to("*.example.com")
	return []lbconfig.VirtualHost{vh("", prefix("/x", "any")), wild, b, a}
}

// TestRouteForFallsThroughLikeLbconfig: the compiled lookups, fast and
// net/http's, pick the route lbconfig.Listener.VirtualHostsFor's chain
// gives, the exact host's shorter path before a wildcard's longer one.
func TestRouteForFallsThroughLikeLbconfig(t *testing.T) {
	l := lbconfig.Listener{Port: 80, VirtualHosts: fallThroughHosts()}
	pr, err := compileListener(l, func(r *lbconfig.BackendRef) (*backend, error) {
		if r == nil {
			return nil, nil
		}
		return &backend{name: r.Name}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reference := func(host, path string) string {
		for _, vh := range l.VirtualHostsFor(host) {
			for _, rt := range vh.Routes {
				if rt.Matches(path) {
					return rt.Backend.Name
				}
			}
		}
		return ""
	}
	cases := map[[2]string]string{
		{"a.example.com", "/api/long"}:   "a",
		{"a.example.com", "/api"}:        "a",
		{"a.example.com", "/other"}:      "wild",
		{"a.example.com", "/x"}:          "wild",
		{"x.example.com", "/api/long/y"}: "wild-long",
		{"x.b.example.com", "/b/c"}:      "b",
		{"x.b.example.com", "/api/long"}: "wild-long",
		{"y.x.b.example.com", "/z"}:      "wild",
		{"other.org", "/x"}:              "any",
		{"other.org", "/y"}:              "",
		{"example.com", "/x"}:            "any",
	}
	for hp, want := range cases {
		if ref := reference(hp[0], hp[1]); ref != want {
			t.Fatalf("reference(%q, %q) = %q, want %q", hp[0], hp[1], ref, want)
		}
		name := func(rt *route) string {
			if rt == nil {
				return ""
			}
			return rt.backend.name
		}
		if got := name(pr.routeFor(hp[0], hp[1])); got != want {
			t.Errorf("routeFor(%q, %q) = %q, want %q", hp[0], hp[1], got, want)
		}
		r := httptest.NewRequest("GET", "http://"+hp[0]+hp[1], nil)
		if got := name(pr.routeForRequest(r, hp[1])); got != want {
			t.Errorf("routeForRequest(%q, %q) = %q, want %q", hp[0], hp[1], got, want)
		}
	}
	if allocs := testing.AllocsPerRun(1000, func() { _ = pr.routeFor("y.x.b.example.com", "/z") }); allocs != 0 {
		t.Errorf("%v allocations per lookup through three virtual hosts, want 0", allocs)
	}
}

// FuzzFallThrough: for any Host and path, the compiled lookup picks the
// route lbconfig.Listener.VirtualHostsFor's chain gives.
func FuzzFallThrough(f *testing.F) {
	for _, s := range [][2]string{{"a.example.com", "/api/long"}, {"A.Example.COM.:80", "/other"}, {"y.x.b.example.com", "/b"}, {"", "/x"}, {"[::1]:80", "/"}} {
		f.Add(s[0], s[1])
	}
	l := lbconfig.Listener{Port: 80, VirtualHosts: fallThroughHosts()}
	pr, err := compileListener(l, func(r *lbconfig.BackendRef) (*backend, error) {
		if r == nil {
			return nil, nil
		}
		return &backend{name: r.Name}, nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		want := ""
	chain:
		for _, vh := range l.VirtualHostsFor(lbconfig.NormalizeHost(host)) {
			for _, rt := range vh.Routes {
				if rt.Matches(path) {
					want = rt.Backend.Name
					break chain
				}
			}
		}
		got := ""
		if rt := pr.routeFor(host, path); rt != nil {
			got = rt.backend.name
		}
		if got != want {
			t.Errorf("Host %q, path %q: routed to %q, want %q", host, path, got, want)
		}
	})
}

// TestFastPathFallThroughAllocatesNothing: a request that falls through
// from an exact host to a wildcard's route is served on the keep-alive
// fast path without a heap allocation (the routes it takes are
// TestRouteForFallsThroughLikeLbconfig's; here every backend is one
// that allocates nothing).
func TestFastPathFallThroughAllocatesNothing(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	var served atomic.Int64
	ep := preparedBackend(t, &served)
	var backends []lbconfig.Backend
	for _, name := range []string{"a", "any", "b", "wild", "wild-long"} {
		backends = append(backends, backendOf(name, ep))
	}
	mustApply(t, p, oneListener(port, backends, nil, fallThroughHosts()...))
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	for _, request := range []string{
		"GET /api/long HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
		"GET /other HTTP/1.1\r\nHost: a.example.com:80\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: y.x.b.example.com.\r\n\r\n",
	} {
		allocs, buf := keepAliveAllocs(t, addr, []byte(request), nil)
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 OK\r\n")) {
			t.Fatalf("%q: response %.40q, want 200", request, buf)
		}
		if allocs != 0 {
			t.Errorf("%q: %v allocations per request, want 0", request, allocs)
		}
	}
}
