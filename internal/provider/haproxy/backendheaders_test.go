package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines backendheaders.go renders, for checkGrammar.
func init() {
	const (
		qv     = `(?:'[^'\x00-\x08\x0a-\x1f\x7f]*'|"'")+`
		marker = `\{ var\(txn\.backend\) -m str split_\d+ \}`
		cond   = ` if \{ var\(txn\.bhdr\) -m str b\d+ \}`
	)
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.bhdr\) str\(b\d+\) if `+marker+`(?: \{ [^{}]+ \})* \{ var\(txn\.split_w\) -m int lt \d+ \}$`,
		`^    http-request del-header `+qv+cond+`$`,
		`^    http-request (set|add)-header `+qv+` `+qv+cond+`$`,
	)...)
}

// backendHeadersGolden has Gateway API's filters on backendRefs: two
// backends of one rule, each setting its own Backend field after the
// route's changes; a route whose only backend changes its requests; a
// route sharing the first one's changes (one rule, b0); a weight-0
// backend whose changes are never named; values HAProxy would read.
func backendHeadersGolden() *lbconfig.Config {
	v1, v2, v3 := "infra/v1:8080", "infra/v2:8080", "infra/v3:8080"
	set := func(name, value string) *lbconfig.HeaderModifier {
		return &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: name, Value: value}}}
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "app.example.com", Routes: []lbconfig.Route{
				{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref(v1), RequestHeaders: set("X-Route", "r"),
					Backends: []lbconfig.WeightedBackend{
						{Name: v1, Weight: 10, RequestHeaders: set("Backend", "infra-backend-v1")},
						{Name: v2, Weight: 10, RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "Backend", Value: "infra-backend-v2"}},
							Add: []lbconfig.Header{{Name: "X-Quoted", Value: `it's "50%" %[src]`}}, Remove: []string{"X-Route"}}},
						{Name: v3, Weight: 0, RequestHeaders: set("Backend", "never")},
					}},
				{Path: "/only", Match: lbconfig.MatchExact, Backend: ref(v2),
					Backends: []lbconfig.WeightedBackend{{Name: v2, Weight: 1, RequestHeaders: set("X-Header-Set", "set-overwrites-values")}}},
				{Path: "/again", Match: lbconfig.MatchPrefix, Backend: ref(v1),
					Backends: []lbconfig.WeightedBackend{{Name: v1, Weight: 1, RequestHeaders: set("Backend", "infra-backend-v1")}, {Name: v3, Weight: 1}}},
			}}},
		}}}},
		Backends: []lbconfig.Backend{
			{Name: v1, Endpoints: headerEndpoint()},
			{Name: v2, Endpoints: headerEndpoint()},
			{Name: v3, Endpoints: headerEndpoint()},
		},
	}
	cfg.Sort()
	return cfg
}

// TestRenderBackendHeadersOrder: a share's changes are named with the
// share's own conditions, before the rule that takes the share, and run
// after the route's changes.
func TestRenderBackendHeadersOrder(t *testing.T) {
	r, err := RenderConfig(backendHeadersGolden(), goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(r.Files["haproxy.cfg"])
	route := strings.Index(cfg, "http-request set-header 'X-Route' 'r' if { var(txn.hdr)")
	share := strings.Index(cfg, "http-request set-header 'Backend' 'infra-backend-v1' if { var(txn.bhdr)")
	use := strings.Index(cfg, "use_backend %[var(txn.backend)]")
	if route < 0 || share < 0 || use < 0 || !(route < share && share < use) {
		t.Errorf("route changes at %d, share changes at %d, use_backend at %d: want them in that order\n%s", route, share, use, cfg)
	}
	if strings.Contains(cfg, "'never'") {
		t.Error("the changes of a weight-0 backend, which gets no request, were rendered")
	}
	if n := strings.Count(cfg, "'infra-backend-v1' if"); n != 1 {
		t.Errorf("equal changes rendered %d times, want once", n)
	}
}

// TestRenderBackendHeadersRefused: what Validate refuses fails the
// render naming the route, and the renderer's own check refuses it.
func TestRenderBackendHeadersRefused(t *testing.T) {
	for name, m := range map[string]*lbconfig.HeaderModifier{
		"CRLF value":        {Set: []lbconfig.Header{{Name: "X-A", Value: "a\r\n    http-request deny"}}},
		"LF value":          {Add: []lbconfig.Header{{Name: "X-A", Value: "a\nb"}}},
		"NUL value":         {Set: []lbconfig.Header{{Name: "X-A", Value: "a\x00"}}},
		"huge value":        {Set: []lbconfig.Header{{Name: "X-A", Value: strings.Repeat("v", lbconfig.MaxHeaderValueBytes+1)}}},
		"name with newline": {Remove: []string{"X\nA"}},
		"host":              {Set: []lbconfig.Header{{Name: "Host", Value: "a.example.com"}}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := backendHeadersGolden()
			cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].Backends[0].RequestHeaders = m
			if _, err := RenderConfig(cfg, goldenOptions(t)); err == nil || !strings.Contains(err.Error(), "routes[0]") {
				t.Errorf("RenderConfig = %v, want an error naming the route", err)
			}
			if _, err := new(shareHeaders).add(m); err == nil {
				t.Errorf("shareHeaders.add accepted %s", name)
			}
		})
	}
}
