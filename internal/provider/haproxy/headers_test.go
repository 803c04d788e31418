package haproxy

import (
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines headers.go renders, for checkGrammar. Quoted values may hold
// tabs and bytes from 0x80 up.
func init() {
	const (
		qv   = `(?:'[^'\x00-\x08\x0a-\x1f\x7f]*'|"'")+`
		cond = ` if \{ var\(txn\.hdr\) -m str h\d+ \}`
		pre  = ` \{ method OPTIONS \} \{ req\.fhdr_cnt\(origin\) gt 0 \} \{ req\.hdr_cnt\(access-control-request-method\) gt 0 \}`
		got  = ` \{ var\(txn\.cors_origin\) -m found \}`
	)
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.hdr\) var\(txn\.backend\),field\(2,\^\) if \{ var\(txn\.backend\) -m sub \^ \}$`,
		`^    http-request set-var\(txn\.backend\) var\(txn\.backend\),field\(1,\^\) if \{ var\(txn\.hdr\) -m found \}$`,
		`^    http-(request|response) del-header `+qv+cond+`$`,
		`^    http-(request|response) (set|add)-header `+qv+` `+qv+cond+`$`,
		`^    http-request set-var\(txn\.cors_origin\) str\(\*\)`+cond+`$`,
		`^    http-request set-var\(txn\.cors_origin\) req\.fhdr\(origin\)`+cond+` \{ req\.fhdr_cnt\(origin\) eq 1 \} \{ req\.fhdr\(origin\) -i -m (str|reg) `+qv+` \}$`,
		`^    http-request return status 204( hdr vary Origin)? hdr access-control-allow-origin %\[var\(txn\.cors_origin\)\]( hdr access-control-allow-credentials true)?( hdr access-control-allow-methods `+qv+`)?( hdr access-control-allow-headers `+qv+`)?( hdr access-control-max-age \d+)?`+cond+pre+got+`$`,
		`^    http-request return status 204 hdr vary Origin`+cond+pre+` !`+got[1:]+`$`,
		`^    http-response add-header vary Origin`+cond+`$`,
		`^    http-response set-header access-control-allow-origin %\[var\(txn\.cors_origin\)\]`+cond+got+`$`,
		`^    http-response set-header access-control-allow-credentials true`+cond+got+`$`,
		`^    http-response set-header access-control-expose-headers `+qv+cond+got+`$`,
		`^    http-response del-header access-control-(allow-origin|allow-credentials|expose-headers)`+cond+`( !`+got[1:]+`)?$`,
	)...)
}

// headersGolden has routes with header changes and CORS: the map value
// carries the rule after "^" (before an access rule's "~"), equal rules
// share an id, and values that HAProxy would read (quotes, "%", "$",
// "#", backslashes) are sent as they are.
func headersGolden() *lbconfig.Config {
	vhost := &lbconfig.HeaderModifier{
		Set:    []lbconfig.Header{{Name: "Host", Value: "internal.example.com:8080"}, {Name: "X-Forwarded-Prefix", Value: "/api"}},
		Add:    []lbconfig.Header{{Name: "X-Quoted", Value: `it's "50%" %[src] ${HOME} #no-comment \n`}},
		Remove: []string{"Cookie"},
	}
	cors := &lbconfig.CORS{
		AllowOrigins:     []string{"http://localhost:3000", "https://*.example.com", "https://app.example.org"},
		AllowMethods:     []string{"GET", "PUT"},
		AllowHeaders:     []string{"X-Custom", "Content-Type"},
		ExposeHeaders:    []string{"X-Total"},
		AllowCredentials: true,
		MaxAge:           600,
	}
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP,
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "api.example.com", Routes: []lbconfig.Route{
					{Path: "/v1", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80"), RequestHeaders: vhost,
						ResponseHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "Cache-Control", Value: "no-store"}}, Remove: []string{"Server"}}},
					{Path: "/v2", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80"), RequestHeaders: vhost,
						ResponseHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "Cache-Control", Value: "no-store"}}, Remove: []string{"Server"}}},
					{Path: "/cors", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80"), CORS: cors,
						Access: &lbconfig.Access{Allow: prefixes("10.0.0.0/8")}},
					{Path: "/public", Match: lbconfig.MatchExact, Backend: ref("default/api:80"), CORS: &lbconfig.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET"}, MaxAge: 1728000}},
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80")},
				}}},
			}},
		}},
		Backends: []lbconfig.Backend{{Name: "default/api:80", Endpoints: headerEndpoint()}},
	}
}

// TestRenderHeadersRefusesWhatHAProxyWouldMisread: what Validate refuses
// fails the render, and the renderer refuses it too: a field that could end
// early or add a line, or a name that is no token.
func TestRenderHeadersRefusesWhatHAProxyWouldMisread(t *testing.T) {
	for name, rt := range map[string]lbconfig.Route{
		"CRLF value":          {RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "X-A", Value: "a\r\n    http-request deny"}}}},
		"LF value":            {ResponseHeaders: &lbconfig.HeaderModifier{Add: []lbconfig.Header{{Name: "X-A", Value: "a\nb"}}}},
		"NUL value":           {RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "X-A", Value: "a\x00"}}}},
		"name with space":     {RequestHeaders: &lbconfig.HeaderModifier{Remove: []string{"X A"}}},
		"name with newline":   {ResponseHeaders: &lbconfig.HeaderModifier{Remove: []string{"X\nA"}}},
		"host with path":      {RequestHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "Host", Value: "a.example.com/x"}}}},
		"host on response":    {ResponseHeaders: &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "Host", Value: "a.example.com"}}}},
		"origin with quote":   {CORS: &lbconfig.CORS{AllowOrigins: []string{"https://a.example.com' }"}}},
		"origin with CRLF":    {CORS: &lbconfig.CORS{AllowOrigins: []string{"https://a.example.com\r\n"}}},
		"echoed star exposed": {CORS: &lbconfig.CORS{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"*"}, EchoWildcards: true}},
		"bare wildcard":       {CORS: &lbconfig.CORS{AllowOrigins: []string{"https://*"}}},
		"echoed star and GET": {CORS: &lbconfig.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*", "GET"}, EchoWildcards: true}},
		"method with space":   {CORS: &lbconfig.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET PUT"}}},
		"expose with CRLF":    {CORS: &lbconfig.CORS{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"X\r\n"}}},
		"header with braces":  {CORS: &lbconfig.CORS{AllowOrigins: []string{"*"}, AllowHeaders: []string{"}"}}},
	} {
		t.Run(name, func(t *testing.T) {
			rt.Path, rt.Match, rt.Backend = "/", lbconfig.MatchPrefix, ref("default/api:80")
			cfg := &lbconfig.Config{
				LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
					Port: 80, Protocol: lbconfig.ProtocolHTTP,
					VirtualHosts: []lbconfig.VirtualHost{{Hostname: "api.example.com", Routes: []lbconfig.Route{rt}}},
				}}}},
				Backends: []lbconfig.Backend{{Name: "default/api:80", Endpoints: headerEndpoint()}},
			}
			if _, err := RenderConfig(cfg, goldenOptions(t)); err == nil || !strings.Contains(err.Error(), "routes[0]") {
				t.Errorf("RenderConfig = %v, want an error naming the route", err)
			}
			// And the renderer's own check, should Validate miss it.
			if _, err := new(headerRules).add(rt); err == nil {
				t.Errorf("headerRules.add accepted %s", name)
			}
		})
	}
}

// TestRenderHeadersAtTheLimits: the largest header changes and CORS that
// Validate lets through, with the characters HAProxy would read most
// (quotes and "%"), render to a config haproxy -c takes.
func TestRenderHeadersAtTheLimits(t *testing.T) {
	bin := haproxyBinary(t)
	value := strings.Repeat(`'%"\$#`, lbconfig.MaxHeaderValueBytes/6)
	var set []lbconfig.Header
	for i := range lbconfig.MaxHeaderChanges {
		set = append(set, lbconfig.Header{Name: "X-" + strings.Repeat("n", lbconfig.MaxHeaderNameBytes-6) + string(rune('a'+i%26)) + string(rune('a'+i/26)), Value: value})
	}
	var origins []string
	for i := range lbconfig.MaxCORSOrigins {
		origins = append(origins, "https://"+strings.Repeat("o", 60)+string(rune('a'+i%26))+string(rune('a'+i/26))+"."+strings.Repeat("d", 60)+"."+strings.Repeat("e", 60)+".example.com")
	}
	origins[0] = "https://*." + strings.Repeat("w", 60) + "." + strings.Repeat("x", 60) + ".com:65535"
	var names []string
	for range lbconfig.MaxCORSNames {
		names = append(names, strings.Repeat("h", lbconfig.MaxHeaderNameBytes))
	}
	rt := lbconfig.Route{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80"),
		RequestHeaders:  &lbconfig.HeaderModifier{Set: set},
		ResponseHeaders: &lbconfig.HeaderModifier{Add: set},
		CORS:            &lbconfig.CORS{AllowOrigins: origins, AllowMethods: names, AllowHeaders: names, ExposeHeaders: names, AllowCredentials: true, MaxAge: 1<<31 - 1},
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "api.example.com", Routes: []lbconfig.Route{rt}}},
		}}}},
		Backends: []lbconfig.Backend{{Name: "default/api:80", Endpoints: headerEndpoint()}},
	}
	cfg.Sort()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	r, err := RenderConfig(cfg, goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	checkGrammar(t, r)
	if err := checkWithHAProxy(t, bin, r); err != nil {
		t.Error(err)
	}
}

// headerEndpoint is the one endpoint of the header tests' backend.
func headerEndpoint() []lbconfig.Endpoint {
	return []lbconfig.Endpoint{{Address: "10.0.7.1", Port: 8080, Ready: true, Serving: true}}
}

// headerFuzzSeeds are header names, values and origins that HAProxy's
// config parser, log-format or regex engine would read if they got
// through unquoted.
var headerFuzzSeeds = []struct{ name, value, origin string }{
	{"X-Prefix", "/api", "https://*.example.com"},
	{"X-A", `it's "q" \ %[src] %% ${HOME} #c`, "https://app.example.com:8443"},
	{"X-A#b", "v # not a comment", "http://[2001:db8::1]"},
	{"X-'q'", "'", "https://*.a-b.example.com"},
	{"X-%[src]", "%", "*"},
	{"X-A", "a\r\n    http-request deny", "https://a.example.com'"},
	{"X-A B", "v", "https://a.example.com/path"},
	{"X-A", "caf\u00e9 \t tab", "null"},
	{"Host", "internal.example.com:8080", "https://a.example.com"},
	{"X-A", "a\x00b", "https://*.example.com) || {"},
}

func headerFuzzRoute(name, value, origin string) lbconfig.Route {
	return lbconfig.Route{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80"),
		RequestHeaders:  &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: name, Value: value}}},
		ResponseHeaders: &lbconfig.HeaderModifier{Add: []lbconfig.Header{{Name: name, Value: value}}, Remove: []string{"X-Other"}},
		CORS:            &lbconfig.CORS{AllowOrigins: []string{origin}, AllowMethods: []string{name}, AllowHeaders: []string{name}, ExposeHeaders: []string{name}, AllowCredentials: true, MaxAge: 1},
	}
}

func headerFuzzConfig(rt lbconfig.Route) *lbconfig.Config {
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 80, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "api.example.com", Routes: []lbconfig.Route{rt}}},
		}}}},
		Backends: []lbconfig.Backend{{Name: "default/api:80", Endpoints: headerEndpoint()}},
	}
}

// FuzzRenderHeaders: a config with header changes and CORS is either
// refused or renders only lines of the grammar.
func FuzzRenderHeaders(f *testing.F) {
	for _, s := range headerFuzzSeeds {
		f.Add(s.name, s.value, s.origin)
	}
	f.Fuzz(func(t *testing.T, name, value, origin string) {
		r, err := RenderConfig(headerFuzzConfig(headerFuzzRoute(name, value, origin)), RenderOptions{RuntimeDir: testRuntimeDir, DefaultCertificate: []byte("z")})
		if err != nil {
			return
		}
		checkGrammar(t, r)
	})
}

// TestHeaderFuzzSeedsWithHAProxy: every seed RenderConfig accepts,
// haproxy -c accepts too.
func TestHeaderFuzzSeedsWithHAProxy(t *testing.T) {
	bin := haproxyBinary(t)
	accepted := 0
	for _, s := range headerFuzzSeeds {
		r, err := RenderConfig(headerFuzzConfig(headerFuzzRoute(s.name, s.value, s.origin)), goldenOptions(t))
		if err != nil {
			continue
		}
		accepted++
		checkGrammar(t, r)
		if err := checkWithHAProxy(t, bin, r); err != nil {
			t.Errorf("seed %q %q %q: %v", s.name, s.value, s.origin, err)
		}
	}
	if accepted < 4 {
		t.Errorf("only %d seeds rendered; the corpus should exercise accepted hostile values", accepted)
	}
}
