package builtin

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestHeaderChangesOnH2CBackend: the reverse proxy's path (HTTPS, h2c
// and gRPC backends) sends the Host and fields a route sets and changes
// the response as the HTTP/1.1 path does; a preflight never reaches it.
func TestHeaderChangesOnH2CBackend(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	var hits atomic.Int32
	h2only := startH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Echo-Server", "h2c")
		w.Header().Set("X-Seen-Host", r.Host)
		w.Header().Set("X-Seen-Prefix", strings.Join(r.Header.Values("X-Forwarded-Prefix"), "|"))
		w.Header().Set("X-Seen-Forwarded-Host", r.Header.Get("X-Forwarded-Host"))
		w.Header().Set("X-Secret", "1")
		_, _ = io.WriteString(w, "ok")
	}))

	rt := prefix("/", "h2c")
	rt.RequestHeaders = &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "Host", Value: "upstream.internal"}, {Name: "X-Forwarded-Prefix", Value: "/api"}}}
	rt.ResponseHeaders = &lbconfig.HeaderModifier{Remove: []string{"X-Secret"}}
	rt.CORS = &lbconfig.CORS{AllowOrigins: []string{"https://*.example.com"}, AllowMethods: []string{"GET"}}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{
		protoBackend("h2c", lbconfig.BackendH2C, h2only),
	}, nil, vh("h2c.test", rt)))
	c := testClient(t)
	a := get(t, c, port, "h2c.test", "/", "X-Forwarded-Prefix", "/client", "Origin", "https://app.example.com")
	if a.status != 200 || a.server() != "h2c" {
		t.Fatalf("got %d from %q", a.status, a.server())
	}
	for name, want := range map[string]string{
		"X-Seen-Host":                 "upstream.internal",
		"X-Seen-Prefix":               "/api",
		"X-Seen-Forwarded-Host":       "h2c.test",
		"X-Secret":                    "",
		"Access-Control-Allow-Origin": "https://app.example.com",
		"Vary":                        "Origin",
	} {
		if got := strings.Join(a.header.Values(name), "|"); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	a = do(t, c, http.MethodOptions, port, "h2c.test", "/", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET")
	if a.status != http.StatusNoContent || a.header.Get("Access-Control-Allow-Methods") != "GET" {
		t.Errorf("preflight: %d, Access-Control-Allow-Methods %q", a.status, a.header.Get("Access-Control-Allow-Methods"))
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the backend got %d requests, want 1 (no preflight)", n)
	}
}

// TestHeaderRouteLeavesFastPath: on one keep-alive connection, a request
// to a route with header changes is handed to net/http's path and the
// requests before and after it, to a route without, are answered in
// order, each with its own changes only.
func TestHeaderRouteLeavesFastPath(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	ep := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Server", "b")
		w.Header().Set("X-Path", r.URL.Path)
		_, _ = io.WriteString(w, "ok")
	}))
	changed := prefix("/changed", "b")
	changed.ResponseHeaders = &lbconfig.HeaderModifier{Add: []lbconfig.Header{{Name: "X-Changed", Value: "yes"}}}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", ep)}, nil, vh("fast.test", prefix("/", "b"), changed)))
	rc := dialRaw(t, port)
	for _, path := range []string{"/plain", "/changed", "/plain", "/changed/x"} {
		if _, err := io.WriteString(rc.c, "GET "+path+" HTTP/1.1\r\nHost: fast.test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(rc.r, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		want := ""
		if strings.HasPrefix(path, "/changed") {
			want = "yes"
		}
		if res.StatusCode != 200 || res.Header.Get("X-Path") != path || res.Header.Get("X-Changed") != want {
			t.Errorf("%s: %d for %q, X-Changed %q, want 200 for %s and %q", path, res.StatusCode, res.Header.Get("X-Path"), res.Header.Get("X-Changed"), path, want)
		}
	}
}

// TestHeaderChangesOverHTTP2: a client speaking HTTP/2 to an HTTPS
// listener gets the same: the Host set for the backend, a preflight
// answered by the proxy, the grant on a normal request.
func TestHeaderChangesOverHTTP2(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	cert := nettest.NewCert(t, "api", "api.test")
	rt := prefix("/", "echo")
	rt.RequestHeaders = &lbconfig.HeaderModifier{Set: []lbconfig.Header{{Name: "Host", Value: "upstream.internal"}}}
	rt.CORS = &lbconfig.CORS{AllowOrigins: []string{"https://app.example.com"}, AllowMethods: []string{"PUT"}}
	mustApply(t, p, &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: port, Protocol: lbconfig.ProtocolHTTPS,
			VirtualHosts: []lbconfig.VirtualHost{{Hostname: "api.test", TLS: cert.Ref(), Routes: []lbconfig.Route{rt}}},
		}}}},
		Backends:     []lbconfig.Backend{backendOf("echo", nettest.EchoEndpoint(t, "echo"))},
		Certificates: []lbconfig.Certificate{cert.Certificate()},
	})
	c := httpsClient(t, port, true, cert)
	url := "https://api.test:" + strconv.Itoa(int(port)) + "/"
	send := func(method string, hdr ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("%s over HTTP/%d, want HTTP/2", method, resp.ProtoMajor)
		}
		return resp
	}
	resp := send(http.MethodGet, "Origin", "https://app.example.com")
	if resp.StatusCode != 200 || resp.Header.Get("X-Echo-Host") != "upstream.internal" || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("GET: %d, backend saw Host %q, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("X-Echo-Host"), resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp = send(http.MethodOptions, "Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-Echo-Server") != "" || resp.Header.Get("Access-Control-Allow-Methods") != "PUT" {
		t.Errorf("preflight: %d from %q, Access-Control-Allow-Methods %q", resp.StatusCode, resp.Header.Get("X-Echo-Server"), resp.Header.Get("Access-Control-Allow-Methods"))
	}
	resp = send(http.MethodOptions, "Origin", "https://evil.example.com", "Access-Control-Request-Method", "PUT")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
