package providertest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testHostFallThrough checks lbconfig.VirtualHost.FallThrough, laid out
// as one Gateway listener's route hostnames: "a.example.com" with "/api"
// and "/v2" for version 2 only, "*.example.com" with "/", a longer
// "/api/long", a redirect keeping the request's host and a route for
// 10.0.0.0/8 only, "*.b.example.com" with "/b", "c.b.example.com" with
// "/c" exactly, a chain of eight nested wildcards, 300 exact hosts with
// a path each, and the catch-all with "/x". A request tries its own
// hostname's routes first, then the less specific ones', hostname
// before path: the exact host's "/api" takes "/api/long" from the
// wildcard's longer path; what each route carries comes along (the
// redirect, the 403). Host forms (case, port, trailing dot) change
// nothing; a host no wildcard takes gets the catch-all's "/x" or 404;
// a second listener with the same hostnames and no links keeps
// requests on their own hostname (404), as Ingress does and Gateway
// listeners do across listeners.
func (s *Suite) testHostFallThrough(t *testing.T) {
	l := s.start(t)
	a, a2, wild, long, deep, c, mid, deepest, many, any := l.startBackend("a"), l.startBackend("a2"), l.startBackend("wild"),
		l.startBackend("long"), l.startBackend("deep"), l.startBackend("c"), l.startBackend("mid"), l.startBackend("deepest"),
		l.startBackend("many"), l.startBackend("any")
	port, isolated := l.freePort(), l.freePort()
	to := func(vh lbconfig.VirtualHost, name string) lbconfig.VirtualHost {
		vh.FallThrough = &name
		return vh
	}
	wildcard := func(vh lbconfig.VirtualHost) lbconfig.VirtualHost {
		vh.MultiLabel = true
		return vh
	}
	redirect := prefix("/go", wild)
	redirect.Redirect = &lbconfig.Redirect{RequestHost: true, StatusCode: http.StatusFound}
	guarded := prefix("/guarded", wild)
	guarded.Access = &lbconfig.Access{Allow: prefixesOf(t, []string{"10.0.0.0/8"})}
	hosts := []lbconfig.VirtualHost{
		vhost("", prefix("/x", any)),
		to(wildcard(vhost("*.example.com", prefix("/", wild), prefix("/api/long", long), redirect, guarded)), ""),
		to(wildcard(vhost("*.b.example.com", prefix("/b", deep))), "*.example.com"),
		to(vhost("a.example.com", prefix("/api", a), withMatches(prefix("/v2", a2), "", "2")), "*.example.com"),
		to(vhost("c.b.example.com", exact("/c", c)), "*.b.example.com"),
	}
	// Nested wildcards: *.d1.example.com, *.d2.d1.example.com, ...,
	// each falling through to its parent; the fourth has "/mid", the
	// deepest "/deepest".
	parent, suffix := "*.example.com", "example.com"
	for i := 1; i <= 8; i++ {
		suffix = "d" + strconv.Itoa(i) + "." + suffix
		vh := wildcard(vhost("*." + suffix))
		switch i {
		case 4:
			vh.Routes = []lbconfig.Route{prefix("/mid", mid)}
		case 8:
			vh.Routes = []lbconfig.Route{prefix("/deepest", deepest)}
		}
		hosts = append(hosts, to(vh, parent))
		parent = "*." + suffix
	}
	deepHost := "x." + suffix
	for i := range 300 {
		hosts = append(hosts, to(vhost("h"+strconv.Itoa(i)+".example.com", exact("/only"+strconv.Itoa(i), many)), "*.example.com"))
	}
	// The second listener: the same hostnames, without links.
	var plain []lbconfig.VirtualHost
	for _, vh := range hosts[:5] {
		vh.FallThrough = nil
		plain = append(plain, vh)
	}
	l.apply(config([]lbconfig.LoadBalancer{loadBalancer("default", listener(port, nil, hosts...), listener(isolated, nil, plain...))},
		a.pool(), a2.pool(), wild.pool(), long.pool(), deep.pool(), c.pool(), mid.pool(), deepest.pool(), many.pool(), any.pool()))
	notFound := status(http.StatusNotFound)
	l.expect(
		// The exact host's own routes, its shorter path before the
		// wildcard's longer one.
		at(port, "a.example.com", "/api", from(a)),
		at(port, "a.example.com", "/api/long", from(a)),
		at(port, "a.example.com", "/api/long/more", from(a)),
		// Then the wildcard's, then nothing of the catch-all: the
		// wildcard's "/" takes everything first.
		at(port, "a.example.com", "/other", from(wild)),
		at(port, "a.example.com", "/", from(wild)),
		at(port, "a.example.com", "/x", from(wild)),
		at(port, "a.example.com", "/apix", from(wild)),
		// A route whose header does not match falls through too.
		at(port, "a.example.com", "/v2", from(wild)),
		// Host forms.
		at(port, "A.EXAMPLE.com:8080", "/api/long", from(a)),
		at(port, "a.example.com.", "/other", from(wild)),
		at(port, "A.Example.Com.:80", "/other", from(wild)),
		// Other hosts under the wildcard.
		at(port, "x.example.com", "/api/long", from(long)),
		at(port, "x.example.com", "/api", from(wild)),
		at(port, "x.b.example.com", "/b/1", from(deep)),
		at(port, "x.b.example.com", "/api/long", from(long)),
		at(port, "y.x.b.example.com", "/z", from(wild)),
		at(port, "b.example.com", "/b", from(wild)),
		// Two labels below: c.b.example.com, then *.b, then *.example.com.
		at(port, "c.b.example.com", "/c", from(c)),
		at(port, "c.b.example.com", "/c/d", from(wild)),
		at(port, "c.b.example.com", "/b", from(deep)),
		at(port, "c.b.example.com", "/api/long", from(long)),
		// Deep chains.
		at(port, deepHost, "/deepest/1", from(deepest)),
		at(port, deepHost, "/mid", from(mid)),
		at(port, deepHost, "/api/long", from(long)),
		at(port, deepHost, "/b", from(wild)),
		at(port, "x.d3.d2.d1.example.com", "/deepest", from(wild)),
		// Many hosts.
		at(port, "h0.example.com", "/only0", from(many)),
		at(port, "h299.example.com", "/only299", from(many)),
		at(port, "h150.example.com", "/only151", from(wild)),
		at(port, "h150.example.com", "/only150/", from(wild)),
		// Hosts no wildcard takes: the catch-all, else 404.
		at(port, "example.com", "/x", from(any)),
		at(port, "example.com", "/y", notFound),
		at(port, "other.org", "/x/1", from(any)),
		at(port, "other.org", "/", notFound),
		at(port, "aexample.com", "/api", notFound),
		at(port, "127.0.0.1", "/x", from(any)),
		// The listener without links: its own hostname only.
		at(isolated, "a.example.com", "/api/long", from(a)),
		at(isolated, "a.example.com", "/other", notFound),
		at(isolated, "c.b.example.com", "/b", notFound),
		at(isolated, "x.b.example.com", "/api", notFound),
		at(isolated, "x.example.com", "/other", from(wild)),
		at(isolated, "other.org", "/x", from(any)),
	)
	// What the wildcard's routes carry comes along.
	for _, host := range []string{"a.example.com", "A.Example.com:8080", "c.b.example.com."} {
		r := l.rawGet(port, host, "/go/1?q=2")
		want := "http://" + strings.TrimSuffix(strings.ToLower(strings.Split(host, ":")[0]), ".") + ":" + strconv.Itoa(int(port)) + "/go/1?q=2"
		if loc := r.header.Get("Location"); r.err != nil || r.status != http.StatusFound || r.server != "" || loc != want {
			t.Errorf("GET /go/1?q=2 (Host %q): %s, Location %q; want 302 from the load balancer to %q", host, r, loc, want)
		}
	}
	l.expect(
		at(port, "a.example.com", "/guarded", status(http.StatusForbidden)),
		at(port, deepHost, "/guarded", status(http.StatusForbidden)),
	)
	if r := l.do("GET", port, "a.example.com", "/v2", "Version", "2"); !from(a2).matches(r) {
		t.Errorf("GET /v2 (Host a.example.com, version 2): %s, want %s", r, from(a2))
	}
}
