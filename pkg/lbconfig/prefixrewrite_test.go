package lbconfig

import (
	"errors"
	"strings"
	"testing"
)

// TestRewritePrefix is Gateway API's HTTPPathModifier table and the
// HTTPRouteRewritePath conformance test's prefix cases.
func TestRewritePrefix(t *testing.T) {
	for _, tc := range []struct{ path, prefix, value, want string }{
		{"/foo/bar", "/foo", "/xyz", "/xyz/bar"},
		{"/foo/bar", "/foo", "/xyz/", "/xyz/bar"},
		{"/foo/bar", "/foo/", "/xyz", "/xyz/bar"},
		{"/foo/bar", "/foo/", "/xyz/", "/xyz/bar"},
		{"/foo", "/foo", "/xyz", "/xyz"},
		{"/foo/", "/foo", "/xyz", "/xyz/"},
		{"/foo/bar", "/foo", "", "/bar"},
		{"/foo/", "/foo", "", "/"},
		{"/foo", "/foo", "", "/"},
		{"/foo/", "/foo", "/", "/"},
		{"/foo", "/foo", "/", "/"},
		{"/prefix/one/two", "/prefix/one", "/one", "/one/two"},
		{"/strip-prefix/three", "/strip-prefix", "/", "/three"},
		{"/strip-prefix", "/strip-prefix", "/", "/"},
		{"/prefix/rewrite-path-and-modify-headers/one", "/prefix/rewrite-path-and-modify-headers", "/prefix", "/prefix/one"},
		{"/", "/", "/xyz", "/xyz"},
		{"/a/b", "/", "/xyz", "/xyz/a/b"},
		{"/a/b", "/", "", "/a/b"},
		{"/a/b/", "/a", "/x", "/x/b/"},
	} {
		r := Route{Path: tc.prefix, Match: MatchPrefix}
		if !r.Matches(tc.path) {
			t.Fatalf("%s does not match %s", tc.prefix, tc.path)
		}
		if got := RewritePrefix(tc.path, strings.TrimRight(r.MatchPath(), "/"), tc.value); got != tc.want {
			t.Errorf("%s with prefix %s replaced by %q: got %q, want %q", tc.path, tc.prefix, tc.value, got, tc.want)
		}
	}
}

func TestValidatePrefixRewrite(t *testing.T) {
	const rf = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"
	for name, tc := range map[string]struct {
		match MatchType
		rw    Rewrite
		field string
	}{
		"ok":              {MatchPrefix, Rewrite{Type: ReplacePrefixMatch, Path: "/xyz"}, ""},
		"empty ok":        {MatchPrefix, Rewrite{Type: ReplacePrefixMatch}, ""},
		"slash ok":        {MatchPrefix, Rewrite{Type: ReplacePrefixMatch, Path: "/"}, ""},
		"full path ok":    {MatchExact, Rewrite{Type: ReplaceFullPath, Path: "/x"}, ""},
		"exact route":     {MatchExact, Rewrite{Type: ReplacePrefixMatch, Path: "/x"}, rf + ".rewrite.type"},
		"regex route":     {MatchRegex, Rewrite{Type: ReplacePrefixMatch, Path: "/x"}, rf + ".rewrite.type"},
		"unknown type":    {MatchPrefix, Rewrite{Type: "Prefix", Path: "/x"}, rf + ".rewrite.type"},
		"group":           {MatchPrefix, Rewrite{Type: ReplacePrefixMatch, Path: "/$1"}, rf + ".rewrite.path"},
		"relative":        {MatchPrefix, Rewrite{Type: ReplacePrefixMatch, Path: "x"}, rf + ".rewrite.path"},
		"CRLF":            {MatchPrefix, Rewrite{Type: ReplacePrefixMatch, Path: "/x\r\nX-A: b"}, rf + ".rewrite.path"},
		"query":           {MatchPrefix, Rewrite{Type: ReplacePrefixMatch, Path: "/x?a=b"}, rf + ".rewrite.path"},
		"encoded slash":   {MatchPrefix, Rewrite{Type: ReplacePrefixMatch, Path: "/x%2fy"}, rf + ".rewrite.path"},
		"huge":            {MatchPrefix, Rewrite{Type: ReplacePrefixMatch, Path: "/" + strings.Repeat("a", MaxRewriteLength)}, rf + ".rewrite.path"},
		"full path empty": {MatchPrefix, Rewrite{Path: ""}, rf + ".rewrite.path"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			path := "/foo"
			if tc.match == MatchRegex {
				path = "/fo+"
			}
			rw := tc.rw
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes = []Route{{Path: path, Match: tc.match, Backend: BackendRef{Name: "ns/web:80"}, Rewrite: &rw}}
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError", err)
			}
			found := false
			for _, e := range joined(err) {
				found = found || e.Field == tc.field
			}
			if !found {
				t.Errorf("Validate() = %v, want an error on %q", err, tc.field)
			}
		})
	}
}

// joined returns the field errors Validate joined.
func joined(err error) []*FieldError {
	var out []*FieldError
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if fe, ok := e.(*FieldError); ok {
				out = append(out, fe)
			}
		}
	} else if fe, ok := err.(*FieldError); ok {
		out = append(out, fe)
	}
	return out
}
