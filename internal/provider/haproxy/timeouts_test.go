package haproxy

import (
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// The lines timeouts.go renders, for checkGrammar.
func init() {
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.timeout\) var\(txn\.backend\),field\(2,=\) if \{ var\(txn\.backend\) -m sub = \}$`,
		`^    http-request set-var\(txn\.backend\) var\(txn\.backend\),field\(1,=\) if \{ var\(txn\.timeout\) -m found \}$`,
		`^    http-request set-var\(txn\.timeout_ms\) int\(\d+\) if \{ var\(txn\.timeout\) -m str t\d+ \}$`,
		`^    http-request set-timeout server var\(txn\.timeout_ms\) if \{ var\(txn\.timeout_ms\) -m found \}$`,
		`^    http-request set-var\(txn\.backend\) str\([A-Za-z0-9_.^~!|*=-]+\) if \{ var\(txn\.backend\) -m str split_\d+ \}.*$`,
	)...)
}

// timeoutsGolden has Gateway API's timeout conformance routes, two
// routes of one timeout, a timeout on a weighted route and a rewrite
// with a timeout.
func timeoutsGolden() *lbconfig.Config {
	web, other := ref("gw/web:8080"), ref("gw/other:8080")
	timed := func(path string, request, backend time.Duration) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: web,
			Timeouts: &lbconfig.RouteTimeouts{Request: lbconfig.Duration(request), BackendRequest: lbconfig.Duration(backend)}}
	}
	split := timed("/split", 2*time.Second, 0)
	split.Backends = []lbconfig.WeightedBackend{{Name: other.Name, Weight: 1}, {Name: web.Name, Weight: 1}}
	rewritten := timed("/rw", 0, 1500*time.Millisecond)
	rewritten.Rewrite = &lbconfig.Rewrite{Type: lbconfig.ReplacePrefixMatch, Path: "/"}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "timeouts.example.com", Routes: []lbconfig.Route{
				timed("/request-timeout", 500*time.Millisecond, 0),
				timed("/backend-timeout", 0, 500*time.Millisecond),
				timed("/both", 10*time.Second, 2*time.Second),
				{Path: "/disable-request-timeout", Match: lbconfig.MatchPrefix, Backend: web},
				split, rewritten,
			}}}}}}},
		Backends: []lbconfig.Backend{{Name: web.Name, Endpoints: headerEndpoint()}, {Name: other.Name, Endpoints: headerEndpoint()}},
	}
	cfg.Sort()
	return cfg
}

func TestRenderTimeouts(t *testing.T) {
	r, err := RenderConfig(timeoutsGolden(), goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	text := string(r.Files[configFile])
	for _, want := range []string{
		"http-request set-var(txn.timeout_ms) int(500) if { var(txn.timeout) -m str t",
		"http-request set-var(txn.timeout_ms) int(2000) if",
		"http-request set-var(txn.timeout_ms) int(1500) if",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q", want)
		}
	}
	if n := strings.Count(text, "int(500)"); n != 1 {
		t.Errorf("500ms has %d rules, want one shared by its two routes", n)
	}
	if !strings.Contains(text, timeoutMarker+"t") || !strings.Contains(string(r.Files["maps/80-prefix.map"]), timeoutMarker+"t") {
		t.Error("no map value or split rule carries a timeout id")
	}
	// Both backends of the weighted route, each once.
	if n := strings.Count(text, routeTimeoutRule); n != 2 {
		t.Errorf("%d backends have the route timeout rule, want 2", n)
	}
}
