package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines requestmatch.go renders, for checkGrammar.
func init() {
	const (
		marker = `\{ var\(txn\.backend\) -m str split_\d+ \}`
		conds  = `(?: \{ method -m str [A-Z]+ \})?(?: \{ var\(txn\.q\d+\) -m (?:str|reg) ` + q + ` \})*` +
			`(?: \{ req\.fhdr\([a-z0-9-]+,1\) -m (?:str|reg) ` + q + ` \}| \{ req\.cook\([A-Za-z0-9._-]+\) -m str ` + q + ` \})*`
		value = `(?:be_[A-Za-z0-9_.-]+|redirect_\d+_\d+|split_\d+)(?:\^h\d+)?(?:~a\d+)?`
	)
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.backend\) str\(`+value+`\) if `+marker+conds+`$`,
		`^    http-request set-var\(txn\.split_w\) rand\(\d+\) if `+marker+conds+`$`,
		`^    http-request unset-var\(txn\.backend\) if `+marker+`$`,
		`^    http-request set-var\(txn\.q\d+\) urlp\([A-Za-z0-9._~-]+\) if \{ var\(txn\.backend\) -m beg split_ \}$`,
	)...)
}

// requestMatchGolden has the routes of Gateway API's method and query
// matching conformance tests: groups without a route free of
// conditions, falling through to shorter prefixes or to nothing.
func requestMatchGolden() *lbconfig.Config {
	v1, v2, v3 := ref("gw/v1:8080"), ref("gw/v2:8080"), ref("gw/v3:8080")
	q := func(name, value string) []lbconfig.QueryParamMatch {
		return []lbconfig.QueryParamMatch{{Name: name, Type: lbconfig.HeaderExact, Value: value}}
	}
	hdr := func(v string) []lbconfig.HeaderMatch {
		return []lbconfig.HeaderMatch{{Name: "version", Type: lbconfig.HeaderExact, Value: v}}
	}
	p := func(path string, b lbconfig.BackendRef) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: b}
	}
	routes := []lbconfig.Route{p("/", v1), p("/", v2), p("/path1", v1), p("/", v2), p("/path2", v3), p("/path5", v1), p("/", v3), p("/", v1), p("/", v3),
		{Path: "/exact", Match: lbconfig.MatchExact, Backend: v2}, p("/exact", v1)}
	routes[0].Method = "POST"
	routes[1].Method = "GET"
	routes[2].Method = "GET"
	routes[3].Method, routes[3].Headers = "PUT", hdr("one")
	routes[4].Method, routes[4].Headers, routes[4].QueryParams = "POST", hdr("two"), q("animal", "whale")
	routes[6].Headers = hdr("four")
	routes[7].QueryParams = q("animal", "whale%00'x")
	routes[8].QueryParams = []lbconfig.QueryParamMatch{{Name: "n", Type: lbconfig.HeaderRegularExpression, Value: "^[0-9]{1,3}$"}, {Name: "x.y~z-_", Type: lbconfig.HeaderExact, Value: "1"}}
	routes[9].Method = "DELETE"
	routes[10].QueryParams = q("animal", "kraken")
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "gw.example.com", Routes: routes}}}}}},
		Backends: []lbconfig.Backend{{Name: v1.Name, Endpoints: headerEndpoint()}, {Name: v2.Name, Endpoints: headerEndpoint()}, {Name: v3.Name, Endpoints: headerEndpoint()}},
	}
	cfg.Sort()
	return cfg
}

// TestRenderFallThrough: the last rule of each group without a route
// free of conditions sends it to the right place.
func TestRenderFallThrough(t *testing.T) {
	cfg := requestMatchGolden()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := RenderConfig(cfg, goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	text := string(r.Files[configFile])
	prefixMap := string(r.Files["maps/80-prefix.map"])
	marker := func(key string) string {
		for _, l := range strings.Split(prefixMap, "\n") {
			if k, v, _ := strings.Cut(l, " "); k == key {
				return v
			}
		}
		t.Fatalf("no key %q in %q", key, prefixMap)
		return ""
	}
	root, path2 := marker("v0:/"), marker("v0:/path2/")
	exactMap := string(r.Files["maps/80-exact.map"])
	exact := strings.Fields(exactMap)[1]
	for _, want := range []string{
		// /path2 falls through to "/"'s group, "/" to nothing.
		"http-request set-var(txn.backend) str(" + root + ") if { var(txn.backend) -m str " + path2 + " }",
		"http-request unset-var(txn.backend) if { var(txn.backend) -m str " + root + " }",
		// Exact /exact falls through to Prefix /exact's group.
		"http-request set-var(txn.backend) str(" + marker("v0:/exact/") + ") if { var(txn.backend) -m str " + exact + " }",
		"{ method -m str PUT } { req.fhdr(version,1) -m str 'one' }",
		"http-request set-var(txn.q0) urlp(animal) if { var(txn.backend) -m beg split_ }",
		"{ var(txn.q0) -m str 'whale%00'\"'\"'x' }",
		"{ var(txn.q1) -m reg '^[0-9]{1,3}$' } { var(txn.q2) -m str '1' }",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q", want)
		}
	}
	// /path5 has a plain route: no rule, a backend in the map.
	if v := marker("v0:/path5/"); !strings.HasPrefix(v, "be_") {
		t.Errorf("/path5's map value is %q, want its backend", v)
	}
}

func TestRenderRequestMatchRefusals(t *testing.T) {
	for name, change := range map[string]func(c *lbconfig.Config){
		"regex route after an open group": func(c *lbconfig.Config) {
			vh := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0]
			vh.Routes = append(vh.Routes, lbconfig.Route{Path: "/re[0-9]", Match: lbconfig.MatchRegex, Backend: ref("gw/v1:8080")})
		},
		"query name with a comma": func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].QueryParams = []lbconfig.QueryParamMatch{{Name: "a,b", Type: lbconfig.HeaderExact, Value: "1"}}
		},
		"query name with a parenthesis": func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].QueryParams = []lbconfig.QueryParamMatch{{Name: "a)", Type: lbconfig.HeaderExact, Value: "1"}}
		},
		"query name with a quote": func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].QueryParams = []lbconfig.QueryParamMatch{{Name: "a'", Type: lbconfig.HeaderExact, Value: "1"}}
		},
		"query value with a newline": func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].QueryParams = []lbconfig.QueryParamMatch{{Name: "a", Type: lbconfig.HeaderExact, Value: "1\n    bind :1"}}
		},
		"method with a space": func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Method = "GET } || { always_true"
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := requestMatchGolden()
			change(cfg)
			cfg.Sort()
			if _, err := RenderConfig(cfg, goldenOptions(t)); err == nil {
				t.Error("RenderConfig accepted it")
			}
		})
	}
}
