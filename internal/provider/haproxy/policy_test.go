package haproxy

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

func TestHTTPSRedirectAndTCPListener(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	httpPort, httpsPort, tcpPort := freePort(t), freePort(t), freePort(t)
	a, db := echo(t, "a"), echo(t, "db")
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{
			{Port: httpPort, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.example.com", Routes: []lbconfig.Route{
				{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80"), HTTPSRedirect: &lbconfig.HTTPSRedirect{Port: httpsPort, StatusCode: 308}},
				{Path: "/plain", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80")},
			}}}},
			{Port: httpsPort, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{{Hostname: "a.example.com", TLS: &lbconfig.CertificateRef{Name: "default/a-tls"},
				Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/a:80")}}}}},
			{Port: tcpPort, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: "default/db:5432"}},
		}}},
		Backends: []lbconfig.Backend{
			{Name: "default/a:80", Endpoints: []lbconfig.Endpoint{a}},
			{Name: "default/db:5432", Endpoints: []lbconfig.Endpoint{db}},
		},
		Certificates: []lbconfig.Certificate{{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}}},
	}
	apply(t, p, cfg)
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(httpPort))+"/x/y?q=1", nil)
	req.Host = "A.example.com:" + strconv.Itoa(int(httpPort))
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "https://a.example.com:" + strconv.Itoa(int(httpsPort)) + "/x/y?q=1"
	if resp.StatusCode != 308 || resp.Header.Get("Location") != want {
		t.Errorf("redirect = %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if r := get(newClient(), httpPort, "a.example.com", "/plain"); r.server != "a" {
		t.Errorf("GET /plain = %d from %q (%v), want a", r.status, r.server, r.err)
	}
	// A TCP listener forwards the bytes: HTTP to the echo behind it.
	if r := get(newClient(), tcpPort, "anything", "/"); r.status != 200 || r.server != "db" {
		t.Errorf("GET through the TCP listener = %d from %q (%v), want db", r.status, r.server, r.err)
	}
}

func TestCookieAffinitySurvivesEndpointChanges(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := freePort(t)
	a, b, c := echo(t, "a"), echo(t, "b"), echo(t, "c")
	sticky := func(eps ...lbconfig.Endpoint) *lbconfig.Config {
		cfg := simpleConfig(port, eps...)
		cfg.Backends[0].Policy.Affinity = &lbconfig.Affinity{Type: lbconfig.AffinityByCookie, Cookie: &lbconfig.AffinityCookie{Name: "route"}}
		return cfg
	}
	apply(t, p, sticky(a, b))
	client := &http.Client{Timeout: 10 * time.Second}
	first := func() (server string, cookie *http.Cookie) {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, ck := range resp.Cookies() {
			if ck.Name == "route" {
				cookie = ck
			}
		}
		return resp.Header.Get("X-Echo-Server"), cookie
	}
	with := func(ck *http.Cookie) string {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/", nil)
		req.AddCookie(ck)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Echo-Server")
	}
	server, ck := first()
	if ck == nil {
		t.Fatal("no affinity cookie set")
	}
	check := func(when string) {
		t.Helper()
		for range 10 {
			if got := with(ck); got != server {
				t.Fatalf("%s: request with the cookie of %s went to %s", when, server, got)
			}
		}
	}
	check("same config")
	// Endpoint churn through the runtime API: the other endpoint leaves,
	// c arrives. The cookie's endpoint stays.
	other := b
	if server == "b" {
		other = a
	}
	keep := map[string]lbconfig.Endpoint{"a": a, "b": b}[server]
	apply(t, p, sticky(keep, c))
	check("after the runtime API changed the other endpoints")
	// A structural reload keeps it too.
	next := sticky(keep, c, other)
	next.Backends[0].Policy.Algorithm = lbconfig.LeastRequest
	apply(t, p, next)
	check("after a reload")
	if p.Reloads() != 1 {
		t.Errorf("Reloads = %d, want 1", p.Reloads())
	}
}
