package haproxy

import (
	"bytes"
	"context"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// haproxyBinary returns the haproxy executable, failing the test when it
// is missing. Every test that runs HAProxy comes through here, so this is
// where they skip under -short (make check); without -short (make test)
// they run, and a missing HAProxy fails them.
func haproxyBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: needs HAProxy (runs under make test)")
	}
	if b := os.Getenv("HAPROXY_BINARY"); b != "" {
		return b
	}
	b, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is not installed (%v): these tests drive a real HAProxy; install it with `apt-get install -y haproxy` (Debian 12 ships 2.6) or set HAPROXY_BINARY", err)
	}
	return b
}

func ref(name string) lbconfig.BackendRef { return lbconfig.BackendRef{Name: name} }

func ing(name string) lbconfig.ObjectRef {
	return lbconfig.ObjectRef{Kind: "Ingress", Namespace: "default", Name: name}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goldenCases(t testing.TB) map[string]*lbconfig.Config {
	eps := func(addrs ...string) []lbconfig.Endpoint {
		var out []lbconfig.Endpoint
		for _, a := range addrs {
			out = append(out, lbconfig.Endpoint{Address: a, Port: 8080, Ready: true, Serving: true})
		}
		return out
	}
	cases := map[string]*lbconfig.Config{
		"empty": {},
		"single-backend": {
			LoadBalancers: []lbconfig.LoadBalancer{{
				Name: "default",
				Listeners: []lbconfig.Listener{{
					Port: 8080, Protocol: lbconfig.ProtocolHTTP,
					VirtualHosts: []lbconfig.VirtualHost{{Hostname: "", Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/echo:80"), Source: ing("echo")}}}},
				}},
			}},
			Backends: []lbconfig.Backend{{Name: "default/echo:80", Endpoints: eps("10.0.0.1", "10.0.0.2")}},
		},
		"hosts-and-paths": {
			LoadBalancers: []lbconfig.LoadBalancer{{
				Name: "default",
				Listeners: []lbconfig.Listener{{
					Port: 80, Protocol: lbconfig.ProtocolHTTP,
					DefaultBackend: &lbconfig.BackendRef{Name: "default/fallback:http"},
					VirtualHosts: []lbconfig.VirtualHost{
						{Hostname: "*.example.com", Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/wild:80")}}},
						{Hostname: "foo.example.com", Routes: []lbconfig.Route{
							{Path: "/exact", Match: lbconfig.MatchExact, Backend: ref("default/exact:80")},
							{Path: "/foo/bar", Match: lbconfig.MatchPrefix, Backend: ref("default/foobar:80")},
							{Path: "/foo/", Match: lbconfig.MatchPrefix, Backend: ref("default/foo:80")},
							{Path: "/foo", Match: lbconfig.MatchPrefix, Backend: ref("default/other:80")},
						}},
					},
				}},
			}},
			Backends: []lbconfig.Backend{
				{Name: "default/exact:80", Endpoints: eps("10.0.1.1")},
				{Name: "default/fallback:http", Policy: lbconfig.Policy{Algorithm: lbconfig.Random}},
				{Name: "default/foo:80", Endpoints: eps("10.0.2.1", "10.0.2.2", "10.0.2.3", "10.0.2.4"), Policy: lbconfig.Policy{Algorithm: lbconfig.LeastRequest}},
				{Name: "default/foobar:80", Protocol: lbconfig.BackendHTTPS, Endpoints: []lbconfig.Endpoint{
					{Address: "10.0.3.1", Port: 8443, Ready: true, Serving: true},
					{Address: "10.0.3.2", Port: 8443, Serving: true, Terminating: true},
					{Address: "10.0.3.3", Port: 8443},
				}},
				{Name: "default/other:80", Protocol: lbconfig.BackendH2C, Endpoints: []lbconfig.Endpoint{{Address: "2001:db8::1", Port: 80, Ready: true}}},
				{Name: "default/wild:80", Endpoints: eps("10.0.4.1")},
			},
		},
		// Routes with access rules: the map value carries the rule after
		// "~", one 403 rule per distinct rule, deny before allow; a route
		// without a rule and the default backend are not affected.
		// Rate limits: one stick table per zone, shared by the routes
		// (and listeners) of the zone; a zone with a rate per second
		// and per minute, requests in progress and exempt prefixes,
		// another on a route with an access rule too; a redirect and
		// a route without a limit are not limited.
		"rate-limits": {
			LoadBalancers: []lbconfig.LoadBalancer{{
				Name: "default",
				Listeners: []lbconfig.Listener{{
					Port: 80, Protocol: lbconfig.ProtocolHTTP,
					DefaultBackend: &lbconfig.BackendRef{Name: "default/fallback:80"},
					VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
						{Path: "/api", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), RateLimit: shopLimit()},
						{Path: "/login", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Access: &lbconfig.Access{Deny: prefixes("203.0.113.0/24")},
							RateLimit: &lbconfig.RateLimit{Zone: "default/login", PerMinute: &lbconfig.Rate{Requests: 10}, StatusCode: 429}},
						{Path: "/private", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), HTTPSRedirect: &lbconfig.HTTPSRedirect{Port: 443, StatusCode: 308}, RateLimit: shopLimit()},
						{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80")},
					}}},
				}, {
					Port: 443, Protocol: lbconfig.ProtocolHTTPS,
					VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
						{Path: "/api", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), RateLimit: shopLimit()},
						{Path: "/private", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), RateLimit: shopLimit()},
					}}},
				}},
			}},
			Backends: []lbconfig.Backend{
				{Name: "default/fallback:80", Endpoints: eps("10.0.5.1")},
				{Name: "default/web:80", Endpoints: eps("10.0.6.1")},
			},
		},
		"source-ranges": {
			LoadBalancers: []lbconfig.LoadBalancer{{
				Name: "default",
				Listeners: []lbconfig.Listener{{
					Port: 80, Protocol: lbconfig.ProtocolHTTP,
					DefaultBackend: &lbconfig.BackendRef{Name: "default/fallback:80"},
					VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
						{Path: "/status", Match: lbconfig.MatchExact, Backend: ref("default/web:80"), Access: &lbconfig.Access{Deny: prefixes("203.0.113.0/24")}},
						{Path: "/admin", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Access: &lbconfig.Access{
							Allow: prefixes("10.0.0.0/8", "192.168.0.1/32", "2001:db8::/32"), Deny: prefixes("10.9.0.0/16"),
						}},
						{Path: "/internal", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Access: &lbconfig.Access{
							Allow: prefixes("10.0.0.0/8", "192.168.0.1/32", "2001:db8::/32"), Deny: prefixes("10.9.0.0/16"),
						}},
						{Path: "/private", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), HTTPSRedirect: &lbconfig.HTTPSRedirect{Port: 443, StatusCode: 308}, Access: &lbconfig.Access{Allow: prefixes("127.0.0.0/8")}},
						{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80")},
					}}},
				}, {
					Port: 443, Protocol: lbconfig.ProtocolHTTPS,
					VirtualHosts: []lbconfig.VirtualHost{{Hostname: "shop.example.com", Routes: []lbconfig.Route{
						{Path: "/private", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Access: &lbconfig.Access{Allow: prefixes("127.0.0.0/8")}},
					}}},
				}},
			}},
			Backends: []lbconfig.Backend{
				{Name: "default/fallback:80", Endpoints: eps("10.0.5.1")},
				{Name: "default/web:80", Endpoints: eps("10.0.6.1")},
			},
		},
		"headers":      headersGolden(),
		"gateway-cors": gatewayCORSGolden(),
		// Regex routes (one rule each, after the maps, in route order)
		// and rewrites (replace-path with the route's pattern, set-path
		// for a Prefix route), then the rewritten path checked and
		// normalized again; an access rule and a rewrite on one route.
		"regex-rewrite": {
			LoadBalancers: []lbconfig.LoadBalancer{{
				Name: "default",
				Listeners: []lbconfig.Listener{{
					Port: 80, Protocol: lbconfig.ProtocolHTTP,
					VirtualHosts: []lbconfig.VirtualHost{{Hostname: "regex.example.com", Routes: []lbconfig.Route{
						{Path: "/old", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Rewrite: &lbconfig.Rewrite{Path: "/new%20page"}},
						{Path: "(?i)/foo/bar/(.+)", Match: lbconfig.MatchRegex, Backend: ref("default/api:80"), Rewrite: &lbconfig.Rewrite{Path: "/$1"}},
						{Path: "(?i)/it's(/|$)(.*)", Match: lbconfig.MatchRegex, Backend: ref("default/api:80"), Rewrite: &lbconfig.Rewrite{Path: "/q/$2"}, Access: &lbconfig.Access{Allow: prefixes("10.0.0.0/8")}},
						{Path: "(?i)/foo/bar/", Match: lbconfig.MatchRegex, Backend: ref("default/web:80")},
						{Path: "(?i)/foo", Match: lbconfig.MatchRegex, Backend: ref("default/web:80")},
					}}, {Hostname: "plain.example.com", Routes: []lbconfig.Route{
						{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80")},
					}}},
				}},
			}},
			Backends: []lbconfig.Backend{
				{Name: "default/api:80", Endpoints: eps("10.0.7.1")},
				{Name: "default/web:80", Endpoints: eps("10.0.6.1")},
			},
		},
		"redirects": {
			LoadBalancers: []lbconfig.LoadBalancer{{
				Name: "default",
				Listeners: []lbconfig.Listener{{
					Port: 8080, Protocol: lbconfig.ProtocolHTTP,
					VirtualHosts: []lbconfig.VirtualHost{
						{Hostname: "shop.example.com", Routes: []lbconfig.Route{
							{Path: "/", Match: lbconfig.MatchExact, Backend: ref("default/web:80"), Redirect: &lbconfig.Redirect{URL: "/app?from=%2F#top", StatusCode: 302}},
							{Path: "/moved", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Redirect: &lbconfig.Redirect{URL: "https://new.example.org/landing", StatusCode: 301}},
							{Path: "/gone", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Redirect: &lbconfig.Redirect{URL: "https://new.example.org/landing", StatusCode: 301}},
							{Path: "/old/", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Redirect: &lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: "/new"}, StatusCode: 308}},
							{Path: "/full", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Redirect: &lbconfig.Redirect{Scheme: "https", Path: &lbconfig.RedirectPath{Type: lbconfig.ReplaceFullPath, Value: "/x%20y"}, StatusCode: 307}},
							{Path: "/private", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Redirect: &lbconfig.Redirect{Scheme: "https", StatusCode: 301}, Access: &lbconfig.Access{Allow: prefixes("127.0.0.0/8")}},
							{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80")},
						}},
						{Hostname: "www.shop.example.com", Routes: []lbconfig.Route{
							{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Redirect: &lbconfig.Redirect{Hostname: "shop.example.com", StatusCode: 308}},
						}},
						{Hostname: "*.apps.example.com", Routes: []lbconfig.Route{
							{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/web:80"), Redirect: &lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: "/v2/"}, StatusCode: 303}},
						}},
					},
				}},
			}},
			Backends: []lbconfig.Backend{{Name: "default/web:80", Endpoints: eps("10.0.6.1")}},
		},
		"split":           splitGolden(),
		"tcp-split":       tcpSplitGolden(),
		"request-matches": requestMatchGolden(),
		"prefix-rewrite":  prefixRewriteGolden(),
		"timeouts":        timeoutsGolden(),
		"mirrors":         mirrorsGolden(),
		"request-host":    requestHostGolden(),
		"two-load-balancers-https": {
			LoadBalancers: []lbconfig.LoadBalancer{
				{Name: "default", Listeners: []lbconfig.Listener{
					{Port: 8080, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{
						{Hostname: "a.example.com", Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80")}}},
					}},
					{Port: 8443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
						{Hostname: "a.example.com", TLS: &lbconfig.CertificateRef{Name: "default/a-tls"}, Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80")}}},
						{Hostname: "b.example.com", TLS: &lbconfig.CertificateRef{Name: "default/b-tls"}, Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/b:80")}}},
					}},
				}},
				{Name: "team/dedicated", Listeners: []lbconfig.Listener{
					{Port: 9080, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "default/b:80"}},
				}},
			},
			Backends: []lbconfig.Backend{
				{Name: "default/a:80", Endpoints: eps("10.0.0.1")},
				{Name: "default/b:80", Endpoints: eps("10.0.0.2")},
			},
			Certificates: []lbconfig.Certificate{
				{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}},
				{Name: "default/b-tls", ChainPEM: readTestdata(t, "tls-b.crt"), KeyPEM: readTestdata(t, "tls-b.key"), Hosts: []string{"b.example.com"}},
			},
		},
	}
	cases["policies-redirect-tcp"] = &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{
				{Port: 80, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "a.example.com", Routes: []lbconfig.Route{
						{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/sticky:80"), HTTPSRedirect: &lbconfig.HTTPSRedirect{Port: 443, StatusCode: 308}},
						{Path: "/sticky", Match: lbconfig.MatchPrefix, Backend: ref("default/sticky:80")},
					}},
					{Hostname: "b.example.com", Routes: []lbconfig.Route{
						{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/sticky:80"), HTTPSRedirect: &lbconfig.HTTPSRedirect{Port: 8443, StatusCode: 302}},
						{Path: "/hash", Match: lbconfig.MatchPrefix, Backend: ref("default/hash:80")},
					}},
				}},
				{Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "", TLS: &lbconfig.CertificateRef{Name: "default/a-tls"}, Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/sticky:80")}}},
				}},
				{Port: 5432, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: "default/db:5432"}},
				{Port: 8443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "b.example.com", TLS: &lbconfig.CertificateRef{Name: "default/b-tls"}, Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/hash:80")}}},
				}},
			},
		}},
		Backends: []lbconfig.Backend{
			{Name: "default/db:5432", Endpoints: eps("10.0.5.1"), Policy: lbconfig.Policy{Retries: 2, Timeouts: lbconfig.Timeouts{Idle: lbconfig.Duration(time.Hour)}}},
			{Name: "default/hash:80", Endpoints: eps("10.0.6.1", "10.0.6.2"), Policy: lbconfig.Policy{Affinity: &lbconfig.Affinity{Type: lbconfig.AffinityBySourceIP}}},
			{Name: "default/sticky:80", Endpoints: eps("10.0.7.1", "10.0.7.2"), Policy: lbconfig.Policy{
				Affinity: &lbconfig.Affinity{Type: lbconfig.AffinityByCookie, Cookie: &lbconfig.AffinityCookie{Name: "route", MaxAge: lbconfig.Duration(48 * time.Hour), SameSite: "Lax"}},
				Timeouts: lbconfig.Timeouts{Connect: lbconfig.Duration(2 * time.Second), ResponseHeader: lbconfig.Duration(30 * time.Second)},
				Retries:  1,
			}},
		},
		Certificates: []lbconfig.Certificate{
			{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}},
			{Name: "default/b-tls", ChainPEM: readTestdata(t, "tls-b.crt"), KeyPEM: readTestdata(t, "tls-b.key"), Hosts: []string{"b.example.com"}},
		},
	}
	// TLS passthrough on an HTTPS port and on a TLS passthrough port, a
	// backend of both HTTP routes and a TCP listener, passive health
	// checks, a body limit and a cookie with a path that needs quoting.
	cases["passthrough-and-policies"] = &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{
				{Port: 443, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "*.pass.example.com", Passthrough: &lbconfig.BackendRef{Name: "default/vault:8200"}},
					{Hostname: "a.example.com", TLS: &lbconfig.CertificateRef{Name: "default/a-tls"}, Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/app:80")}}},
					{Hostname: "nocert.pass.example.com", Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/app:80")}}},
					{Hostname: "vault.example.com", Passthrough: &lbconfig.BackendRef{Name: "default/vault:8200"}},
				}},
				{Port: 5432, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: "default/app:80"}},
				{Port: 8443, Protocol: lbconfig.ProtocolTLSPassthrough, TCP: &lbconfig.BackendRef{Name: "default/app:80"}, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "vault.example.com", Passthrough: &lbconfig.BackendRef{Name: "default/vault:8200"}},
				}},
				{Port: 9443, Protocol: lbconfig.ProtocolTLSPassthrough, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "", Passthrough: &lbconfig.BackendRef{Name: "default/vault:8200"}},
				}},
			},
		}},
		Backends: []lbconfig.Backend{
			{Name: "default/app:80", Protocol: lbconfig.BackendHTTPS, Endpoints: eps("10.0.8.1", "10.0.8.2"), Policy: lbconfig.Policy{
				Affinity:            &lbconfig.Affinity{Type: lbconfig.AffinityByCookie, Cookie: &lbconfig.AffinityCookie{Name: "app$id'x", Path: "/app/\"$HOME'#%[src]", MaxAge: lbconfig.Duration(90 * time.Minute)}},
				PassiveHealthCheck:  &lbconfig.PassiveHealthCheck{ConsecutiveFailures: 3, BaseEjection: lbconfig.Duration(30 * time.Second), MaxEjection: lbconfig.Duration(5 * time.Minute)},
				MaxRequestBodyBytes: 1024,
				Retries:             2,
			}},
			{Name: "default/vault:8200", Endpoints: eps("10.0.9.1"), Policy: lbconfig.Policy{MaxRequestBodyBytes: 1 << 20}},
		},
		Certificates: []lbconfig.Certificate{
			{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}},
		},
	}
	cases["error-pages"] = errorPagesGolden(t)
	cases["addresses"] = addressesConfig(t)
	cases["hash"] = hashConfig()
	cases["backend-tls"] = backendTLSConfig(t)
	cases["ext-auth"] = extAuthConfig(t)
	cases["status"] = statusConfig()
	cases["retry"] = retryConfig()
	cases["fall-through"] = fallThroughConfig()
	cases["tls-terminate"] = terminateConfig(t)
	cases["client-auth"] = clientAuthConfig(t) // clientauth_test.go
	cases["misdirect"] = misdirectConfig(t)    // misdirect_test.go
	cases["backend-headers"] = backendHeadersGolden()
	for _, c := range cases {
		c.Sort()
	}
	return cases
}

func shopLimit() *lbconfig.RateLimit {
	return &lbconfig.RateLimit{
		Zone: "default/shop", PerSecond: &lbconfig.Rate{Requests: 5, Burst: 25}, PerMinute: &lbconfig.Rate{Requests: 100, Burst: 500},
		Concurrent: 10, Exempt: prefixes("10.0.0.0/8", "2001:db8::/32"), StatusCode: 503,
	}
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// goldenOptions are the render options of golden files and fuzz cases.
func goldenOptions(t testing.TB) RenderOptions {
	return RenderOptions{RuntimeDir: testRuntimeDir, ListenAddress: "127.0.0.1", Threads: 2, DefaultCertificate: defaultCertPEM(t)}
}

func defaultCertPEM(t testing.TB) []byte {
	return slices.Concat(readTestdata(t, "tls-default.crt"), readTestdata(t, "tls-default.key"))
}

// testRuntimeDir is the runtime dir golden files are rendered with.
const testRuntimeDir = "/run/ingress-controller/haproxy"

// archive joins rendered files into one text, in file name order, each
// after a "-- name --" line (the txtar layout).
func archive(r *Rendered) []byte {
	names := make([]string, 0, len(r.Files))
	for n := range r.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		if strings.HasPrefix(n, certsDir+"/") {
			b.WriteString("-- " + n + " -- (certificate and key, not shown)\n")
			continue
		}
		if n == hopByHopLua {
			b.WriteString("-- " + n + " -- (the same in every generation, not shown)\n")
			continue
		}
		b.WriteString("-- " + n + " --\n")
		b.Write(r.Files[n])
	}
	return b.Bytes()
}

func TestRenderGolden(t *testing.T) {
	bin := haproxyBinary(t)
	for name, cfg := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			r, err := RenderConfig(cfg, goldenOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			again, err := RenderConfig(cfg, goldenOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(archive(r), archive(again)) {
				t.Fatal("two renders of the same config differ")
			}
			checkGolden(t, bin, name, r)
		})
	}
}

// checkGolden compares r with testdata/<name>.golden (written anew with
// -update), checks its grammar and runs haproxy -c on it.
func checkGolden(t *testing.T, bin, name string, r *Rendered) {
	t.Helper()
	got := archive(r)
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rendered config differs from %s (run go test -update and review the diff):\n%s", golden, got)
	}
	checkGrammar(t, r)
	if err := checkWithHAProxy(t, bin, r); err != nil {
		t.Error(err)
	}
}

// checkWithHAProxy writes r to a temp dir and runs haproxy -c on it.
func checkWithHAProxy(t testing.TB, bin string, r *Rendered) error {
	t.Helper()
	dir := t.TempDir()
	if err := writeFiles(dir, r.Files); err != nil {
		t.Fatal(err)
	}
	return validateConfig(context.Background(), bin, filepath.Join(dir, configFile))
}

func TestRenderRejects(t *testing.T) {
	base := func() *lbconfig.Config {
		return &lbconfig.Config{
			LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}}}},
			Backends:      []lbconfig.Backend{{Name: "b"}},
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*lbconfig.Config)
		opts   RenderOptions
		want   string
	}{
		{"https without certificate", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].Protocol = lbconfig.ProtocolHTTPS
		}, RenderOptions{}, "an HTTPS listener without a catch-all certificate needs the provider's default certificate"},
		{"passthrough listener without passthrough", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].Protocol = lbconfig.ProtocolTLSPassthrough
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Hostname: "a.example.com"}}
		}, RenderOptions{}, "virtual hosts of a TLS passthrough listener need a passthrough backend"},
		{"port used twice", func(c *lbconfig.Config) {
			c.LoadBalancers = append(c.LoadBalancers, lbconfig.LoadBalancer{Name: "other", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}}})
		}, RenderOptions{}, `port 80 is already used by load balancer "default"`},
		{"hostile hostname", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Hostname: "a.com v0\nbind :1"}}
		}, RenderOptions{}, "hostname"},
		{"hostile path", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{Path: "/ x\nbind :1", Match: lbconfig.MatchPrefix, Backend: ref("b")}}}}
		}, RenderOptions{}, "path"},
		{"hostile redirect url", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("b"), Redirect: &lbconfig.Redirect{URL: "/a' code 301\n    bind :1", StatusCode: 301}}}}}
		}, RenderOptions{}, "redirect.url"},
		{"redirect url with a quote", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("b"), Redirect: &lbconfig.Redirect{URL: "/a'b", StatusCode: 301}}}}}
		}, RenderOptions{}, "redirect.url"},
		{"hostile redirect hostname", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("b"), Redirect: &lbconfig.Redirect{Hostname: "a.example'\nbind :1", StatusCode: 301}}}}}
		}, RenderOptions{}, "redirect.hostname"},
		{"hostile redirect path", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("b"), Redirect: &lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplaceFullPath, Value: "/a b"}, StatusCode: 301}}}}}
		}, RenderOptions{}, "redirect.path.value"},
		{"redirect status", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("b"), Redirect: &lbconfig.Redirect{URL: "/a", StatusCode: 200}}}}}
		}, RenderOptions{}, "redirect.statusCode"},
		{"hostile listen address", func(c *lbconfig.Config) {}, RenderOptions{ListenAddress: "127.0.0.1:1\n    bind :2"}, "is not an IP address"},
		{"rate window too long", func(c *lbconfig.Config) {
			c.LoadBalancers[0].Listeners[0].VirtualHosts = []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("b"),
				RateLimit: &lbconfig.RateLimit{Zone: "ns/x", PerMinute: &lbconfig.Rate{Requests: 1, Burst: lbconfig.MaxRateLimit}, StatusCode: 503}}}}}
		}, RenderOptions{}, "longer than HAProxy keeps"},
		{"too many threads", func(c *lbconfig.Config) {}, RenderOptions{RuntimeDir: testRuntimeDir, Threads: MaxThreads + 1}, "65 threads is not between 1 and 64"},
		{"negative threads", func(c *lbconfig.Config) {}, RenderOptions{RuntimeDir: testRuntimeDir, Threads: -1}, "-1 threads"},
		{"hostile runtime dir", func(c *lbconfig.Config) {}, RenderOptions{RuntimeDir: "/tmp/x level admin\nbind :1"}, "runtime dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(c)
			if tc.opts.RuntimeDir == "" {
				tc.opts.RuntimeDir = testRuntimeDir
			}
			_, err := RenderConfig(c, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RenderConfig = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAssignSlots(t *testing.T) {
	ep := func(a string) lbconfig.Endpoint {
		return lbconfig.Endpoint{Address: a, Port: 80, Ready: true, Serving: true}
	}
	slots, ok := assignSlots([]lbconfig.Endpoint{ep("10.0.0.1"), ep("10.0.0.2")}, nil, true)
	if !ok || len(slots) != 4 || slots[0].Address != "10.0.0.1" || slots[1].Address != "10.0.0.2" || slots[2].State != StateMaint {
		t.Fatalf("fresh assignment = %+v, %v", slots, ok)
	}
	// 10.0.0.1 goes away, 10.0.0.3 comes: 10.0.0.2 keeps slot 1, the new
	// one takes the lowest free slot.
	next, ok := assignSlots([]lbconfig.Endpoint{ep("10.0.0.2"), ep("10.0.0.3")}, slots, false)
	if !ok || len(next) != 4 || next[0].Address != "10.0.0.3" || next[1].Address != "10.0.0.2" {
		t.Fatalf("update = %+v, %v", next, ok)
	}
	// Five endpoints do not fit four slots without growing.
	five := []lbconfig.Endpoint{ep("10.0.0.1"), ep("10.0.0.2"), ep("10.0.0.3"), ep("10.0.0.4"), ep("10.0.0.5")}
	if _, ok := assignSlots(five, next, false); ok {
		t.Fatal("five endpoints fit in four slots")
	}
	grown, ok := assignSlots(five, next, true)
	if !ok || len(grown) != 8 || grown[0].Address != "10.0.0.3" || grown[1].Address != "10.0.0.2" {
		t.Fatalf("grown = %+v, %v", grown, ok)
	}
	for n, want := range map[int]int{0: 4, 3: 4, 4: 8, 7: 8, 8: 16, 1000: 1024} {
		if got := slotCount(n); got != want {
			t.Errorf("slotCount(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestSafeName(t *testing.T) {
	a, b := BackendID("default/echo:80"), BackendID("default/echo_80")
	if a == b {
		t.Errorf("distinct names share the id %q", a)
	}
	if !strings.HasPrefix(a, "be_default_echo_80_") {
		t.Errorf("BackendID = %q", a)
	}
	if long := BackendID(strings.Repeat("x", 500)); len(long) > 60 {
		t.Errorf("BackendID of a long name has %d characters", len(long))
	}
}

// TestRenderTLSSettings: every HTTPS bind gets the provider's TLS profile
// from the global defaults, and session resumption goes off with both its
// tickets and its cache.
func TestRenderTLSSettings(t *testing.T) {
	bin := haproxyBinary(t)
	cfg := goldenCases(t)["two-load-balancers-https"]
	profile := []string{
		"    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305\n",
		"    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\n",
		"    ssl-default-bind-curves X25519:P-256:P-384\n",
	}
	for _, tc := range []struct {
		off           bool
		want, notWant []string
	}{
		{false, []string{"    ssl-default-bind-options ssl-min-ver TLSv1.2\n"}, []string{"no-tls-tickets", "tune.ssl.cachesize"}},
		{true, []string{"    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n", "    tune.ssl.cachesize 0\n"}, nil},
	} {
		opts := goldenOptions(t)
		opts.Limits.NoTLSSessionResumption = tc.off
		r, err := RenderConfig(cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		text := string(r.Files[configFile])
		global, _, _ := strings.Cut(text, "\ndefaults\n")
		for _, want := range slices.Concat(profile, tc.want) {
			if !strings.Contains(global, want) {
				t.Errorf("resumption off %v: global section lacks %q:\n%s", tc.off, want, global)
			}
		}
		for _, bad := range tc.notWant {
			if strings.Contains(text, bad) {
				t.Errorf("resumption off %v: config has %q", tc.off, bad)
			}
		}
		if err := checkWithHAProxy(t, bin, r); err != nil {
			t.Error(err)
		}
	}
}

// TestRenderThreads: nbthread is always written, the CPUs this process
// may use when the option is zero.
func TestRenderThreads(t *testing.T) {
	cfg := goldenCases(t)["single-backend"]
	for _, tc := range []struct{ threads, want int }{{0, runtime.NumCPU()}, {1, 1}, {MaxThreads, MaxThreads}} {
		opts := goldenOptions(t)
		opts.Threads = tc.threads
		r, err := RenderConfig(cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		global, _, _ := strings.Cut(string(r.Files[configFile]), "\ndefaults\n")
		if want := "\n    nbthread " + strconv.Itoa(tc.want) + "\n"; strings.Count(global, "nbthread") != 1 || !strings.Contains(global, want) {
			t.Errorf("Threads %d: global section lacks %q:\n%s", tc.threads, want, global)
		}
	}
}
