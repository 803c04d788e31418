package providertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// testRateLimits checks lbconfig.Route.RateLimit, with clients on three
// loopback addresses (127.0.0.2, .3 and .4: the whole 127.0.0.0/8 is the
// loopback on Linux) counted apart:
//   - a burst over a rate gets the limit's status from the load balancer
//     for the excess, and the backend sees only the admitted requests
//     (Burst+1 of them at once);
//   - another address has its own count; a route of the same zone shares
//     the count, a route without a limit has none;
//   - a rate recovers after its interval;
//   - requests in progress: a second one of the same address is refused
//     while the first holds, another address is not, and the place comes
//     back when the first ends;
//   - 40 clients at once each get their own count;
//   - an exempt address is not limited, and a header naming it exempts
//     no one.
//
// Every loop is bounded in count; counts are compared with a margin for
// time passing on a loaded machine that no unenforced limit fits in.
func (s *Suite) testRateLimits(t *testing.T) {
	l := s.start(t)
	open, limited := l.startBackend("open"), l.startBackend("limited")
	release := make(chan struct{})
	held := l.startRecorder("held", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(converge):
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	t.Cleanup(func() { close(release) })
	port := l.freePort()
	limit := func(r lbconfig.Route, rl lbconfig.RateLimit) lbconfig.Route {
		r.RateLimit = &rl
		return r
	}
	perMinute := lbconfig.RateLimit{Zone: "test/minute", PerMinute: &lbconfig.Rate{Requests: 1, Burst: 4}, StatusCode: 503}
	perSecond := lbconfig.RateLimit{Zone: "test/second", PerSecond: &lbconfig.Rate{Requests: 1, Burst: 2}, StatusCode: 429}
	inProgress := lbconfig.RateLimit{Zone: "test/held", Concurrent: 1, StatusCode: 503}
	exempted := lbconfig.RateLimit{Zone: "test/exempt", PerMinute: &lbconfig.Rate{Requests: 1}, StatusCode: 503,
		Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32"), netip.MustParsePrefix("2001:db8::/32")}}
	// A route with basic authentication and a limit: password guesses
	// count, as in ingress-nginx, whose limits come before auth_basic.
	guarded := limit(prefix("/login", limited), lbconfig.RateLimit{Zone: "test/login", PerMinute: &lbconfig.Rate{Requests: 1, Burst: 2}, StatusCode: 429})
	guarded.BasicAuth = &lbconfig.BasicAuth{Realm: testRealm, Credentials: "test/users"}
	// A redirected route with a limit: the redirect comes first and is
	// never limited, as in ingress-nginx, whose redirects return before
	// its limits run.
	moved := limit(prefix("/moved", limited), lbconfig.RateLimit{Zone: "test/moved", PerMinute: &lbconfig.Rate{Requests: 1, Burst: 1}, StatusCode: 503})
	moved.Redirect = &lbconfig.Redirect{URL: "https://elsewhere.example.org/", StatusCode: 301}
	cfg := config(oneLB(port, nil,
		vhost("rl.example.com",
			prefix("/", open),
			limit(prefix("/minute", limited), perMinute),
			limit(exact("/minute-too", limited), perMinute),
			withHeaders(limit(prefix("/marked", limited), lbconfig.RateLimit{Zone: "test/marked", PerMinute: &lbconfig.Rate{Requests: 1, Burst: 1}, StatusCode: 503})),
			limit(prefix("/second", limited), perSecond),
			limit(route("/held", lbconfig.MatchPrefix, held.ref), inProgress),
			limit(prefix("/exempt", limited), exempted),
			limit(prefix("/many", limited), lbconfig.RateLimit{Zone: "test/many", PerMinute: &lbconfig.Rate{Requests: 1, Burst: 1}, StatusCode: 503}),
			guarded,
			moved,
		),
		// A regular expression route with a rewrite, in the zone of
		// /minute: its count is /minute's.
		vhost("re.example.com", rewritten(limit(route("/re[0-9]+/(.*)", lbconfig.MatchRegex, limited.ref), perMinute), "/minute/$1")),
	), open.pool(), limited.pool(), held.pool())
	cfg.Credentials = []lbconfig.Credentials{{Name: "test/users", Users: []lbconfig.User{{Name: "zoë", Hash: s3cretHashes[lbconfig.HashBcrypt][0]}}}}
	l.apply(cfg)
	// Converged on a route without a limit: one Apply makes every route
	// live at once, and no count is spent waiting.
	l.expect(at(port, "rl.example.com", "/", from(open)))

	a, b, c := l.clientFrom("127.0.0.2"), l.clientFrom("127.0.0.4"), l.clientFrom("127.0.0.3")
	noFollow := *a
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i := range 6 {
		if r := l.get(&noFollow, port, "rl.example.com", "/moved"); r.status != http.StatusMovedPermanently {
			t.Fatalf("redirect %d on a limited route: got %s, want 301 every time", i, r)
		}
	}
	burst := func(client *http.Client, path string, n int, over int) (admitted int) {
		t.Helper()
		host := "rl.example.com"
		if strings.HasPrefix(path, "/re") {
			host = "re.example.com"
		}
		for range n {
			r := l.get(client, port, host, path)
			switch {
			case r.err == nil && r.status == 200 && r.server != "":
				admitted++
			case r.err == nil && r.status == over && r.server == "":
				if !strings.Contains(r.body, "too many requests") {
					t.Errorf("GET %s over the limit: body %q", path, r.body)
				}
			default:
				t.Errorf("GET %s: got %s, want 200 from a backend or %d from the load balancer", path, r, over)
			}
		}
		return admitted
	}

	// Per minute: 5 at once, whatever the time the 20 take (under a
	// minute: the next would come a minute later).
	before := limited.hits.Load()
	if got := burst(a, "/minute", 20, 503); got != 5 {
		t.Errorf("127.0.0.2: %d of 20 requests admitted at 1 per minute with a burst of 4, want 5", got)
	}
	// The same zone on other routes: nothing left.
	for _, path := range []string{"/minute-too", "/re7/x"} {
		if got := burst(a, path, 3, 503); got != 0 {
			t.Errorf("127.0.0.2: %d requests admitted on %s, another route of the spent zone, want 0", got, path)
		}
	}
	if got := limited.hits.Load() - before; got != 5 {
		t.Errorf("the backend saw %d requests, want the 5 admitted", got)
	}
	// Another address is not limited by the first; the regular
	// expression route counts in the zone and rewrites.
	if got := burst(b, "/re1/x", 3, 503) + burst(b, "/minute", 10, 503); got != 5 {
		t.Errorf("127.0.0.4: %d of 13 requests admitted, want 5 of its own", got)
	}
	// A route without a limit is not limited.
	if got := burst(a, "/", 30, 503); got != 30 {
		t.Errorf("127.0.0.2: %d of 30 requests admitted on a route without a limit", got)
	}

	// Per second with a burst of 2: 3 at once, one more per second that
	// the burst takes; then it recovers.
	start := time.Now()
	got := burst(a, "/second", 12, 429)
	if most := 3 + int(time.Since(start)/time.Second) + 1; got < 3 || got > most {
		t.Errorf("127.0.0.2: %d of 12 requests admitted in %v at 1 per second with a burst of 2, want 3 to %d", got, time.Since(start).Round(time.Millisecond), most)
	}
	l.eventually("the per second limit to recover", func() (bool, string) {
		r := l.get(a, port, "rl.example.com", "/second")
		return r.status == 200 && r.server == limited.name, r.String()
	})

	// Requests in progress: one per address.
	done := make(chan reply, 1)
	go func() { done <- l.get(a, port, "rl.example.com", "/held/slow") }()
	l.eventually("the slow request to reach the backend", func() (bool, string) {
		held.mu.Lock()
		defer held.mu.Unlock()
		return len(held.reqs) > 0, "nothing yet"
	})
	if r := l.get(a, port, "rl.example.com", "/held/fast"); !status(503).matches(r) {
		t.Errorf("127.0.0.2: a second request in progress got %s, want 503 from the load balancer", r)
	}
	if r := l.get(b, port, "rl.example.com", "/held/fast"); !from2(held.name).matches(r) {
		t.Errorf("127.0.0.4: a request while 127.0.0.2 holds got %s, want 200 from held", r)
	}
	release <- struct{}{}
	if r := <-done; !from2(held.name).matches(r) {
		t.Errorf("the slow request got %s", r)
	}
	l.eventually("the place to come back", func() (bool, string) {
		r := l.get(a, port, "rl.example.com", "/held/fast")
		return from2(held.name).matches(r), r.String()
	})

	// Exempt: never limited; the others are.
	if got := burst(c, "/exempt", 20, 503); got != 20 {
		t.Errorf("127.0.0.3 (exempt): %d of 20 requests admitted", got)
	}
	if got := burst(a, "/exempt", 5, 503); got != 1 {
		t.Errorf("127.0.0.2: %d of 5 requests admitted at 1 per minute, want 1", got)
	}
	// Many clients at once, each with its own count: 40 addresses send 4
	// requests each, all at the same time; each gets exactly 2.
	const clients = 40
	counts := make(chan int, clients)
	for i := range clients {
		client := l.clientFrom(fmt.Sprintf("127.0.1.%d", i+1))
		go func() {
			n := 0
			for range 4 {
				if r := l.get(client, port, "rl.example.com", "/many"); r.err == nil && r.status == 200 && r.server != "" {
					n++
				}
			}
			counts <- n
		}()
	}
	exact := 0
	for range clients {
		if <-counts == 2 {
			exact++
		}
	}
	if exact != clients {
		t.Errorf("%d of %d clients sending at once got exactly their 2 requests", exact, clients)
	}

	// A route with a limit and a header change: both hold.
	for i := range 3 {
		r := l.get(a, port, "rl.example.com", "/marked")
		switch {
		case i < 2 && (r.status != 200 || r.server != limited.name || r.header.Get("X-Limited") != "marked"):
			t.Errorf("127.0.0.2: /marked request %d: got %s with X-Limited %q, want 200 from limited with X-Limited: marked", i, r, r.header.Get("X-Limited"))
		case i == 2 && !status(503).matches(r):
			t.Errorf("127.0.0.2: /marked request %d: got %s, want 503 from the load balancer", i, r)
		}
	}

	// Basic authentication behind a limit: 3 tries at once, right or
	// wrong, then the limit's 429, even with the right password.
	var statuses []int
	for _, pw := range []string{"wrong", "s3cret", "guess", "s3cret"} {
		statuses = append(statuses, l.get(a, port, "rl.example.com", "/login", "Authorization", basicCredentials("zoë", pw)).status)
	}
	if want := []int{401, 200, 401, 429}; !slices.Equal(statuses, want) {
		t.Errorf("127.0.0.2: /login with a wrong, right, wrong and right password: %v, want %v", statuses, want)
	}

	// Headers that name the exempt address, or another, change nothing:
	// the count is the connection's.
	for _, h := range [][]string{{"X-Forwarded-For", "127.0.0.3"}, {"X-Real-IP", "127.0.0.3"}, {"Forwarded", "for=127.0.0.3"}, {"X-Forwarded-For", "127.0.0.9"}} {
		if r := l.get(a, port, "rl.example.com", "/exempt", h...); !status(503).matches(r) {
			t.Errorf("127.0.0.2 with %s: %s: got %s, want 503 from the load balancer", h[0], h[1], r)
		}
	}
}

// clientFrom is a client whose connections come from the local address
// src, to the suite's listen address.
func (l *lab) clientFrom(src string) *http.Client {
	l.t.Helper()
	local, err := netip.ParseAddr(src)
	if err != nil {
		l.t.Fatalf("providertest: %v", err)
	}
	d := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0)), Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 4,
		DisableCompression:  true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	l.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 2 * converge}
}

// from2 wants 200 from the backend named name.
func from2(name string) want { return want{status: http.StatusOK, backends: []string{name}} }

// withHeaders gives r a response header change, X-Limited: marked.
func withHeaders(r lbconfig.Route) lbconfig.Route {
	r.ResponseHeaders = &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "X-Limited", Value: "marked"}}}
	return r
}

// rewritten gives r a rewrite to path.
func rewritten(r lbconfig.Route, path string) lbconfig.Route {
	r.Rewrite = &lbconfig.Rewrite{Path: path}
	return r
}
