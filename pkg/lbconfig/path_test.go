package lbconfig

import (
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	// The normalized forms are what HAProxy 2.6's normalize-uri steps
	// (as the haproxy provider renders them) forwarded for the same
	// paths.
	for in, want := range map[string]string{
		"/":                  "/",
		"/admin":             "/admin",
		"/admin/":            "/admin/",
		"//admin":            "/admin",
		"/./admin":           "/admin",
		"/foo/../admin":      "/admin",
		"/%2e/admin":         "/admin",
		"/%2E%2E/admin":      "/admin",
		"/%61dmin":           "/admin",
		"/admin/./x":         "/admin/x",
		"///admin//x":        "/admin/x",
		"/a/..":              "/",
		"/a/.":               "/a/",
		"/a/b/..":            "/a/",
		"/..":                "/",
		"/.":                 "/",
		"//":                 "/",
		"/a//":               "/a/",
		"/../../a":           "/a",
		"/a//../b":           "/b",
		"/a/.//../b":         "/b",
		"/a/%2e%2E/b":        "/b",
		"/a/.%2e":            "/",
		"/a/..b/../c":        "/a/c",
		"/.a/..a/...":        "/.a/..a/...",
		"/.well-known/x":     "/.well-known/x",
		"/a%c3%a9":           "/a%C3%A9",
		"/a%C3%A9":           "/a%C3%A9",
		"/%7e%41%2D%5f%2e":   "/~A-_.",
		"/a%20b":             "/a%20b",
		"/a%3fb":             "/a%3Fb",
		"/a;b=%2e%2e":        "/a;b=..",
		"/a%25b":             "/a%25b",
		"/a%252Fb":           "/a%252Fb",
		"/a/b/c/../../../..": "/",
		"/a/./b/./":          "/a/b/",
	} {
		got, err := NormalizePath(in)
		if err != nil || got != want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNormalizePathRefuses(t *testing.T) {
	for _, in := range []string{
		"",
		"admin",
		"*",
		"/admin%2Fx",
		"/admin%2fx",
		"/admin%5cx",
		"/admin%5Cx",
		"/a%00b",
		"/a%1fb",
		"/a%7Fb",
		"/a\\b",
		"/%zz",
		"/%4",
		"/a%",
		"/a%g0",
		"/a#b",
		"/a?b",
		"/a b",
		"/a\tb",
		"/a\x7fb",
		"/a\xc3\xa9",
		"/a\x00",
		// Refused even where a dot segment would remove it.
		"/a%2F../b",
		"/%2e%2e%2f",
	} {
		if got, err := NormalizePath(in); err == nil {
			t.Errorf("NormalizePath(%q) = %q, want an error", in, got)
		}
	}
}

func TestCheckRequestTarget(t *testing.T) {
	for target, ok := range map[string]bool{
		"/":                   true,
		"/a?b=c&d=%zz":        true,
		"*":                   true,
		"http://x.example/a?": true,
		"/a b":                false,
		"/a?b c":              false,
		"/a#b":                false,
		"/a?b#":               false,
		"/a\x00":              false,
		"/a\x7f":              false,
		"/a\x80":              false,
		"/caf\xc3\xa9":        false,
	} {
		if err := CheckRequestTarget(target); (err == nil) != ok {
			t.Errorf("CheckRequestTarget(%q) = %v, want ok %v", target, err, ok)
		}
	}
}

// TestNormalizePathNoAllocs holds the per-request cost of a normal path at
// zero allocations.
func TestNormalizePathNoAllocs(t *testing.T) {
	for _, p := range []string{"/", "/api/v1/items", "/a%C3%A9/%20/.well-known/x/"} {
		if n := testing.AllocsPerRun(100, func() {
			if q, err := NormalizePath(p); err != nil || q != p {
				t.Fatalf("NormalizePath(%q) = %q, %v", p, q, err)
			}
		}); n != 0 {
			t.Errorf("NormalizePath(%q): %v allocations, want 0", p, n)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "//admin", "/./admin", "/foo/../admin", "/%2e/admin", "/%2E%2E/admin",
		"/%61dmin", "/admin/./x", "///admin//x", "/a/..", "/a/.%2e", "/.a/..a/...", "/a%c3%a9", "/a%2fb", "/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n, err := NormalizePath(p)
		if err != nil {
			return
		}
		if again, err := NormalizePath(n); err != nil || again != n {
			t.Fatalf("NormalizePath(%q) = %q, but NormalizePath(%q) = %q, %v", p, n, n, again, err)
		}
		if !strings.HasPrefix(n, "/") {
			t.Fatalf("NormalizePath(%q) = %q does not start with /", p, n)
		}
		for _, bad := range []string{"//", "/./", "/../"} {
			if strings.Contains(n, bad) {
				t.Fatalf("NormalizePath(%q) = %q holds %q", p, n, bad)
			}
		}
		if strings.HasSuffix(n, "/.") || strings.HasSuffix(n, "/..") {
			t.Fatalf("NormalizePath(%q) = %q ends in a dot segment", p, n)
		}
		if len(n) > len(p) {
			t.Fatalf("NormalizePath(%q) = %q is longer", p, n)
		}
	})
}

func BenchmarkNormalizePath(b *testing.B) {
	for _, bc := range []struct{ name, path string }{
		{"normal", "/api/v1/items/42"},
		{"dirty", "/api//v1/./%69tems/../items/42"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormalizePath(bc.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
