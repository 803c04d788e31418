package haproxy

import (
	"regexp"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// The lines and maps wildcard.go and requesthost.go render, for
// checkGrammar.
func init() {
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.vhost\) var\(txn\.host\),map_end\(maps/\d+(?:_lb\d+)?-multilabel\.map\) if !\{ var\(txn\.vhost\) -m found \} \{ var\(txn\.host\) -m found \}$`,
		`^    tcp-request content set-var\(txn\.pass\) var\(txn\.sni\),map_end\(maps/\d+(?:_lb\d+)?-sni-multilabel\.map\) if !\{ var\(txn\.pass\) -m found \} \{ var\(txn\.sni\) -m found \}$`,
		`^    http-request redirect location '(?:https?://%\[var\(txn\.host\)\](?::\d+)?)(?:[!-$&(-~]|%%|%\[path\]|%\[query\]|%\[path,bytes\(\d+\)\])+' code 30[12378] if \{ var\(txn\.backend\) -m str to\d+ \}( !?\{ query -m found \})?( !?\{ path,length eq \d+ \})?$`,
		`^    http-request return status 400 content-type "text/plain; charset=utf-8" string "`+regexp.QuoteMeta(badHostBody)+`" if `+
			`\{ var\(txn\.backend\) -m str (to\d+) \} !\{ var\(txn\.host\) -m len 1:253 \} \|\| `+
			`\{ var\(txn\.backend\) -m str (to\d+) \} !\{ var\(txn\.host\) -m reg `+regexp.QuoteMeta(locationHostRegex)+` \} \|\| `+
			`\{ var\(txn\.backend\) -m str (to\d+) \} \{ req\.fhdr\(host\) -m sub , \}$`,
	)...)
	mapGrammar["-multilabel.map"] = regexp.MustCompile(`^\.[a-z0-9.-]+ v\d+$`)
	mapGrammar["sni-multilabel.map"] = regexp.MustCompile(`^\.[a-z0-9.-]+ (bt_[A-Za-z0-9_.-]+|be_\d+(?:_lb\d+)?_tls)$`)
}

// requestHostGolden has Gateway API's shapes: multi-label wildcards of
// several depths beside a one-label one and an exact name, and redirects
// that reflect the request's host on the catch-all and a wildcard.
func requestHostGolden() *lbconfig.Config {
	web := ref("gw/web:8080")
	route := func(path string, rd *lbconfig.Redirect) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: lbconfig.MatchPrefix, Backend: web, Redirect: rd}
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: 8080, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{
				{Hostname: "", Routes: []lbconfig.Route{
					route("/see", &lbconfig.Redirect{RequestHost: true, StatusCode: 303}),
					route("/port", &lbconfig.Redirect{RequestHost: true, Port: 8083, StatusCode: 302}),
					route("/scheme", &lbconfig.Redirect{RequestHost: true, Scheme: "https", Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: "/s"}, StatusCode: 301}),
					route("/", nil),
				}},
				{Hostname: "*.example.com", MultiLabel: true, Routes: []lbconfig.Route{route("/", &lbconfig.Redirect{RequestHost: true, Scheme: "https", StatusCode: 308})}},
				{Hostname: "*.b.example.com", MultiLabel: true, Routes: []lbconfig.Route{route("/", nil)}},
				{Hostname: "*.c.example.com", Routes: []lbconfig.Route{route("/", nil)}},
				{Hostname: "a.example.com", Routes: []lbconfig.Route{route("/", &lbconfig.Redirect{RequestHost: true, Port: 8443, StatusCode: 302})}},
			}}}}},
		Backends: []lbconfig.Backend{{Name: web.Name, Endpoints: headerEndpoint()}},
	}
	cfg.Sort()
	return cfg
}

// TestRenderRequestHost: the multi-label map lists the longest suffix
// first; a reflected host comes with its guard, an exact virtual host's
// redirect names the host itself.
func TestRenderRequestHost(t *testing.T) {
	r, err := RenderConfig(requestHostGolden(), goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var multi string
	for name, data := range r.Files {
		if strings.HasSuffix(name, "-multilabel.map") {
			multi = string(data)
		}
	}
	if !strings.HasPrefix(multi, ".b.example.com ") || !strings.Contains(multi, "\n.example.com ") {
		t.Errorf("multi-label map %q: want .b.example.com before .example.com", multi)
	}
	text := string(r.Files[configFile])
	for _, want := range []string{
		"redirect location 'http://%[var(txn.host)]:8083%[path]",
		"redirect location 'https://%[var(txn.host)]%[path]",
		"redirect location 'http://a.example.com:8443%[path]",
		"redirect location 'http://%[var(txn.host)]:8080%[path]",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the config has no %q", want)
		}
	}
	if n := strings.Count(text, "string \""+badHostBody+"\""); n != 4 {
		t.Errorf("%d guards of reflected hosts, want 4 (the exact host's redirect needs none)", n)
	}
}
