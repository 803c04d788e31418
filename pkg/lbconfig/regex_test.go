package lbconfig

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckRegex(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		ok      bool
	}{
		{`/foo`, true},
		{`(?i)/foo/bar/(.+)`, true},
		{`/something(/|$)(.*)`, true},
		{`/api/v[0-9]{1,3}/(.*)`, true},
		{`/x\.y\{`, true},
		{`/(a|b)*`, true}, // a class to RE2, and PCRE2 backtracks once per byte
		{`/\d+\x41`, true},
		{`(a+)+$`, false},
		{`/(a*)*`, false},
		{`/(?:foo|bar)+`, false},
		{`/(a?){30}a{30}`, false},
		{`/(?:(a+)x)*`, false},
		{`/a{,3}`, false}, // a literal to RE2, {0,3} to PCRE2 10.43
		{`/a{x}`, false},
		{`/\1`, false},
		{`/\0`, false},
		{`/\pL`, false},
		{`/\Qa.b\E`, false},
		{`/\v`, false},
		{`/\C`, false},
		{`/\x{41}`, false},
		{`/\xff`, false},
		{`/\`, false},
		{`/(?=a)`, false},
		{`/(?>a)`, false},
		{`/a++`, false},
		{`/a b`, false},
		{"/a\r\nb", false},
		{"/\x00", false},
		{"/caf\u00e9", false},
		{`/(`, false},
		{"/" + strings.Repeat("a", MaxRegexLength), false},
	} {
		err := CheckRegex(tc.pattern)
		if (err == nil) != tc.ok {
			t.Errorf("CheckRegex(%q) = %v, want ok %v", tc.pattern, err, tc.ok)
		}
	}
}

func TestRegexRouteMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{`/foo`, "/foo", true},
		{`/foo`, "/foobar", true}, // anchored at the start only
		{`/foo`, "/x/foo", false},
		{`(?i)/foo`, "/FOO/bar", true},
		{`/foo`, "/FOO", false},
		{`/foo/.+`, "/foo/", false},
		{`/foo/.+`, "/foo/1", true},
		{`/foo$`, "/foo/", false},
		{`/a|/b`, "/x/b", true}, // as nginx: only the first branch is anchored
	} {
		r := Route{Path: tc.pattern, Match: MatchRegex}
		if got := r.Matches(tc.path); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

// The RE2 engine stays linear on the patterns PCRE2 backtracks on;
// CheckRegex refuses them anyway, so both providers behave alike.
func TestRegexLinear(t *testing.T) {
	re, err := CompileRegex(`/(a|b)*c`)
	if err != nil {
		t.Fatal(err)
	}
	path := "/" + strings.Repeat("a", 64<<10)
	start := time.Now()
	if re.MatchString(path) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a 64 KiB path took %v", d)
	}
}

func TestCheckRewrite(t *testing.T) {
	for _, tc := range []struct {
		path   string
		groups int
		ok     bool
	}{
		{"/", 0, true},
		{"/$1", 1, true},
		{"/$2/x/$1", 2, true},
		{"/a%20b", 0, true},
		{"/$1", 0, false},
		{"/$3", 2, false},
		{"/$0", 2, false},
		{"/$", 2, false},
		{"/$x", 2, false},
		{"/${1}", 2, false},
		{"$1", 1, false},
		{"/a?b=1", 0, false},
		{"/a#b", 0, false},
		{"/a\r\nX-Injected: 1", 0, false},
		{"/a\x00", 0, false},
		{"/a b", 0, false},
		{`/a\b`, 0, false},
		{"/a%2Fb", 0, false},
		{"/a%0d%0a", 0, false},
		{"/a%zz", 0, false},
		{"/" + strings.Repeat("a", MaxRewriteLength), 0, false},
	} {
		err := CheckRewrite(&Rewrite{Path: tc.path}, tc.groups)
		if (err == nil) != tc.ok {
			t.Errorf("CheckRewrite(%q, %d) = %v, want ok %v", tc.path, tc.groups, err, tc.ok)
		}
	}
}

func TestExpandRewrite(t *testing.T) {
	for _, tc := range []struct {
		pattern, rewrite, path, want string
	}{
		{`/something(/|$)(.*)`, "/$2", "/something/new", "/new"},
		{`/something(/|$)(.*)`, "/$2", "/something", "/"},
		{`(?i)/foo/(.+)`, "/bar/$1", "/FOO/x/y", "/bar/x/y"},
		{`/(a)?b`, "/[$1]", "/b", "/[]"}, // an unmatched group is empty
		{`/(x)`, "/$10", "/x", "/x0"},    // one digit, as in nginx
		{`/(x)/(y)`, "/$2$1", "/x/y", "/yx"},
		{`/foo`, "/", "/foo/bar", "/"}, // the whole path goes
	} {
		re, err := CompileRegex(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		rw := &Rewrite{Path: tc.rewrite}
		if err := CheckRewrite(rw, re.NumSubexp()); err != nil {
			t.Fatal(err)
		}
		m := re.FindStringSubmatchIndex(tc.path)
		if m == nil {
			t.Fatalf("%q does not match %q", tc.pattern, tc.path)
		}
		if got := string(ExpandRewrite(nil, rw, tc.path, m)); got != tc.want {
			t.Errorf("%q with %q on %q = %q, want %q", tc.pattern, tc.rewrite, tc.path, got, tc.want)
		}
	}
}

func TestCompareRoutesRegex(t *testing.T) {
	routes := []Route{
		{Path: "/foo", Match: MatchRegex},
		{Path: "/", Match: MatchPrefix},
		{Path: "/foo/bar/", Match: MatchRegex},
		{Path: "/foo/bar/(.+)", Match: MatchRegex},
		{Path: "/fop", Match: MatchRegex},
		{Path: "/x", Match: MatchExact},
	}
	slices.SortStableFunc(routes, CompareRoutes)
	var got []string
	for _, r := range routes {
		got = append(got, string(r.Match)+" "+r.Path)
	}
	want := []string{"Exact /x", "Prefix /", "Regex /foo/bar/(.+)", "Regex /foo/bar/", "Regex /fop", "Regex /foo"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
}

func TestValidateRegexRoute(t *testing.T) {
	const rf = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"
	for name, tc := range map[string]struct {
		path    string
		match   MatchType
		rewrite *Rewrite
		field   string // "" means valid
	}{
		"regex":               {`/foo/(.*)`, MatchRegex, nil, ""},
		"regex rewrite":       {`/foo/(.*)`, MatchRegex, &Rewrite{Path: "/$1"}, ""},
		"bad pattern":         {`/foo/(`, MatchRegex, nil, rf + ".path"},
		"redos":               {`/(a+)+$`, MatchRegex, nil, rf + ".path"},
		"missing group":       {`/foo/(.*)`, MatchRegex, &Rewrite{Path: "/$2"}, rf + ".rewrite.path"},
		"prefix full path":    {`/foo`, MatchPrefix, &Rewrite{Path: "/bar"}, ""},
		"prefix group":        {`/foo`, MatchPrefix, &Rewrite{Path: "/$1"}, rf + ".rewrite.path"},
		"rewrite crlf":        {`/foo`, MatchExact, &Rewrite{Path: "/a\r\nb"}, rf + ".rewrite.path"},
		"rewrite not a path":  {`/foo`, MatchExact, &Rewrite{Path: "a"}, rf + ".rewrite.path"},
		"unknown match stays": {`/foo`, "Glob", nil, rf + ".match"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			r := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0]
			r.Path, r.Match, r.Rewrite = tc.path, tc.match, tc.rewrite
			checkField(t, c, tc.field)
		})
	}
}

// FuzzRegexRewrite checks that no pattern, template or path makes the
// checks or the rewrite panic, and that a rewritten path that normalizes
// is one a request could carry: it starts with "/" and passes
// CheckRequestTarget and NormalizePath unchanged.
func FuzzRegexRewrite(f *testing.F) {
	f.Add(`(?i)/something(/|$)(.*)`, "/$2", "/something/new")
	f.Add(`/(a%2)0(.*)`, "/$1$2", "/a%20F")
	f.Add(`/(a+)+$`, "/$1", "/aaaa")
	f.Add(`/x\{1,}\x41{`, "/$9$", "/x{1}A")
	f.Fuzz(func(t *testing.T, pattern, rewrite, path string) {
		re, err := CompileRegex(pattern)
		if err != nil {
			return
		}
		rw := &Rewrite{Path: rewrite}
		if CheckRewrite(rw, re.NumSubexp()) != nil {
			return
		}
		p, err := NormalizePath(path)
		if err != nil {
			return
		}
		m := re.FindStringSubmatchIndex(p)
		if m == nil {
			return
		}
		out, err := NormalizePath(string(ExpandRewrite(nil, rw, p, m)))
		if err != nil {
			return
		}
		if again, err := NormalizePath(out); err != nil || again != out || CheckRequestTarget(out) != nil {
			t.Fatalf("rewritten path %q is not a normal request path", out)
		}
	})
}
