package haproxy

import (
	"regexp"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// clientAuthConfig has a catch-all and two hosts that authenticate
// clients (one of them served with errors let through) and one that does
// not, on one HTTPS listener.
func clientAuthConfig(t testing.TB) *lbconfig.Config {
	ca := readTestdata(t, "tls-b.crt")
	auth := func(m lbconfig.ClientAuthMode, pass bool) *lbconfig.ClientAuth {
		return &lbconfig.ClientAuth{CAPEM: ca, Mode: m, PassCertificate: pass}
	}
	host := func(name string, a *lbconfig.ClientAuth) lbconfig.VirtualHost {
		return lbconfig.VirtualHost{Hostname: name, TLS: &lbconfig.CertificateRef{Name: "default/a-tls"}, ClientAuth: a,
			Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80")}}}
	}
	c := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
				host("", auth(lbconfig.ClientAuthRequired, false)),
				host("a.example.com", auth(lbconfig.ClientAuthRequired, true)),
				host("*.noca.example.com", auth(lbconfig.ClientAuthOptionalNoCA, true)),
				host("open.example.com", nil),
			}}}}},
		Backends:     []lbconfig.Backend{{Name: "default/a:80", Endpoints: []lbconfig.Endpoint{{Address: "10.0.0.1", Port: 8080, Ready: true, Serving: true}}}},
		Certificates: []lbconfig.Certificate{{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key")}},
	}
	c.Sort()
	return c
}

// TestRenderRefusesClientAuthDepth: HAProxy cannot bound the chain, so a
// depth is refused rather than not enforced.
func TestRenderRefusesClientAuthDepth(t *testing.T) {
	c := clientAuthConfig(t)
	c.LoadBalancers[0].Listeners[0].VirtualHosts[1].ClientAuth.Depth = 1
	_, err := RenderConfig(c, goldenOptions(t))
	if err == nil || !strings.Contains(err.Error(), "clientAuth.depth") {
		t.Fatalf("got %v, want the depth refused", err)
	}
}

// The lines and files clientauth.go writes, for checkGrammar.
func init() {
	maps := `maps/\d+(_lb\d+)?-`
	cfgGrammar = append(cfgGrammar, compileAll(
		`^    http-request set-var\(txn\.sni\) ssl_fc_sni,lower,regsub\(\[\.\]\$,\)$`,
		`^    http-request set-var\(txn\.sniv\) var\(txn\.sni\),map_str\(`+maps+`hosts\.map\) if \{ var\(txn\.sni\) -m found \}$`,
		`^    http-request set-var\(txn\.sniv\) var\(txn\.sni\),regsub\(\^\[\^\.\]\+,\),map_str\(`+maps+`wildcards\.map\) if !\{ var\(txn\.sniv\) -m found \} \{ var\(txn\.sni\) -m reg \^\[\^\.\] \}$`,
		`^    http-request set-var\(txn\.sniv\) var\(txn\.sni\),map_end\(`+maps+`clientsni-multilabel\.map\) if !\{ var\(txn\.sniv\) -m found \} \{ var\(txn\.sni\) -m found \}$`,
		`^    http-request set-var\(txn\.sniv\) str\(v\d+\) if !\{ var\(txn\.sniv\) -m found \}$`,
		`^    http-request set-var\(txn\.(sni)?cauth\) var\(txn\.(vhost|sniv)\),map_str\(`+maps+`clientauth\.map,-\) if \{ var\(txn\.(vhost|sniv)\) -m found \}$`,
		`^    http-request set-var\(txn\.(sni)?cauth\) str\(-\) if !\{ var\(txn\.(sni)?cauth\) -m found \}$`,
		`^    http-request return status 421 content-type "text/plain; charset=utf-8" string "`+misdirectedBody+`" if !\{ var\(txn\.cauth\),strcmp\(txn\.snicauth\) eq 0 \}$`,
		`^    http-request del-header ssl[-_]client[-_](verify|subject[-_]dn|issuer[-_]dn|cert)$`,
		`^    http-request reject if \{ var\(txn\.cauth\) -m str c\d+( c\d+)* \} \{ ssl_c_used \} !\{ ssl_c_verify 0 \}$`,
		`^    http-request set-var\(txn\.cpass\) var\(txn\.vhost\),map_str\(`+maps+`clientcert\.map\) if \{ var\(txn\.vhost\) -m found \}$`,
		`^    http-request set-header ssl-client-verify (NONE|SUCCESS|FAILED:%\[ssl_c_verify\]) if \{ var\(txn\.cpass\) -m found \}( !)? ?\{ ssl_c_(used|verify 0) \}( !?\{ ssl_c_verify 0 \})?$`,
		`^    http-request set-header ssl-client-(subject|issuer)-dn %\[ssl_c_[si]_dn\(,0,rfc2253\)\] if \{ var\(txn\.cpass\) -m found \} \{ ssl_c_used \}$`,
		`^    http-request set-header ssl-client-cert "-----BEGIN%%20CERTIFICATE-----%%0A%\[ssl_c_der,base64,url_enc\]%%0A-----END%%20CERTIFICATE-----%%0A" if \{ var\(txn\.cpass\) -m found \} \{ ssl_c_used \}$`,
	)...)
	mapGrammar["clientauth.map"] = regexp.MustCompile(`^v\d+ c\d+$`)
	mapGrammar["clientcert.map"] = regexp.MustCompile(`^v\d+ 1$`)
	mapGrammar["clientsni-multilabel.map"] = regexp.MustCompile(`^\.[a-z0-9.-]+ v\d+$`)
}
