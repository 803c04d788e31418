package haproxy

import (
	"regexp"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines and files fallthrough.go writes, for checkGrammar.
func init() {
	maps := `maps/\d+(_lb\d+)?-`
	rest := ` if !\{ var\(txn\.backend\) -m found \} !\{ var\(txn\.vhost\) -m str end \}$`
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.vhost\) var\(txn\.vhost\),map_str\(`+maps+`fallthrough\.map,end\) if !\{ var\(txn\.backend\) -m found \} \{ var\(txn\.vhost\) -m found \}$`,
		`^    http-request set-var\(txn\.backend\) var\(txn\.vhost\),concat\(:,txn\.path,\),map_str\(`+maps+`exact\.map\)`+rest,
		`^    http-request set-var\(txn\.backend\) var\(txn\.vhost\),concat\(:,txn\.path,/\),map_beg\(`+maps+`prefix\.map\)`+rest,
	)...)
	mapGrammar["fallthrough.map"] = regexp.MustCompile(`^v\d+ v\d+$`)
}

// fallThroughConfig is a Gateway listener's hostnames falling through to
// less specific ones: "a.example.com" with "/api" (a header match, then
// without), "*.b.example.com" with "/b", "*.example.com" with a longer
// "/api/long" and "/", the catch-all with "/x"; a second listener's
// hosts without links render nothing new.
func fallThroughConfig() *lbconfig.Config {
	to := func(h string) *string { return &h }
	route := func(path string, b lbconfig.BackendRef) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: b}
	}
	a, wild, any := ref("gw/a:80"), ref("gw/wild:80"), ref("gw/any:80")
	versioned := route("/api", wild)
	versioned.Headers = []lbconfig.HeaderMatch{{Name: "version", Type: lbconfig.HeaderExact, Value: "2"}}
	c := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "gateway/ns/gw", Listeners: []lbconfig.Listener{
			{Port: 80, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{
				{Hostname: "", Routes: []lbconfig.Route{route("/x", any)}},
				{Hostname: "*.b.example.com", MultiLabel: true, Routes: []lbconfig.Route{route("/b", a)}, FallThrough: to("*.example.com")},
				{Hostname: "*.example.com", MultiLabel: true, Routes: []lbconfig.Route{route("/api/long", wild), route("/", wild)}, FallThrough: to("")},
				{Hostname: "a.example.com", Routes: []lbconfig.Route{versioned, route("/api", a)}, FallThrough: to("*.example.com")},
				{Hostname: "c.example.com", Routes: []lbconfig.Route{versioned}, FallThrough: to("*.example.com")},
			}},
			{Port: 8080, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{
				{Hostname: "", Routes: []lbconfig.Route{route("/x", any)}},
				{Hostname: "a.example.com", Routes: []lbconfig.Route{route("/api", a)}},
			}},
		}}},
	}
	for _, b := range []string{"gw/a:80", "gw/any:80", "gw/wild:80"} {
		c.Backends = append(c.Backends, lbconfig.Backend{Name: b, Endpoints: []lbconfig.Endpoint{{Address: "10.0.0.1", Port: 8080, Ready: true, Serving: true}}})
	}
	c.Sort()
	return c
}

// TestRenderHostFallThrough: the longest chain, "*.b.example.com" to
// "*.example.com" to the catch-all, makes two rounds on port 80; port
// 8080, without links, has no round and no map.
func TestRenderHostFallThrough(t *testing.T) {
	if err := fallThroughConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := RenderConfig(fallThroughConfig(), goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(r.Files[configFile])
	if n := strings.Count(cfg, "fallthrough.map,"+fallThroughEnd+")"); n != 2 {
		t.Errorf("%d rounds, want 2 (the longest chain's links)", n)
	}
	maps := 0
	for name, data := range r.Files {
		if strings.HasSuffix(name, "fallthrough.map") {
			maps++
			if got, want := string(data), "v1 v2\nv2 v0\nv3 v2\nv4 v2\n"; got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
	}
	if maps != 1 {
		t.Errorf("%d fall-through maps, want 1 (port 80's)", maps)
	}
}
