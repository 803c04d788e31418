package providertest

import (
	"net/http"
	"net/netip"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testSourceRanges checks lbconfig.Route.Access: the suite's client
// connects from a loopback address (127.0.0.0/8, never 10.0.0.0/8). A
// client the rule keeps out gets 403 from the load balancer and the
// backend sees nothing of it, whatever forwarding headers it sends; deny
// wins over allow; a route without a rule on the same host is unaffected,
// and so is the default backend.
func (s *Suite) testSourceRanges(t *testing.T) {
	l := s.start(t)
	open, allowed, guarded, def := l.startBackend("open"), l.startBackend("allowed"), l.startBackend("guarded"), l.startBackend("default")
	port := l.freePort()
	with := func(r lbconfig.Route, allow, deny []string) lbconfig.Route {
		r.Access = &lbconfig.Access{Allow: prefixesOf(t, allow), Deny: prefixesOf(t, deny)}
		return r
	}
	l.apply(config(oneLB(port, def.defaultTo(),
		vhost("app.example.com",
			prefix("/", open),
			with(prefix("/allowed", allowed), []string{"127.0.0.0/8", "2001:db8::/32"}, nil),
			with(exact("/allowed-exact", allowed), []string{"127.0.0.0/8"}, []string{"10.0.0.0/8"}),
			with(prefix("/refused", guarded), []string{"10.0.0.0/8", "2001:db8::/32"}, nil),
			with(exact("/refused/exact", guarded), []string{"10.0.0.0/8"}, nil),
			// Deny wins: the client is in both lists.
			with(prefix("/deny-wins", guarded), []string{"127.0.0.0/8"}, []string{"127.0.0.0/9"}),
			with(prefix("/denied", guarded), nil, []string{"127.0.0.0/8", "::1/128"}),
		),
	), open.pool(), allowed.pool(), guarded.pool(), def.pool()))
	forbidden := status(http.StatusForbidden)
	l.expect(
		at(port, "app.example.com", "/", from(open)),
		at(port, "app.example.com", "/other/path", from(open)),
		at(port, "app.example.com", "/allowed", from(allowed)),
		at(port, "app.example.com", "/allowed/x", from(allowed)),
		at(port, "app.example.com", "/allowed-exact", from(allowed)),
		at(port, "app.example.com", "/refused", forbidden),
		at(port, "app.example.com", "/refused/x", forbidden),
		at(port, "app.example.com", "/refused/exact", forbidden),
		at(port, "app.example.com", "/deny-wins", forbidden),
		at(port, "app.example.com", "/denied/x", forbidden),
		// Routed on the normalized path, as any request (a path the
		// builtin's fast path leaves to net/http).
		at(port, "app.example.com", "/refused//x", forbidden),
		at(port, "app.example.com", "/x/../refused", forbidden),
		at(port, "app.example.com", "/allowed//x", from(allowed)),
		// Element-wise prefixes: /refusedx is not /refused's.
		at(port, "app.example.com", "/refusedx", from(open)),
		at(port, "other.example.com", "/refused", from(def)),
	)
	// Headers that claim an allowed address change nothing: the rule
	// reads the connection's.
	for _, path := range []string{"/refused", "/refused/exact", "/deny-wins"} {
		r := l.get(l.client, port, "app.example.com", path,
			"X-Forwarded-For", "10.1.2.3", "X-Real-IP", "10.1.2.3", "Forwarded", "for=10.1.2.3")
		if !forbidden.matches(r) {
			t.Errorf("GET %s with X-Forwarded-For 10.1.2.3: got %s, want %s", path, r, forbidden)
		}
	}
	if n := guarded.hits.Load(); n != 0 {
		t.Errorf("the backend behind the refused routes got %d requests, want none", n)
	}
}

func prefixesOf(t *testing.T, ss []string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatalf("providertest: %v", err)
		}
		out = append(out, p)
	}
	return out
}
