package haproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestRegexAgreesWithRE2 sends paths through Regex routes with rewrites on
// a real HAProxy (PCRE2) and checks that each matches, and is rewritten,
// as Go's RE2 does it for the builtin: lbconfig.CheckRegex must accept
// only syntax both read alike.
func TestRegexAgreesWithRE2(t *testing.T) {
	patterns := []string{
		`/foo`, `(?i)/foo`, `/foo$`, `/foo/(.*)`, `(?i)/FOO/(bar|baz)/(.+)`,
		`/([a-z]+)/([0-9]{2,3})`, `/(\d+)`, `/(\w+)\.(\w+)`, `/a|/b`, `\A/x\z`,
		`/(?P<name>[^/]+)/?(.*)`, `/(.*?)(b*)$`, `(?U)/(a+)(.*)`, `(?s)/(.)`,
		`/[[:alpha:]]+(/|$)(.*)`, `/x%20(.*)`, `/\x41(.*)`, `/[\d-]+`, `/(a)?(b)`,
		`/(?:ab|cd)e`, `/\bw`, `/a\{1\}`, `/something(/|$)(.*)`, `.*b`, `/[^a-c]`,
	}
	paths := []string{
		"/", "/foo", "/FOO", "/foobar", "/foo/", "/foo/bar/1", "/FOO/BAZ/x/y", "/abc/123",
		"/abc/1234", "/12", "/a.b", "/x", "/xx", "/aab", "/x%20y", "/A/b", "/b", "/cde",
		"/w", "/a{1}", "/something", "/something/new", "/somethingelse", "/-1-", "/d",
	}
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: port, Protocol: lbconfig.ProtocolHTTP}}}},
		Backends:      []lbconfig.Backend{{Name: "default/echo:80", Endpoints: []lbconfig.Endpoint{nettest.EchoEndpoint(t, "echo")}}},
	}
	rewrites := make([]*lbconfig.Rewrite, len(patterns))
	for i, pat := range patterns {
		re, err := lbconfig.CompileRegex(pat)
		if err != nil {
			t.Fatalf("%q: %v", pat, err)
		}
		rw := "/r"
		for g := 1; g <= min(re.NumSubexp(), 3); g++ {
			rw += "/$" + strconv.Itoa(g)
		}
		rewrites[i] = &lbconfig.Rewrite{Path: rw}
		cfg.LoadBalancers[0].Listeners[0].VirtualHosts = append(cfg.LoadBalancers[0].Listeners[0].VirtualHosts, lbconfig.VirtualHost{
			Hostname: "h" + strconv.Itoa(i) + ".example",
			Routes:   []lbconfig.Route{{Path: pat, Match: lbconfig.MatchRegex, Backend: ref("default/echo:80"), Rewrite: rewrites[i]}},
		})
	}
	apply(t, p, cfg)
	// Raw requests: Go's client would percent-encode "{".
	get := func(host, target string) (int, string) {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(int(port)), 5*time.Second)
		if err != nil {
			return 0, err.Error()
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); err != nil {
			return 0, err.Error()
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, err.Error()
		}
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Echo-Request-Uri")
	}
	waitFor(t, 10*time.Second, "the listener", func() bool {
		status, _ := get("h0.example", "/foo")
		return status == http.StatusOK
	})
	matched := 0
	for i, pat := range patterns {
		re, _ := lbconfig.CompileRegex(pat)
		host := "h" + strconv.Itoa(i) + ".example"
		for _, path := range paths {
			wantStatus, wantURI := http.StatusNotFound, ""
			if m := re.FindStringSubmatchIndex(path); m != nil {
				matched++
				np, err := lbconfig.NormalizePath(string(lbconfig.ExpandRewrite(nil, rewrites[i], path, m)))
				if err != nil {
					wantStatus = http.StatusBadRequest
				} else {
					wantStatus, wantURI = http.StatusOK, np+"?q=1"
				}
			}
			status, uri := get(host, path+"?q=1")
			if status != wantStatus || uri != wantURI {
				t.Errorf("pattern %q, path %q: HAProxy gave %d %q, RE2 says %d %q", pat, path, status, uri, wantStatus, wantURI)
			}
		}
	}
	if matched < len(patterns)*3 {
		t.Errorf("only %d pattern and path pairs matched: the test tests too little", matched)
	}
	t.Logf("%d patterns, %d paths, %d matches", len(patterns), len(paths), matched)
}
