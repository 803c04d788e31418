package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines mirror.go renders, for checkGrammar.
func init() {
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    lua-load (backend-servers|mirror)\.lua$`,
		`^    http-request set-var\(txn\.mirror\) var\(txn\.backend\),field\(2,&\) if \{ var\(txn\.backend\) -m sub & \}$`,
		`^    http-request set-var\(txn\.backend\) var\(txn\.backend\),field\(1,&\) if \{ var\(txn\.mirror\) -m found \}$`,
		`^    http-request wait-for-body time 10s if \{ var\(txn\.mirror\) -m found \} \{ req\.hdr_cnt\(content-length\) eq 1 \} \{ req\.hdr_val\(content-length\) gt 0 \} \{ req\.hdr_val\(content-length\) le 65536 \}$`,
		`^    http-request lua\.mirror if \{ var\(txn\.mirror\) -m found \}$`,
		`^    http-request set-var\(txn\.backend\) str\([A-Za-z0-9_.^~!@|*=&-]+\) if \{ var\(txn\.backend\) -m str split_\d+ \}.*$`,
	)...)
}

// mirrorsGolden has routes with mirrors: two of every request on a
// rewritten route with a header change, a share on a split route with a
// timeout, the same set again (one rule), and a route without.
func mirrorsGolden() *lbconfig.Config {
	web, other, shadow := ref("gw/web:8080"), ref("gw/other:8080"), ref("gw/shadow:8080")
	both := lbconfig.Route{Path: "/both", Match: lbconfig.MatchPrefix, Backend: web,
		Rewrite:        &lbconfig.Rewrite{Type: lbconfig.ReplacePrefixMatch, Path: "/b"},
		RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "X-Route", Value: "both"}}},
		Mirrors:        []lbconfig.Mirror{{Name: other.Name}, {Name: shadow.Name}}}
	again := lbconfig.Route{Path: "/again", Match: lbconfig.MatchExact, Backend: web, Mirrors: both.Mirrors}
	some := lbconfig.Route{Path: "/some", Match: lbconfig.MatchPrefix, Backend: web,
		Backends: []lbconfig.WeightedBackend{{Name: other.Name, Weight: 1}, {Name: web.Name, Weight: 3}},
		Timeouts: &lbconfig.RouteTimeouts{Request: lbconfig.Duration(2e9)},
		Mirrors:  []lbconfig.Mirror{{Name: shadow.Name, Numerator: 1, Denominator: 3}}}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "mirror.example.com", Routes: []lbconfig.Route{
				both, again, some, {Path: "/", Match: lbconfig.MatchPrefix, Backend: web},
			}}}}}}},
		Backends: []lbconfig.Backend{{Name: web.Name, Endpoints: headerEndpoint()}, {Name: other.Name, Endpoints: headerEndpoint()},
			{Name: shadow.Name, Endpoints: headerEndpoint()}},
	}
	cfg.Sort()
	return cfg
}

func TestRenderMirrors(t *testing.T) {
	r, err := RenderConfig(mirrorsGolden(), goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	text, lua := string(r.Files[configFile]), string(r.Files[mirrorLua])
	for _, want := range []string{"lua-load " + backendServersLua, "lua-load " + mirrorLua, "http-request lua.mirror if { var(txn.mirror) -m found }"} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q", want)
		}
	}
	// The action runs after the header changes and the rewrite, whose
	// result the copies carry, and before the backend is used.
	action, rewrite, header, use := strings.Index(text, "lua.mirror"), strings.Index(text, "set-path '/b"), strings.Index(text, "'X-Route'"), strings.Index(text, "use_backend")
	if rewrite < 0 || header < 0 || !(rewrite < action && header < action && action < use) {
		t.Errorf("the action at %d is not after the rewrite (%d) and header change (%d), before use_backend (%d)", action, rewrite, header, use)
	}
	if n := strings.Count(lua, "] = {\n"); n != 2 {
		t.Errorf("mirror.lua has %d rules, want 2 (the same set shared)", n)
	}
	if !strings.Contains(lua, "num = 1, den = 3") || !strings.Contains(lua, BackendID("gw/shadow:8080")) {
		t.Errorf("mirror.lua lacks the share or the backend:\n%s", lua[:strings.Index(lua, "\n\n")])
	}
	if string(r.Files[backendServersLua]) != string(backendServersSource) {
		t.Error("backend-servers.lua is not written")
	}
}

// TestRenderMirrorsRefused: a mirror backend that is not HTTP/1.1 in the
// clear is refused, naming the mirror.
func TestRenderMirrorsRefused(t *testing.T) {
	for _, p := range []lbconfig.BackendProtocol{lbconfig.BackendHTTPS, lbconfig.BackendH2C, lbconfig.BackendGRPC} {
		cfg := mirrorsGolden()
		for i := range cfg.Backends {
			if cfg.Backends[i].Name == "gw/shadow:8080" {
				cfg.Backends[i].Protocol = p
			}
		}
		if _, err := RenderConfig(cfg, goldenOptions(t)); err == nil || !strings.Contains(err.Error(), "mirrors[") {
			t.Errorf("%s mirror: RenderConfig = %v, want a mirrors error", p, err)
		}
	}
}
