package builtin

import (
	"testing"

	"ingress-controller/pkg/lbconfig"
)

func TestRedirectToLocation(t *testing.T) {
	http80 := lbconfig.Listener{Port: 80, Protocol: lbconfig.ProtocolHTTP}
	http8080 := lbconfig.Listener{Port: 8080, Protocol: lbconfig.ProtocolHTTP}
	for _, tc := range []struct {
		rd         lbconfig.Redirect
		vhost, pfx string
		l          lbconfig.Listener
		path, uri  string
		want       string
	}{
		{lbconfig.Redirect{URL: "https://a.example/x"}, "h.example", "", http80, "/p", "/p?q=1", "https://a.example/x"},
		{lbconfig.Redirect{Scheme: "https"}, "h.example", "", http80, "/p", "/p?q=1", "https://h.example/p?q=1"},
		{lbconfig.Redirect{Scheme: "https"}, "h.example", "", http80, "/p", "/p?", "https://h.example/p?"},
		{lbconfig.Redirect{Hostname: "o.example"}, "h.example", "", http8080, "/a/b", "/a//b", "http://o.example:8080/a/b"},
		{lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: "/new"}}, "h.example", "/old", http80, "/old/x", "/old/x?y", "http://h.example/new/x?y"},
		{lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplaceFullPath, Value: "/home"}}, "*.w.example", "", http80, "/deep", "/deep", "/home"},
		// The absolute form's host is never used: the configured one is.
		{lbconfig.Redirect{Scheme: "https"}, "h.example", "", http80, "/p", "http://evil.example/p?q", "https://h.example/p?q"},
	} {
		rd := compileRedirectTo(&tc.rd, tc.vhost, tc.pfx, tc.l)
		if got := rd.location(tc.path, tc.uri); got != tc.want {
			t.Errorf("%+v on %q: location(%q, %q) = %q, want %q", tc.rd, tc.vhost, tc.path, tc.uri, got, tc.want)
		}
	}
}
