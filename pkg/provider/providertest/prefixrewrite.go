package providertest

import (
	"net/http"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// testPrefixRewrite checks Rewrite of Type ReplacePrefixMatch with
// Gateway API's table and the HTTPRouteRewritePath conformance test's
// prefixes: the matched prefix replaced by another, by "/" or by
// nothing, trailing slashes on either side, the root prefix, the query
// kept as it came, dot segments and repeated slashes normalized before
// the prefix is cut, a long path, an encoded slash refused before
// routing, and a route with a method match and a prefix rewrite.
func (s *Suite) testPrefixRewrite(t *testing.T) {
	l := s.start(t)
	web, root := l.startBackend("web"), l.startBackend("root")
	port := l.freePort()
	rw := func(path, value string, b *backend) lbconfig.Route {
		r := prefix(path, b)
		r.Rewrite = &lbconfig.Rewrite{Type: lbconfig.ReplacePrefixMatch, Path: value}
		return r
	}
	methodRoute := rw("/m", "/by-method", web)
	methodRoute.Method = "POST"
	l.apply(config(oneLB(port, nil,
		vhost("rw.example.com",
			rw("/foo", "/xyz", web), rw("/slash/", "/xyz/", web), rw("/empty", "", web), rw("/root", "/", web),
			rw("/prefix/one", "/one", web), rw("/strip-prefix", "/", web), rw("/enc", "/a%20b", web),
			methodRoute, prefix("/m", web),
		),
		vhost("root.example.com", rw("/", "/v2", root)),
	), web.pool(), root.pool()))
	l.expect(at(port, "rw.example.com", "/foo", from(web)))
	long := strings.Repeat("a", 6000)
	for _, tc := range []struct{ method, host, path, backend, uri string }{
		{"GET", "rw.example.com", "/foo/bar", "web", "/xyz/bar"},
		{"GET", "rw.example.com", "/foo", "web", "/xyz"},
		{"GET", "rw.example.com", "/foo/", "web", "/xyz/"},
		{"GET", "rw.example.com", "/slash/bar", "web", "/xyz/bar"},
		{"GET", "rw.example.com", "/slash", "web", "/xyz/"},
		{"GET", "rw.example.com", "/empty/bar", "web", "/bar"},
		{"GET", "rw.example.com", "/empty/", "web", "/"},
		{"GET", "rw.example.com", "/empty", "web", "/"},
		{"GET", "rw.example.com", "/root/", "web", "/"},
		{"GET", "rw.example.com", "/root", "web", "/"},
		{"GET", "rw.example.com", "/prefix/one/two", "web", "/one/two"},
		{"GET", "rw.example.com", "/strip-prefix/three", "web", "/three"},
		{"GET", "rw.example.com", "/strip-prefix", "web", "/"},
		{"GET", "rw.example.com", "/enc/x", "web", "/a%20b/x"},
		{"GET", "rw.example.com", "/foo/bar?q=%2f&r=1", "web", "/xyz/bar?q=%2f&r=1"},
		{"GET", "rw.example.com", "/empty?q=1", "web", "/?q=1"},
		{"GET", "rw.example.com", "/x/../foo//bar/./baz", "web", "/xyz/bar/baz"},
		{"GET", "rw.example.com", "/fo%6f/b", "web", "/xyz/b"},
		{"GET", "rw.example.com", "/foo/" + long, "web", "/xyz/" + long},
		{"POST", "rw.example.com", "/m/x", "web", "/by-method/x"},
		{"GET", "rw.example.com", "/m/x", "web", "/m/x"},
		{"GET", "root.example.com", "/", "root", "/v2"},
		{"GET", "root.example.com", "/a/b?c", "root", "/v2/a/b?c"},
	} {
		r := l.do(tc.method, port, tc.host, tc.path)
		first, _, _ := strings.Cut(r.body, "\n")
		if r.status != http.StatusOK || r.server != tc.backend || first != tc.backend+" "+tc.host+tc.uri {
			t.Errorf("%s %s on %s: got %s, first line %q, want backend %s to see %s", tc.method, clipText(tc.path), tc.host, r, clipText(first), tc.backend, clipText(tc.uri))
		}
	}
	if r := l.get(l.client, port, "rw.example.com", "/foo/a%2Fb"); r.status != http.StatusBadRequest || r.server != "" {
		t.Errorf("GET /foo/a%%2Fb: got %s, want 400 from the load balancer", r)
	}
}
