package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines split.go renders, for checkGrammar.
func init() {
	const (
		marker = `\{ var\(txn\.backend\) -m str split_\d+ \}`
		conds  = `(?: \{ req\.fhdr\([a-z0-9-]+,1\) -m (?:str|reg) ` + q + ` \}| \{ req\.cook\([A-Za-z0-9._-]+\) -m str ` + q + ` \})*`
		value  = `(?:be_[A-Za-z0-9_.-]+|redirect_\d+_\d+)(?:\^h\d+)?(?:~a\d+)?`
	)
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.backend\) str\(`+value+`\) if `+marker+conds+`$`,
		`^    http-request set-var\(txn\.split_w\) rand\(\d+\) if `+marker+conds+`$`,
		`^    http-request set-var\(txn\.backend\) str\(`+value+`\) if `+marker+conds+` \{ var\(txn\.split_w\) -m int lt \d+ \}$`,
	)...)
}

// splitGolden is an ingress-nginx canary as the translator gives it
// (header always and never, a header pattern, cookie always and never,
// 30% by weight, a weight-0 backend left out), an exact path whose only
// route splits, and an access rule on a canary route.
func splitGolden() *lbconfig.Config {
	main, canary, zero := ref("default/main:80"), ref("default/canary:80"), "default/zero:80"
	hdr := func(name, value string) []lbconfig.HeaderMatch {
		return []lbconfig.HeaderMatch{{Name: name, Type: lbconfig.HeaderExact, Value: value}}
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP,
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "app.example.com", Routes: []lbconfig.Route{
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: canary, Headers: hdr("x-canary", "always")},
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: main, Headers: hdr("x-canary", "never")},
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: canary, Headers: []lbconfig.HeaderMatch{{Name: "x-version", Type: lbconfig.HeaderRegularExpression, Value: `^v2\.[0-9]+ 'x'$`}}},
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: canary, Cookies: []lbconfig.CookieMatch{{Name: "canary", Value: "always"}},
						Access: &lbconfig.Access{Allow: prefixes("10.0.0.0/8")}},
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: main, Cookies: []lbconfig.CookieMatch{{Name: "canary", Value: "never"}}},
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: main, Backends: []lbconfig.WeightedBackend{
						{Name: canary.Name, Weight: 30}, {Name: main.Name, Weight: 70}, {Name: zero, Weight: 0}}},
					{Path: "/exact", Match: lbconfig.MatchExact, Backend: main, Backends: []lbconfig.WeightedBackend{
						{Name: canary.Name, Weight: 1}, {Name: main.Name, Weight: 3}}},
				}}},
			}},
		}},
		Backends: []lbconfig.Backend{
			{Name: canary.Name, Endpoints: headerEndpoint()},
			{Name: main.Name, Endpoints: headerEndpoint()},
			{Name: zero, Endpoints: headerEndpoint()},
		},
	}
	cfg.Sort()
	return cfg
}

// TestRenderSplitRefusesWhatHAProxyWouldMisread: matches and weights
// Validate refuses fail the render, naming the route, and the renderer
// refuses them too.
func TestRenderSplitRefusesWhatHAProxyWouldMisread(t *testing.T) {
	for name, change := range map[string]func(*lbconfig.Route){
		"header name with paren": func(r *lbconfig.Route) { r.Headers[0].Name = "x),field(1" },
		"header value with CRLF": func(r *lbconfig.Route) { r.Headers[0].Value = "a\r\n    http-request deny" },
		"header value non-ASCII": func(r *lbconfig.Route) { r.Headers[0].Value = "\xff" },
		"nested repeat": func(r *lbconfig.Route) {
			r.Headers[0].Type, r.Headers[0].Value = lbconfig.HeaderRegularExpression, "(a*)*b"
		},
		"lookahead": func(r *lbconfig.Route) {
			r.Headers[0].Type, r.Headers[0].Value = lbconfig.HeaderRegularExpression, "(?=a)"
		},
		"unknown type":            func(r *lbconfig.Route) { r.Headers[0].Type = "Prefix" },
		"cookie name with paren":  func(r *lbconfig.Route) { r.Cookies = []lbconfig.CookieMatch{{Name: "a)", Value: "b"}} },
		"cookie value with semi":  func(r *lbconfig.Route) { r.Cookies = []lbconfig.CookieMatch{{Name: "a", Value: "b;c=d"}} },
		"cookie value with quote": func(r *lbconfig.Route) { r.Cookies = []lbconfig.CookieMatch{{Name: "a", Value: `"b"`}} },
		"weights add up to 0": func(r *lbconfig.Route) {
			r.Backends = []lbconfig.WeightedBackend{{Name: "default/main:80", Weight: 0}}
		},
		"weights too large": func(r *lbconfig.Route) {
			r.Backends = []lbconfig.WeightedBackend{{Name: "default/main:80", Weight: lbconfig.MaxWeight + 1}}
		},
		"unknown weighted backend": func(r *lbconfig.Route) {
			r.Backends = []lbconfig.WeightedBackend{{Name: "default/other:80", Weight: 1}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := splitGolden()
			routes := cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes
			change(&routes[1])
			_, err := RenderConfig(cfg, goldenOptions(t))
			if err == nil || !strings.Contains(err.Error(), "routes[1]") {
				t.Errorf("RenderConfig = %v, want an error naming routes[1]", err)
			}
			// And the renderer's own check, should Validate miss it.
			ids := map[string]string{"default/main:80": "be_main", "default/canary:80": "be_canary"}
			if _, err := routeLines("split_0", routes[1], "be_canary", "", ids, &shareHeaders{}); err == nil {
				t.Errorf("routeLines accepted %s", name)
			}
		})
	}
}

// TestRenderExactAndPrefixOfOneKey: Exact "/foo/" and Prefix "/foo"
// have the same map key, each in its own map; the prefix route was left
// out once, so "/foo/bar" found no route on HAProxy but did on the
// builtin.
func TestRenderExactAndPrefixOfOneKey(t *testing.T) {
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.example.com", Routes: []lbconfig.Route{
				{Path: "/foo/", Match: lbconfig.MatchExact, Backend: ref("default/a:80")},
				{Path: "/foo", Match: lbconfig.MatchPrefix, Backend: ref("default/b:80")},
			}}}}}}},
		Backends: []lbconfig.Backend{{Name: "default/a:80", Endpoints: headerEndpoint()}, {Name: "default/b:80", Endpoints: headerEndpoint()}},
	}
	r, err := RenderConfig(cfg, goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	exact, prefix := string(r.Files["maps/80-exact.map"]), string(r.Files["maps/80-prefix.map"])
	if !strings.HasPrefix(exact, "v0:/foo/ be_default_a_80") || !strings.HasPrefix(prefix, "v0:/foo/ be_default_b_80") {
		t.Errorf("exact map %q, prefix map %q: want /foo/ in both, to a and b", exact, prefix)
	}
}
