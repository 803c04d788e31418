package builtin

import (
	"net/http"
	"net/url"
	"testing"
)

// TestNormalizeTarget: what routing gets, and what both forwarding paths
// send on (RequestURI for HTTP/1.1 backends, r.URL for the others).
func TestNormalizeTarget(t *testing.T) {
	for _, tc := range []struct {
		target, path, uri, urlURI string // "" path: refused
	}{
		{"/api/v1?x=%7e", "/api/v1", "/api/v1?x=%7e", "/api/v1?x=%7e"},
		{"/%61pi//v1/./x/..?x=%7e", "/api/v1/", "/api/v1/?x=%7e", "/api/v1/?x=%7e"},
		{"/a%3f%c3%a9/%2e%2e/b?", "/b", "/b?", "/b?"},
		{"/caf%c3%a9", "/caf%C3%A9", "/caf%C3%A9", "/caf%C3%A9"},
		{"http://h.example/%61/../b?q", "/b", "/b?q", "/b?q"},
		{"http://h.example", "/", "/", "/"},
		{"*", "*", "*", "*"},
		{"/a%2fb", "", "", ""},
		{"/a\\b", "", "", ""},
		{"/a?b#c", "", "", ""},
		{"/a?b c", "", "", ""},
		{"/\xff", "", "", ""},
	} {
		u, err := url.ParseRequestURI(tc.target)
		if err != nil {
			t.Fatalf("%q: %v", tc.target, err)
		}
		r := &http.Request{RequestURI: tc.target, URL: u}
		path, err := normalizeTarget(r)
		if tc.path == "" {
			if err == nil {
				t.Errorf("%q: routes on %q, want it refused", tc.target, path)
			}
			continue
		}
		if err != nil || path != tc.path || r.RequestURI != tc.uri || r.URL.RequestURI() != tc.urlURI {
			t.Errorf("%q: path %q, RequestURI %q, URL %q, %v; want %q, %q, %q",
				tc.target, path, r.RequestURI, r.URL.RequestURI(), err, tc.path, tc.uri, tc.urlURI)
		}
	}
}

func TestNormalizeTargetNoAllocs(t *testing.T) {
	u, _ := url.ParseRequestURI("/api/v1/items?id=42")
	r := &http.Request{RequestURI: "/api/v1/items?id=42", URL: u}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := normalizeTarget(r); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("a normal target: %v allocations, want 0", n)
	}
}
