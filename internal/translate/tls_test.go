package translate

import (
	"path/filepath"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// listenerRoute is how a provider answers a request on listener l: the
// backend, "redirect <backend>" for a route that redirects to HTTPS, or
// "404"; "no listener" without l.
func listenerRoute(l *lbconfig.Listener, host, path string) string {
	if l == nil {
		return "no listener"
	}
	if vh := l.VirtualHostFor(lbconfig.NormalizeHost(host)); vh != nil {
		for _, r := range vh.Routes {
			if r.Matches(path) {
				if r.HTTPSRedirect != nil {
					return "redirect " + r.Backend.Name
				}
				return r.Backend.Name
			}
		}
	}
	if l.DefaultBackend != nil {
		return l.DefaultBackend.Name
	}
	return "404"
}

// sniCertificate is the certificate an HTTPS listener serves for a TLS
// server name: that of the virtual host the name picks, else the
// catch-all's, else "provider default".
func sniCertificate(l *lbconfig.Listener, sni string) string {
	if vh := l.VirtualHostFor(sni); vh != nil && vh.TLS != nil {
		return vh.TLS.Name
	}
	if vh := l.VirtualHostFor(""); vh != nil && vh.Hostname == "" && vh.TLS != nil {
		return vh.TLS.Name
	}
	return "provider default"
}

// readTLSGolden returns the HTTP and HTTPS listeners of a golden case's
// only load balancer, or with "<case>@<load balancer>" of that one.
func readTLSGolden(t *testing.T, name string) (http, https *lbconfig.Listener) {
	t.Helper()
	golden, lbName, named := strings.Cut(name, "@")
	lbs := goldenListeners(t, golden)
	if !named && len(lbs) != 1 {
		t.Fatalf("%s: %d load balancers; name one as %s@<name>", name, len(lbs), golden)
	}
	for _, lb := range lbs {
		if !named || lb.name == lbName {
			return lb.http, lb.https
		}
	}
	t.Fatalf("%s: no load balancer %q", golden, lbName)
	return nil, nil
}

// lbListeners are the HTTP and HTTPS listeners of one load balancer.
type lbListeners struct {
	name        string
	http, https *lbconfig.Listener
}

func goldenListeners(t *testing.T, golden string) []lbListeners {
	t.Helper()
	var out []lbListeners
	for _, lb := range loadGoldenConfig(t, golden).LoadBalancers {
		ll := lbListeners{name: lb.Name}
		for i := range lb.Listeners {
			switch l := &lb.Listeners[i]; l.Protocol {
			case lbconfig.ProtocolHTTP:
				ll.http = l
			case lbconfig.ProtocolHTTPS:
				ll.https = l
			}
		}
		out = append(out, ll)
	}
	return out
}

// TestTLSRouting checks, on the pure side, which certificate each TLS
// server name gets and where requests go on HTTP and HTTPS.
func TestTLSRouting(t *testing.T) {
	certs := []struct{ golden, sni, want string }{
		{"tls-basic", "shop.example.com", "shop/shop-tls"},
		{"tls-basic", "plain.example.com", "provider default"},
		{"tls-basic", "", "provider default"},
		{"tls-wildcard", "a.example.com", "shop/wildcard-tls"},
		{"tls-wildcard", "zzz.example.com", "shop/wildcard-tls"},
		{"tls-wildcard", "b.example.com", "shop/wildcard-tls"},
		{"tls-wildcard", "c.example.com", "provider default"}, // another namespace
		{"tls-wildcard", "x.y.example.com", "provider default"},
		{"tls-missing-secret", "shop.example.com", "provider default"},
		{"tls-missing-secret", "api.example.com", "shop/wildcard-tls"},
		{"tls-malformed-secret", "a.example.com", "provider default"},
		{"tls-malformed-secret", "d.example.com", "shop/good"},
		{"tls-mismatched-key", "shop.example.com", "provider default"},
		{"tls-other-namespace", "shop.example.com", "provider default"},
		{"tls-two-ingresses", "shop.example.com", "shop/shop-tls"},
		{"tls-two-ingresses", "api.example.org", "api/api-tls"},
		{"tls-no-hosts", "a.example.com", "shop/wildcard-tls"},
		{"tls-no-hosts", "unknown.example.org", "shop/wildcard-tls"},
		{"tls-no-hosts", "", "shop/wildcard-tls"},
		{"tls-default-certificate", "unknown.example.org", "ingress-controller/default-tls"},
		{"tls-default-certificate", "shop.example.com", "shop/shop-tls"},
		{"tls-default-certificate-missing", "unknown.example.org", "provider default"},
		{"tls-host-without-rule", "secure.example.com", "shop/shop-tls"},
		{"tls-host-without-rule", "a.example.net", "shop/shop-tls"},
		// Each load balancer serves the certificate for its own TLS hosts.
		{"lb-annotation@default", "shop.example.com", "shop/shop-tls"},
		{"lb-annotation@default", "admin.example.com", "provider default"},
		{"lb-annotation@internal", "admin.example.com", "shop/shop-tls"},
		{"lb-annotation@internal", "shop.example.com", "provider default"},
	}
	for _, tc := range certs {
		_, https := readTLSGolden(t, tc.golden)
		if https == nil {
			t.Errorf("%s: no HTTPS listener", tc.golden)
			continue
		}
		if got := sniCertificate(https, tc.sni); got != tc.want {
			t.Errorf("%s: SNI %q gets %s, want %s", tc.golden, tc.sni, got, tc.want)
		}
	}

	routes := []struct{ golden, host, path, http, https string }{
		{"tls-basic", "shop.example.com", "/x", "redirect shop/web:80", "shop/web:80"},
		{"tls-basic", "plain.example.com", "/", "shop/api:80", "404"},
		{"tls-redirect-off", "shop.example.com", "/", "shop/web:80", "shop/web:80"},
		{"tls-redirect-off", "api.example.org", "/", "redirect shop/api:80", "shop/api:80"},
		{"tls-wildcard", "zzz.example.com", "/", "redirect shop/web:80", "shop/web:80"},
		{"tls-wildcard", "b.example.com", "/", "shop/web:80", "shop/web:80"},
		{"tls-acme-path", "shop.example.com", "/.well-known/acme-challenge/token", "shop/api:80", "shop/api:80"},
		{"tls-acme-path", "shop.example.com", "/", "redirect shop/web:80", "shop/web:80"},
		{"tls-host-without-rule", "secure.example.com", "/", "redirect shop/web:80", "shop/web:80"},
		{"tls-host-without-rule", "other.example.com", "/", "shop/web:80", "404"},
		{"tls-no-hosts", "b.example.com", "/", "shop/web:80", "shop/web:80"},
		{"tls-no-hosts", "unknown.example.org", "/", "redirect shop/api:80", "shop/api:80"},
		{"tls-missing-secret", "shop.example.com", "/", "redirect shop/web:80", "shop/web:80"},
		// The same host and path on two load balancers, each its own.
		{"lb-annotation@default", "shop.example.com", "/", "redirect shop/web:80", "shop/web:80"},
		{"lb-annotation@internal", "shop.example.com", "/", "shop/api:80", "shop/api:80"}, // default backend on HTTPS
		{"lb-annotation@internal", "admin.example.com", "/", "redirect shop/api:80", "shop/api:80"},
		{"lb-port-clash@f", "f.example.com", "/", "shop/web:80", "no listener"}, // HTTPS port lost: no redirect
		{"lb-port-clash@b", "b.example.com", "/", "no listener", "shop/web:80"}, // HTTP port lost
	}
	for _, tc := range routes {
		http, https := readTLSGolden(t, tc.golden)
		if got := listenerRoute(http, tc.host, tc.path); got != tc.http {
			t.Errorf("%s: http://%s%s goes to %s, want %s", tc.golden, tc.host, tc.path, got, tc.http)
		}
		if got := listenerRoute(https, tc.host, tc.path); got != tc.https {
			t.Errorf("%s: https://%s%s goes to %s, want %s", tc.golden, tc.host, tc.path, got, tc.https)
		}
	}
}

// TestTLSServesLikeHTTP checks every load balancer of Ingresses of every
// golden case: a request that HTTPS serves from a route goes where the
// same request goes on HTTP, and every redirect leads to a route of the
// same load balancer that serves the same backend. A Gateway's listeners
// route each as its own HTTPRoutes say, so its load balancers are not
// checked.
func TestTLSServesLikeHTTP(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*/config.golden.json")
	for _, input := range inputs {
		golden := filepath.Base(filepath.Dir(input))
		for _, lb := range goldenListeners(t, golden) {
			if strings.HasPrefix(lb.name, GatewayLoadBalancerPrefix) {
				continue
			}
			checkTLSServesLikeHTTP(t, golden+"@"+lb.name, lb.http, lb.https)
		}
	}
}

func checkTLSServesLikeHTTP(t *testing.T, name string, http, https *lbconfig.Listener) {
	t.Helper()
	if http == nil || https == nil {
		return
	}
	var hosts, paths []string
	for _, l := range []*lbconfig.Listener{http, https} {
		for _, vh := range l.VirtualHosts {
			hosts = append(hosts, strings.Replace(vh.Hostname, "*", "wild", 1))
			for _, r := range vh.Routes {
				paths = append(paths, r.Path, r.Path+"/sub")
				if r.HTTPSRedirect != nil && r.HTTPSRedirect.Port != https.Port {
					t.Errorf("%s: redirect to port %d, HTTPS listens on %d", name, r.HTTPSRedirect.Port, https.Port)
				}
			}
		}
	}
	hosts = append(hosts, "unknown.invalid")
	paths = append(paths, "/zzz")
	for _, h := range hosts {
		for _, p := range paths {
			viaHTTP := strings.TrimPrefix(listenerRoute(http, h, p), "redirect ")
			viaHTTPS := listenerRoute(https, h, p)
			vh := https.VirtualHostFor(h)
			servedByRoute := vh != nil && viaHTTPS != "404" && (https.DefaultBackend == nil || viaHTTPS != https.DefaultBackend.Name)
			if servedByRoute && viaHTTPS != viaHTTP {
				t.Errorf("%s: %s%s: HTTP goes to %s, HTTPS to %s", name, h, p, viaHTTP, viaHTTPS)
			}
			if strings.HasPrefix(listenerRoute(http, h, p), "redirect ") && viaHTTPS != viaHTTP {
				t.Errorf("%s: %s%s redirects to HTTPS, which serves %s instead of %s", name, h, p, viaHTTPS, viaHTTP)
			}
		}
	}
}
