package haproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

func TestHTTPSRedirectAndTCPListener(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	httpPort, httpsPort, tcpPort := nettest.FreePort(t), nettest.FreePort(t), nettest.FreePort(t)
	a, db := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "db")
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
	port := nettest.FreePort(t)
	a, b, c := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b"), nettest.EchoEndpoint(t, "c")
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

func TestMaxRequestBody(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	got := make(chan int, 10)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got <- int(n)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	sink := lbconfig.Endpoint{Address: "127.0.0.1", Port: int32(ln.Addr().(*net.TCPAddr).Port), Ready: true, Serving: true}
	cfg := simpleConfig(port, sink)
	cfg.Backends[0].Policy.MaxRequestBodyBytes = 1024
	apply(t, p, cfg)
	c := newClient()
	post := func(body io.Reader) int {
		t.Helper()
		resp, err := c.Post("http://127.0.0.1:"+strconv.Itoa(int(port))+"/", "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusRequestEntityTooLarge && !strings.Contains(string(b), "413 request entity too large") {
			t.Errorf("413 body %q", b)
		}
		return resp.StatusCode
	}
	if s := post(bytes.NewReader(make([]byte, 1024))); s != 200 || <-got != 1024 {
		t.Errorf("a body at the limit: %d", s)
	}
	if s := post(bytes.NewReader(make([]byte, 1025))); s != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit with Content-Length: %d, want 413", s)
	}
	// Chunked (no Content-Length): io.MultiReader hides the length.
	if s := post(io.MultiReader(strings.NewReader(strings.Repeat("x", 3000)))); s != http.StatusRequestEntityTooLarge {
		t.Errorf("a chunked body over the limit: %d, want 413", s)
	}
	if s := post(io.MultiReader(strings.NewReader(strings.Repeat("x", 1000)))); s != 200 || <-got != 1000 {
		t.Errorf("a chunked body under the limit: %d, want 200", s)
	}
	select {
	case n := <-got:
		t.Errorf("a body over the limit reached the backend (%d bytes)", n)
	default:
	}
}

// serverUp reports whether HAProxy has server slot of backend id up
// (operational state running), from "show servers state".
func serverUp(t testing.TB, p *Provider, id, slot string) bool {
	t.Helper()
	p.mu.Lock()
	out, err := p.workerCommands(context.Background(), p.worker, []string{"show servers state " + id})
	p.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 5 && f[1] == id && f[3] == slot {
			return f[5] == "2"
		}
	}
	t.Fatalf("no server %s/%s in %q", id, slot, out)
	return false
}

func TestPassiveHealthCheck(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	down := nettest.NewDeadPort(t) // connects are refused
	deadPort, dead := down.Port, down.Endpoint()
	live := nettest.EchoEndpoint(t, "live")
	cfg := simpleConfig(port, dead, live)
	cfg.Backends[0].Policy.Retries = 1
	cfg.Backends[0].Policy.PassiveHealthCheck = &lbconfig.PassiveHealthCheck{
		ConsecutiveFailures: 2, BaseEjection: lbconfig.Duration(300 * time.Millisecond), MaxEjection: lbconfig.Duration(time.Second),
	}
	apply(t, p, cfg)
	id := BackendID("default/echo:80")
	deadSlot := "s1"
	if p.layout.Backends["default/echo:80"].Slots[0].Port != deadPort {
		deadSlot = "s2"
	}
	c := newClient()
	for i := range 10 {
		if r := get(c, port, "x.test", "/"); r.status != 200 || r.server != "live" {
			t.Fatalf("request %d: %d from %q (%v), want live (retried away from the dead endpoint)", i, r.status, r.server, r.err)
		}
	}
	waitFor(t, 10*time.Second, "the failing endpoint to be ejected", func() bool { return !serverUp(t, p, id, deadSlot) })
	// The way back: once it accepts connections, a check brings it back.
	ln, err := down.Listen()
	if err != nil {
		t.Fatalf("listen on the dead endpoint's port: %v", err)
	}
	s := nettest.ServeEcho("revived", ln)
	t.Cleanup(func() { _ = s.Close() })
	waitFor(t, 20*time.Second, "the revived endpoint to take requests again", func() bool {
		return get(newClient(), port, "x.test", "/").server == "revived"
	})
	if p.Reloads() != 0 {
		t.Errorf("Reloads = %d, want 0", p.Reloads())
	}
}

func TestCookieAttributes(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	httpPort, httpsPort := nettest.FreePort(t), nettest.FreePort(t)
	a, b := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b")
	const name = "app$id'x" // an RFC 6265 token that needs quoting in haproxy.cfg
	route := []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/echo:80")}}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{
			{Port: httpPort, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{{Routes: route}}},
			{Port: httpsPort, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{{TLS: &lbconfig.CertificateRef{Name: "default/a-tls"}, Routes: route}}},
		}}},
		Backends: []lbconfig.Backend{{Name: "default/echo:80", Endpoints: []lbconfig.Endpoint{a, b}, Policy: lbconfig.Policy{
			Affinity: &lbconfig.Affinity{Type: lbconfig.AffinityByCookie, Cookie: &lbconfig.AffinityCookie{
				Name: name, Path: "/app", MaxAge: lbconfig.Duration(time.Hour), SameSite: "Lax"}},
		}}},
		Certificates: []lbconfig.Certificate{{Name: "default/a-tls", ChainPEM: readTestdata(t, "tls-a.crt"), KeyPEM: readTestdata(t, "tls-a.key"), Hosts: []string{"a.example.com"}}},
	}
	apply(t, p, cfg)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	setCookie := func(url string, cookie string) (server, header string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Echo-Server"), resp.Header.Get("Set-Cookie")
	}
	server, sc := setCookie("http://127.0.0.1:"+strconv.Itoa(int(httpPort))+"/app/x", "")
	value, attrs, _ := strings.Cut(strings.TrimPrefix(sc, name+"="), ";")
	if !strings.HasPrefix(sc, name+"=") || value == "" {
		t.Fatalf("Set-Cookie %q, want a %s cookie", sc, name)
	}
	for _, want := range []string{"Path=/app", "Max-Age=3600", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(attrs, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Count(strings.ToLower(sc), "path=") != 1 || strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q over HTTP: want exactly one Path and no Secure", sc)
	}
	for range 10 {
		if got, again := setCookie("http://127.0.0.1:"+strconv.Itoa(int(httpPort))+"/app/x", "other=1; "+name+"="+value); got != server || again != "" {
			t.Fatalf("a request with the cookie of %s reached %s (Set-Cookie %q)", server, got, again)
		}
	}
	_, sc = setCookie("https://127.0.0.1:"+strconv.Itoa(int(httpsPort))+"/app/x", "")
	if !strings.Contains(sc, "; Secure") || !strings.Contains(sc, "Path=/app") {
		t.Errorf("Set-Cookie %q over HTTPS: want Secure and Path=/app", sc)
	}
}
