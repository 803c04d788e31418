package haproxy

import (
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines corsLines renders for Gateway API's semantics, for
// checkGrammar.
func init() {
	const (
		qv    = `(?:'[^'\x00-\x08\x0a-\x1f\x7f]*'|"'")+`
		cond  = ` if \{ var\(txn\.hdr\) -m str h\d+ \}`
		pre   = ` \{ method OPTIONS \} \{ req\.fhdr_cnt\(origin\) gt 0 \} \{ req\.hdr_cnt\(access-control-request-method\) gt 0 \}`
		got   = ` \{ var\(txn\.cors_origin\) -m found \}`
		field = `(access-control-request-method|access-control-request-headers)`
	)
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.cors_origin\) req\.fhdr\(origin\)`+cond+` \{ req\.fhdr_cnt\(origin\) eq 1 \} \{ req\.fhdr\(origin\),length le \d+ \} \{ req\.fhdr\(origin\) -i -m (str|reg) `+qv+` \}$`,
		`^    http-request set-var\(txn\.cors_(methods|headers)\) req\.fhdr\(`+field+`\)`+cond+` \{ req\.fhdr_cnt\(`+field+`\) eq 1 \} \{ req\.fhdr\(`+field+`\),length le \d+ \} \{ req\.fhdr\(`+field+`\) -i -m reg `+qv+` \}$`,
		`^    http-request return status 204( hdr vary Origin)? hdr access-control-allow-origin %\[var\(txn\.cors_origin\)\]( hdr access-control-allow-credentials true)?`+
			`( hdr access-control-allow-methods (`+qv+`|%\[var\(txn\.cors_methods\)\]))?( hdr access-control-allow-headers (`+qv+`|%\[var\(txn\.cors_headers\)\]))?`+
			`( hdr access-control-expose-headers `+qv+`)?( hdr access-control-max-age \d+)?`+cond+pre+got+`$`,
	)...)
}

// gatewayCORSGolden has the CORS of Gateway API's conformance test:
// origins whose "*" stands for several labels, and "*" echoed (with
// credentials) or sent (without), expose headers on preflights.
func gatewayCORSGolden() *lbconfig.Config {
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "gateway-conformance-infra/same-namespace",
			Listeners: []lbconfig.Listener{{
				Port: 80, Protocol: lbconfig.ProtocolHTTP,
				VirtualHosts: []lbconfig.VirtualHost{{Hostname: "cors.example.com", Routes: []lbconfig.Route{
					{Path: "/cors-1", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80"), CORS: &lbconfig.CORS{
						AllowOrigins: []string{"https://*", "https://*.bar.com", "https://www.foo.com"}, AllowMethods: []string{"GET", "OPTIONS"},
						AllowHeaders: []string{"x-header-1", "x-header-2"}, ExposeHeaders: []string{"x-header-3", "x-header-4"},
						AllowCredentials: true, MaxAge: 3600, MultiLabel: true, EchoWildcards: true, PreflightExposes: true,
					}},
					{Path: "/cors-wildcard-methods-headers", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80"), CORS: &lbconfig.CORS{
						AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"},
						AllowCredentials: true, MaxAge: 5, MultiLabel: true, EchoWildcards: true, PreflightExposes: true,
					}},
					{Path: "/cors-wildcard-methods-headers-unauth", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80"), CORS: &lbconfig.CORS{
						AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}, ExposeHeaders: []string{"*"},
						MaxAge: 5, MultiLabel: true, PreflightExposes: true,
					}},
					{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/api:80")},
				}}},
			}},
		}},
		Backends: []lbconfig.Backend{{Name: "default/api:80", Endpoints: headerEndpoint()}},
	}
}

// TestRenderGatewayCORSIsValid: the golden's config is valid as it is.
func TestRenderGatewayCORSIsValid(t *testing.T) {
	if err := gatewayCORSGolden().Validate(); err != nil {
		t.Fatal(err)
	}
}
