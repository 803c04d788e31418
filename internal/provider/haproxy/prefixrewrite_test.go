package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines prefixrewrite.go renders, for checkGrammar.
func init() {
	const cond = ` if \{ var\(txn\.rewrite\) -m str r\d+ \}`
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.prefix_whole\) bool\(true\)`+cond+` \{ path,length eq \d+ \}$`,
		`^    http-request set-path `+q+cond+` !\{ var\(txn\.prefix_whole\) -m found \}$`,
		`^    http-request set-path `+q+cond+` \{ var\(txn\.prefix_whole\) -m found \}$`,
	)...)
}

// prefixRewriteGolden has Gateway API's HTTPRouteRewritePath prefix
// rewrites: a prefix to another, to "/", to nothing, the root prefix,
// and a value with a percent-encoding and a quote-free odd character.
func prefixRewriteGolden() *lbconfig.Config {
	web := ref("gw/web:8080")
	rw := func(path, value string) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: web, Rewrite: &lbconfig.Rewrite{Type: lbconfig.ReplacePrefixMatch, Path: value}}
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{
				{Hostname: "rewrite.example.com", Routes: []lbconfig.Route{
					rw("/prefix/one", "/one"), rw("/strip-prefix", "/"), rw("/empty/", ""), rw("/odd", "/a%20b/c:d@e/"),
				}},
				{Hostname: "root.example.com", Routes: []lbconfig.Route{rw("/", "/v2")}},
			}}}}},
		Backends: []lbconfig.Backend{{Name: web.Name, Endpoints: headerEndpoint()}},
	}
	cfg.Sort()
	return cfg
}

func TestRenderPrefixRewrite(t *testing.T) {
	r, err := RenderConfig(prefixRewriteGolden(), goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	text := string(r.Files[configFile])
	for _, want := range []string{
		"http-request set-path '/one%[path,bytes(11)]' if { var(txn.rewrite) -m str r",
		"http-request set-path '%[path,bytes(13)]' if",
		"http-request set-path '/' if",
		"{ path,length eq 6 }", // "/empty" without its "/"
		"http-request set-path '/a%%20b/c:d@e%[path,bytes(4)]' if",
		"http-request set-path '/v2%[path,bytes(0)]' if",
		"{ path,length eq 1 }", // the root prefix
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q", want)
		}
	}
	cfg := prefixRewriteGolden()
	cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Match = lbconfig.MatchExact
	if _, err := RenderConfig(cfg, goldenOptions(t)); err == nil {
		t.Error("RenderConfig accepted a prefix rewrite on an Exact route")
	}
}
