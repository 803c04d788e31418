package haproxy

import (
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// extAuthConfig has routes with external authentication: one alone, one
// with a sign-in URL, a POST and a hostile X-Auth-Request-Redirect, one
// with every other rule a route can have (its map value carries them
// all), the same authentication on two hosts (one rule), one whose auth
// server is a Service's endpoints (a backend), and an HTTPS listener.
func extAuthConfig(t testing.TB) *lbconfig.Config {
	plain := &lbconfig.ExternalAuth{URL: "http://10.0.0.53:4180/oauth2/auth", ResponseHeaders: []string{"X-Auth-Request-Email", "X-Auth-Request-User"}}
	signin := &lbconfig.ExternalAuth{
		URL: "http://[2001:db8::53]/auth?x=1&y=%2F", Method: "POST", SigninURL: "https://$host/start?a=b&from=$escaped_request_uri",
		RedirectParam: "next", RequestRedirect: `https://app.example.com/"quoted" \back %[src] $HOME`, Timeout: lbconfig.Duration(1500 * time.Millisecond), AlwaysSetCookie: true,
	}
	sso := &lbconfig.ExternalAuth{URL: "http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth", Backend: &lbconfig.BackendRef{Name: "auth/oauth2-proxy:4180"}}
	everything := lbconfig.Route{
		Path: "/api/(.*)", Match: lbconfig.MatchRegex, Backend: ref("default/app:80"), Source: ing("app"),
		Rewrite:        &lbconfig.Rewrite{Path: "/$1"},
		Access:         &lbconfig.Access{Allow: prefixes("10.0.0.0/8")},
		RateLimit:      &lbconfig.RateLimit{Zone: "default/app", PerSecond: &lbconfig.Rate{Requests: 5, Burst: 25}, StatusCode: 503},
		RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "X-From", Value: "lb"}}},
		BasicAuth:      &lbconfig.BasicAuth{Realm: "app", Credentials: "default/users"},
		ExternalAuth:   plain,
	}
	routes := func(host string) lbconfig.VirtualHost {
		return lbconfig.VirtualHost{Hostname: host, Routes: []lbconfig.Route{
			{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/app:80"), Source: ing("app"), ExternalAuth: plain},
			{Path: "/private", Match: lbconfig.MatchPrefix, Backend: ref("default/app:80"), Source: ing("app"), ExternalAuth: signin},
			{Path: "/public", Match: lbconfig.MatchExact, Backend: ref("default/app:80"), Source: ing("app")},
			{Path: "/sso", Match: lbconfig.MatchPrefix, Backend: ref("default/app:80"), Source: ing("app"), ExternalAuth: sso},
			everything,
		}}
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{
				{Port: 8080, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{routes("app.example.com"), routes("other.example.com")}},
				{Port: 8443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{routes("app.example.com")}},
			},
		}},
		Backends: []lbconfig.Backend{
			{Name: "default/app:80", Endpoints: []lbconfig.Endpoint{{Address: "10.0.1.1", Port: 8080, Ready: true, Serving: true}}},
			{Name: "auth/oauth2-proxy:4180", Endpoints: []lbconfig.Endpoint{{Address: "10.0.2.1", Port: 8080, Ready: true, Serving: true}, {Address: "2001:db8::2", Port: 8080, Ready: true, Serving: true}}},
		},
		Credentials: []lbconfig.Credentials{{Name: "default/users", Users: []lbconfig.User{{Name: "alice", Hash: "$2y$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm"}}}},
	}
	cfg.Sort()
	return cfg
}

// TestRenderRejectsExtAuth: what HAProxy's Lua sockets cannot do is an
// error naming the route, never a route served without the check.
func TestRenderRejectsExtAuth(t *testing.T) {
	for url, want := range map[string]string{
		"https://10.0.0.53/auth":          "cannot verify",
		"http://auth.example.com/auth":    "IP addresses only",
		"http://auth/auth":                "IP addresses only",
		"http://10.0.0.53/a\nlua-load x":  "not allowed",
		"http://10.0.0.53/a\" code 200 #": "not allowed",
	} {
		cfg := extAuthConfig(t)
		cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].ExternalAuth = &lbconfig.ExternalAuth{URL: url}
		_, err := RenderConfig(cfg, goldenOptions(t))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("URL %q: RenderConfig = %v, want an error containing %q", url, err, want)
		}
		if _, err := new(extAuthRules).add(&lbconfig.ExternalAuth{URL: url}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("URL %q: add = %v, want an error containing %q", url, err, want)
		}
	}
	// Through a backend a name is served, https still not.
	svc := &lbconfig.BackendRef{Name: "auth/oauth2-proxy:4180"}
	if _, err := new(extAuthRules).add(&lbconfig.ExternalAuth{URL: "http://auth.example.com/auth", Backend: svc}); err != nil {
		t.Errorf("a name through a backend: add = %v, want nil", err)
	}
	if _, err := new(extAuthRules).add(&lbconfig.ExternalAuth{URL: "https://auth.example.com/auth", Backend: svc}); err == nil || !strings.Contains(err.Error(), "cannot verify") {
		t.Errorf("https through a backend: add = %v, want an error containing %q", err, "cannot verify")
	}
}

// TestLuaString: no byte of a value ends the Lua string or the line.

// extAuthSeeds are hostile values for FuzzRenderExtAuth: quotes, Lua's
// long brackets and comments, HAProxy's sample syntax, CRLF, non-ASCII.
var extAuthSeeds = [][5]string{
	{"oauth2/auth?x=1", "https://$host/start?rd=$escaped_request_uri", "https://app/", "X-Auth-Request-User", "rd"},
	{`a"b'c\d`, `https://l/"]]--[[`, `"); os.exit(1) --`, `X-"`, `r"d`},
	{"%[src]\r\nlua-load x", "https://l/\nhttp-request deny", "a\r\nb", "X-A\r\nB", "a b"},
	{"é/\x00/\x7f", "https://$hostname/", "\xff\xfe", "Content-Length", "rd=1"},
	{"]] .. os.execute('x') .. [[", "$scheme://$http_host$request_uri", "]]", "X-]]", "[["},
	{"a$b%5C%22?x=%0D%0A&y=]]--[[", "https://l/start?x=]]--&rd=$request_uri", `"quoted" \back %[src] ]] $HOME`, "X-A'b`|~!#$%&*+^_", "r.d-_"},
	{"(x)*;!@:,=+", "$scheme://$host/a?b=%25&c=$escaped_request_uri", "a\tb \u00e9 --[==[", "Authorization", "RD"},
}

// FuzzRenderExtAuth: whatever an ExternalAuth holds, a config that
// validates renders, if at all, only lines of the grammar, in haproxy.cfg
// and in the Lua rules table (checkLuaRules).
func FuzzRenderExtAuth(f *testing.F) {
	for _, s := range extAuthSeeds {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, path, signin, redirect, header, param string) {
		cfg := extAuthConfig(t)
		cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].ExternalAuth = &lbconfig.ExternalAuth{
			URL: "http://10.0.0.53/" + path, SigninURL: signin, RequestRedirect: redirect,
			ResponseHeaders: []string{header}, RedirectParam: param,
		}
		cfg.Sort()
		if cfg.Validate() != nil {
			return
		}
		r, err := RenderConfig(cfg, goldenOptions(t))
		if err != nil {
			return // rejected: nothing written
		}
		checkGrammar(t, r)
	})
}

// TestExtAuthSeedsWithHAProxy runs the seeds that validate through
// haproxy -c, which loads the Lua: what RenderConfig writes of them,
// HAProxy reads.
func TestExtAuthSeedsWithHAProxy(t *testing.T) {
	bin := haproxyBinary(t)
	accepted := 0
	for _, s := range extAuthSeeds {
		cfg := extAuthConfig(t)
		cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].ExternalAuth = &lbconfig.ExternalAuth{
			URL: "http://10.0.0.53/" + s[0], SigninURL: s[1], RequestRedirect: s[2], ResponseHeaders: []string{s[3]}, RedirectParam: s[4],
		}
		cfg.Sort()
		if cfg.Validate() != nil {
			continue
		}
		r, err := RenderConfig(cfg, goldenOptions(t))
		if err != nil {
			continue
		}
		accepted++
		checkGrammar(t, r)
		if err := checkWithHAProxy(t, bin, r); err != nil {
			t.Errorf("seed %q: %v", s, err)
		}
	}
	if accepted < 2 {
		t.Errorf("only %d seeds validate; the test checks too little", accepted)
	}
}
