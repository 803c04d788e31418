package haproxy

import (
	"regexp"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// misdirectConfig is the HTTPS port of Gateway API's conformance test
// HTTPRouteHTTPSListenerDetectMisdirectedRequests, one connection group
// per listener, with a host without a group and one with client
// authentication beside them.
func misdirectConfig(t testing.TB) *lbconfig.Config {
	host := func(name, group string) lbconfig.VirtualHost {
		vh := lbconfig.VirtualHost{Hostname: name, MultiLabel: strings.HasPrefix(name, "*."), ConnectionGroup: group,
			TLS: &lbconfig.CertificateRef{Name: "default/a-tls"}}
		if name != "" {
			vh.Routes = []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80")}}
		}
		return vh
	}
	mtls := host("mtls.example.org", "https")
	mtls.ClientAuth = &lbconfig.ClientAuth{CAPEM: readTestdata(t, "tls-b.crt"), Mode: lbconfig.ClientAuthRequired}
	c := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "gateway/ns/gw", Listeners: []lbconfig.Listener{{
			Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
				host("", "https"),
				host("*.wildcard.org", "https-with-wildcard-hostname"),
				host("example.org", "https"),
				host("fourth-example.wildcard.org", "https-with-hostname-matching-wildcard"),
				host("open.example", ""),
				host("second-example.org", "https-with-hostname"),
				mtls,
			}}}}},
		Backends:     []lbconfig.Backend{{Name: "default/a:80", Endpoints: []lbconfig.Endpoint{{Address: "10.0.0.1", Port: 8080, Ready: true, Serving: true}}}},
		Certificates: []lbconfig.Certificate{{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key")}},
	}
	c.Sort()
	return c
}

// TestRenderMisdirect: the groups map holds numbers, never a group's
// name, and the SNI rules are written once with client authentication
// beside the groups.
func TestRenderMisdirect(t *testing.T) {
	r, err := RenderConfig(misdirectConfig(t), goldenOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(r.Files[configFile])
	if n := strings.Count(cfg, "set-var(txn.sni) ssl_fc_sni"); n != 1 {
		t.Errorf("the server name is read %d times, want once", n)
	}
	if strings.Contains(cfg, "wildcard-hostname") {
		t.Error("a group's name is in the config")
	}
	for name, data := range r.Files {
		if strings.HasSuffix(name, "groups.map") && strings.Contains(string(data), "https") {
			t.Errorf("%s holds a group's name:\n%s", name, data)
		}
	}
}

// TestRenderRefusesMisplacedGroups: a group where no request is checked
// is refused, with its field.
func TestRenderRefusesMisplacedGroups(t *testing.T) {
	for name, mutate := range map[string]func(*lbconfig.Listener){
		"HTTP listener": func(l *lbconfig.Listener) {
			l.Protocol, l.Port = lbconfig.ProtocolHTTP, 80
			for i := range l.VirtualHosts {
				l.VirtualHosts[i].TLS, l.VirtualHosts[i].ClientAuth = nil, nil
			}
		},
		"passthrough": func(l *lbconfig.Listener) {
			vh := &l.VirtualHosts[0]
			vh.TLS, vh.Passthrough = nil, &lbconfig.BackendRef{Name: "default/a:80"}
		},
	} {
		c := misdirectConfig(t)
		mutate(&c.LoadBalancers[0].Listeners[0])
		_, err := RenderConfig(c, goldenOptions(t))
		if err == nil || !strings.Contains(err.Error(), "virtualHosts[0].connectionGroup") {
			t.Errorf("%s: %v, want the group refused", name, err)
		}
	}
}

// The lines and files misdirect.go writes, for checkGrammar.
func init() {
	maps := `maps/\d+(_lb\d+)?-`
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.[hs]group\) var\(txn\.(vhost|sniv)\),map_str\(`+maps+`groups\.map\) if \{ var\(txn\.(vhost|sniv)\) -m found \}$`,
		`^    http-request return status 421 content-type "text/plain; charset=utf-8" string "`+misdirectedBody+`" if \{ var\(txn\.hgroup\) -m found \} \{ var\(txn\.sgroup\) -m found \} !\{ var\(txn\.hgroup\),strcmp\(txn\.sgroup\) eq 0 \}$`,
	)...)
	mapGrammar["groups.map"] = regexp.MustCompile(`^v\d+ g\d+$`)
}
