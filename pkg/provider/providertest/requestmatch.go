package providertest

import (
	"net/http"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// withMatches returns r with method m (if not ""), header "version" (if
// not "") and query parameter matches name, value pairs.
func withMatches(r lbconfig.Route, m, version string, query ...string) lbconfig.Route {
	r.Method = m
	if version != "" {
		r.Headers = append(r.Headers, lbconfig.HeaderMatch{Name: "version", Type: lbconfig.HeaderExact, Value: version})
	}
	for i := 0; i+1 < len(query); i += 2 {
		r.QueryParams = append(r.QueryParams, lbconfig.QueryParamMatch{Name: query[i], Type: lbconfig.HeaderExact, Value: query[i+1]})
	}
	return r
}

// matchCase is a request and the backend that must answer it, nil for
// 404 from the load balancer.
type matchCase struct {
	method, host, target, version string
	want                          *backend
}

// checkMatches sends every case and reports those answered wrongly.
func (l *lab) checkMatches(port int32, cases []matchCase) {
	l.t.Helper()
	for _, tc := range cases {
		var hdr []string
		if tc.version != "" {
			hdr = []string{"Version", tc.version}
		}
		r := l.do(tc.method, port, tc.host, tc.target, hdr...)
		w := status(http.StatusNotFound)
		if tc.want != nil {
			w = from(tc.want)
		}
		if !w.matches(r) {
			l.t.Errorf("%s %.80s on %s (version %q): got %s, want %s", tc.method, tc.target, tc.host, tc.version, r, w)
		}
	}
}

// testQueryAndMethodMatches checks lbconfig.Route.Method and QueryParams
// with the routes of Gateway API's HTTPRouteMethodMatching and
// HTTPRouteQueryParamMatching conformance tests, which have no route
// free of conditions on "/": exact, case-sensitive methods (HEAD is not
// GET), conditions ANDed, matches ORed as routes, names case-sensitive,
// the first parameter of a name, values undecoded ("%77hale" and
// "whale%00" are not "whale"), ";" as a separator, a parameter after a
// 6 KB query, a regular expression anchored on the value; requests no
// route takes get 404; a 104 KB query is refused before routing.
func (s *Suite) testQueryAndMethodMatches(t *testing.T) {
	l := s.start(t)
	v1, v2, v3 := l.startBackend("v1"), l.startBackend("v2"), l.startBackend("v3")
	port := l.freePort()
	p := func(path string, b *backend) lbconfig.Route { return prefix(path, b) }
	method := []lbconfig.Route{
		withMatches(p("/", v1), "POST", ""),
		withMatches(p("/", v2), "GET", ""),
		withMatches(p("/path1", v1), "GET", ""),
		withMatches(p("/", v2), "PUT", "one"),
		withMatches(p("/path2", v3), "POST", "two"),
		withMatches(p("/path3", v1), "PATCH", ""),
		withMatches(p("/path4", v1), "DELETE", "three"),
		p("/path5", v1),
		withMatches(p("/", v2), "PATCH", ""),
		withMatches(p("/", v3), "", "four"),
	}
	regex := p("/re", v2)
	regex.QueryParams = []lbconfig.QueryParamMatch{{Name: "n", Type: lbconfig.HeaderRegularExpression, Value: "^[0-9]{1,3}$"}}
	query := []lbconfig.Route{
		withMatches(p("/", v1), "", "", "animal", "whale"),
		withMatches(p("/", v2), "", "", "animal", "dolphin"),
		withMatches(p("/", v3), "", "", "animal", "dolphin", "color", "blue"),
		withMatches(p("/", v3), "", "", "ANIMAL", "Whale"),
		withMatches(p("/path1", v1), "", "", "animal", "whale"),
		withMatches(p("/", v2), "", "one", "animal", "whale"),
		withMatches(p("/path2", v3), "", "two", "animal", "whale"),
		withMatches(p("/path3", v1), "", "", "animal", "shark"),
		withMatches(p("/path4", v1), "", "three", "animal", "kraken"),
		p("/path5", v1),
		withMatches(p("/", v2), "", "", "animal", "hydra"),
		withMatches(p("/", v3), "", "four"),
		withMatches(p("/nul", v2), "", "", "animal", "whale%00"),
		regex,
	}
	l.apply(config(oneLB(port, nil, vhost("method.example.com", method...), vhost("query.example.com", query...)), v1.pool(), v2.pool(), v3.pool()))
	l.expect(at(port, "query.example.com", "/path5", from(v1)), at(port, "query.example.com", "/?animal=whale", from(v1)))

	const m, qh = "method.example.com", "query.example.com"
	bigQuery := strings.Repeat("junk=0123456789&", 400) // 6.4 KB
	l.checkMatches(port, []matchCase{
		{"POST", m, "/", "", v1},
		{"GET", m, "/", "", v2},
		{"HEAD", m, "/", "", nil},
		{"get", m, "/", "", nil},
		{"GET", m, "/path1", "", v1},
		{"PUT", m, "/", "one", v2},
		{"POST", m, "/path2", "two", v3},
		{"PATCH", m, "/path3", "", v1},
		{"DELETE", m, "/path4", "three", v1},
		{"PUT", m, "/", "", nil},
		{"DELETE", m, "/path4", "", nil},
		{"PATCH", m, "/path5", "", v1},
		{"PATCH", m, "/", "four", v2},
		// A group none of whose routes match falls through to "/".
		{"POST", m, "/path2/x", "", v1},
		{"GET", m, "/path4", "three", v2},

		{"GET", qh, "/?animal=whale", "", v1},
		{"GET", qh, "/?animal=dolphin", "", v2},
		{"GET", qh, "/?animal=dolphin&color=blue", "", v3},
		{"GET", qh, "/?ANIMAL=Whale", "", v3},
		{"GET", qh, "/?animal=whale&otherparam=irrelevant", "", v1},
		{"GET", qh, "/?animal=dolphin&color=yellow", "", v2},
		{"GET", qh, "/?color=blue", "", nil},
		{"GET", qh, "/?animal=dog", "", nil},
		{"GET", qh, "/?animal=whaledolphin", "", nil},
		{"GET", qh, "/", "", nil},
		{"GET", qh, "/path1?animal=whale", "", v1},
		{"GET", qh, "/?animal=whale", "one", v2},
		{"GET", qh, "/path2?animal=whale", "two", v3},
		{"GET", qh, "/path3?animal=shark", "", v1},
		{"GET", qh, "/path4?animal=kraken", "three", v1},
		{"GET", qh, "/?animal=shark", "", nil},
		{"GET", qh, "/path4?animal=kraken", "", nil},
		{"GET", qh, "/path5?animal=hydra", "", v1},
		{"GET", qh, "/?animal=hydra", "four", v3},
		// Hostile and odd queries.
		{"GET", qh, "/?animal=whale&animal=dolphin", "", v1},
		{"GET", qh, "/?animal=dolphin&animal=whale", "", v2},
		{"GET", qh, "/?Animal=whale", "", nil},
		{"GET", qh, "/?animal=%77hale", "", nil},
		{"GET", qh, "/?%61nimal=whale", "", nil},
		{"GET", qh, "/?animal=whale%00", "", nil},
		{"GET", qh, "/?animal", "", nil},
		{"GET", qh, "/?x=1;animal=dolphin", "", v2},
		{"GET", qh, "/?xanimal=whale", "", nil},
		{"GET", qh, "/?" + bigQuery + "animal=dolphin", "", v2},
		{"GET", qh, "/path2/deep?animal=whale", "two", v3},
		{"GET", qh, "/nul?animal=whale%00", "", v2},
		{"GET", qh, "/nul?animal=whale", "", v1},
		{"GET", qh, "/re?n=42", "", v2},
		{"GET", qh, "/re?n=4242", "", nil},
		{"GET", qh, "/re?n=42%0A", "", nil},
		{"GET", qh, "/re?n=42&n=x", "", v2},
		{"GET", qh, "/re?n=x&n=42", "", nil},
	})
	// A query far over any head limit is refused by the load balancer,
	// matched against nothing: an answer of its own, or a connection
	// closed before the client sent it all (HAProxy, when the head
	// cannot fit its buffer).
	huge := "/?" + strings.Repeat("animal=whale&", 8000) + "animal=whale"
	before := v1.hits.Load()
	r := l.do("GET", port, qh, huge)
	if r.err == nil && (r.server != "" || (r.status != http.StatusRequestHeaderFieldsTooLarge && r.status != http.StatusBadRequest && r.status != http.StatusRequestURITooLong)) {
		t.Errorf("GET /?<104 KB query>: got %d from %q, want 400, 414 or 431 from the load balancer", r.status, r.server)
	}
	if n := v1.hits.Load() - before; n != 0 {
		t.Errorf("GET /?<104 KB query> reached backend v1 %d times", n)
	}
}

// testMatchPrecedence checks that both providers order the routes of a
// host as Gateway API does, with routes given in the worst order: an
// exact path before a prefix, the longest prefix before a method match,
// a method match before header matches, more header matches before
// fewer, header matches before query matches, more query matches before
// fewer, query matches before cookie matches; a request that meets none
// of a path's conditions goes on to a shorter prefix.
func (s *Suite) testMatchPrecedence(t *testing.T) {
	l := s.start(t)
	a, b, c := l.startBackend("a"), l.startBackend("b"), l.startBackend("c")
	port := l.freePort()
	hdrs := func(r lbconfig.Route, names ...string) lbconfig.Route {
		for _, n := range names {
			r.Headers = append(r.Headers, lbconfig.HeaderMatch{Name: n, Type: lbconfig.HeaderExact, Value: "1"})
		}
		return r
	}
	cookie := func(r lbconfig.Route) lbconfig.Route {
		r.Cookies = []lbconfig.CookieMatch{{Name: "k", Value: "1"}}
		return r
	}
	routes := []lbconfig.Route{
		prefix("/", c),
		cookie(prefix("/cq", a)),
		withMatches(prefix("/cq", b), "", "", "q", "1"),
		withMatches(prefix("/qq", a), "", "", "q", "1"),
		withMatches(prefix("/qq", b), "", "", "q", "1", "r", "1"),
		withMatches(prefix("/hq", a), "", "", "q", "1", "r", "1"),
		hdrs(prefix("/hq", b), "x-h"),
		hdrs(prefix("/hh", a), "x-h"),
		hdrs(prefix("/hh", b), "x-h", "x-i"),
		hdrs(prefix("/mh", a), "x-h", "x-i"),
		withMatches(prefix("/mh", b), "GET", ""),
		withMatches(prefix("/", a), "GET", ""),
		prefix("/long", b),
		withMatches(exact("/exact", b), "GET", ""),
		prefix("/exact", a),
		withMatches(prefix("/fall/deeper", a), "POST", ""),
		withMatches(prefix("/fall", b), "", "", "q", "1"),
	}
	l.apply(config(oneLB(port, nil, vhost("prec.example.com", routes...)), a.pool(), b.pool(), c.pool()))
	l.expect(at(port, "prec.example.com", "/long", from(b)))
	const h = "prec.example.com"
	both := []string{"X-H", "1", "X-I", "1", "Cookie", "k=1"}
	for _, tc := range []struct {
		method, target string
		hdr            []string
		want           *backend
	}{
		{"GET", "/long/x", nil, b},  // longest prefix before "/" GET
		{"GET", "/exact", nil, b},   // exact before prefix
		{"POST", "/exact", nil, a},  // exact's group falls to prefix /exact
		{"GET", "/exact/x", nil, a}, // prefix /exact before "/" GET
		{"GET", "/mh", both, b},     // method before two headers
		{"POST", "/mh", both, a},    // no method: two headers
		{"POST", "/mh", nil, c},     // nothing: falls to "/"
		{"POST", "/hh", both, b},    // two headers before one
		{"POST", "/hh", []string{"X-H", "1"}, a},
		{"POST", "/hq?q=1&r=1", both, b}, // a header before two query parameters
		{"POST", "/hq?q=1&r=1", nil, a},
		{"POST", "/qq?q=1&r=1", nil, b}, // two query parameters before one
		{"POST", "/qq?q=1", nil, a},
		{"POST", "/cq?q=1", both, b}, // a query parameter before a cookie
		{"POST", "/cq", both, a},
		{"PUT", "/fall/deeper?q=1", nil, b}, // /fall/deeper falls to /fall
		{"POST", "/fall/deeper", nil, a},
		{"PUT", "/fall/deeper", nil, c}, // then to "/"
		{"GET", "/fall/deeper", nil, a}, // to "/" GET
	} {
		r := l.do(tc.method, port, h, tc.target, tc.hdr...)
		if !from(tc.want).matches(r) {
			t.Errorf("%s %s %v: got %s, want %s", tc.method, tc.target, tc.hdr, r, from(tc.want))
		}
	}
}
