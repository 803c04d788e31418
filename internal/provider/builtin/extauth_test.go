package builtin

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// authServer serves h on loopback, counting the connections it accepts.
func authServer(t *testing.T, h http.HandlerFunc) (url string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = &atomic.Int64{}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), conns
}

// echoUser is a backend that answers with the X-Auth-User it got.
func echoUser(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Echo-Server", "app")
	_, _ = io.WriteString(w, strings.Join(r.Header.Values("X-Auth-User"), ","))
}

func extAuthProxy(t *testing.T, a *lbconfig.ExternalAuth) (int32, *http.Client) {
	t.Helper()
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	guarded := prefix("/guarded", "app")
	guarded.ExternalAuth = a
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("app", startBackend(t, http.HandlerFunc(echoUser)))}, nil,
		vh("app.example.com", prefix("/", "app"), guarded)))
	return port, testClient(t)
}

// TestExtAuthManyClients: 40 clients at once, each allowed as the user
// its own header names, each get their own user: no answer of the auth
// server reaches another client's request.
func TestExtAuthManyClients(t *testing.T) {
	url, _ := authServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond) // overlap them
		w.Header().Set("X-Auth-User", "user-"+r.Header.Get("X-Who"))
	})
	port, c := extAuthProxy(t, &lbconfig.ExternalAuth{URL: url + "/auth", ResponseHeaders: []string{"X-Auth-User"}, Timeout: lbconfig.Duration(5 * time.Second)})
	var wg sync.WaitGroup
	errs := make(chan string, 40*10)
	for i := range 40 {
		wg.Go(func() {
			for j := range 10 {
				who := fmt.Sprintf("%d-%d", i, j)
				a := get(t, c, port, "app.example.com", "/guarded/x", "X-Who", who, "X-Auth-User", "forged")
				if a.status != http.StatusOK || a.body != "user-"+who {
					errs <- fmt.Sprintf("client %s: %d %q, want 200 %q", who, a.status, a.body, "user-"+who)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestExtAuthPoolsConnections: subrequests reuse the connections to the
// auth server rather than open one each.
func TestExtAuthPoolsConnections(t *testing.T) {
	url, conns := authServer(t, func(http.ResponseWriter, *http.Request) {})
	port, c := extAuthProxy(t, &lbconfig.ExternalAuth{URL: url + "/auth"})
	for range 50 {
		if a := get(t, c, port, "app.example.com", "/guarded"); a.status != http.StatusOK {
			t.Fatalf("got %d, want 200", a.status)
		}
	}
	if n := conns.Load(); n > 2 {
		t.Errorf("50 subrequests one after the other opened %d connections to the auth server, want 1 (or 2)", n)
	}
}

// TestExtAuthKeepAliveHandsOff: on one keep-alive connection the fast
// path serves the open route and hands the guarded one to net/http's
// path, which asks the auth server; a refused request after them does not
// reach the backend, and the connection goes on.
func TestExtAuthKeepAliveHandsOff(t *testing.T) {
	var asked atomic.Int64
	url, _ := authServer(t, func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if r.Header.Get("X-Original-Url") == "http://app.example.com/guarded/no" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("X-Auth-User", "alice")
	})
	port, _ := extAuthProxy(t, &lbconfig.ExternalAuth{URL: url + "/auth", ResponseHeaders: []string{"X-Auth-User"}})
	rc := dialRaw(t, port)
	for _, step := range []struct{ path, status, body string }{
		{"/open", "HTTP/1.1 200 ", ""},
		{"/guarded/yes", "HTTP/1.1 200 ", "alice"},
		{"/guarded/no", "HTTP/1.1 403 ", "403 forbidden\n"},
		{"/open", "HTTP/1.1 200 ", ""},
	} {
		if _, err := io.WriteString(rc.c, "GET "+step.path+" HTTP/1.1\r\nHost: app.example.com\r\nX-Auth-User: forged\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(rc.r, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", step.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := fmt.Sprintf("HTTP/1.1 %d ", resp.StatusCode); got != step.status || (step.body != "" && string(body) != step.body) {
			t.Errorf("GET %s: %s%q, want %s%q", step.path, got, body, step.status, step.body)
		}
		if step.path == "/open" && string(body) != "forged" {
			t.Errorf("GET /open: the backend got X-Auth-User %q, want the client's (no auth on this route)", body)
		}
	}
	if n := asked.Load(); n != 2 {
		t.Errorf("the auth server was asked %d times, want 2", n)
	}
}

// TestExtAuthSubrequestFields: the subrequest never carries the fields a
// Connection field names, the body's framing, or the client's copies of
// the fields the load balancer sets.
func TestExtAuthSubrequestFields(t *testing.T) {
	got := make(chan http.Header, 1)
	url, _ := authServer(t, func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		if r.ContentLength > 0 {
			h.Set("Body", "yes")
		}
		got <- h
	})
	port, c := extAuthProxy(t, &lbconfig.ExternalAuth{URL: url + "/auth"})
	a := do(t, c, http.MethodPut, port, "app.example.com", "/guarded/x", strings.NewReader("body"),
		"Connection", "X-Hop", "X-Hop", "secret", "X-Real-Ip", "6.6.6.6", "X-Forwarded-Host", "evil.example",
		"X-Auth-Request-Redirect", "https://evil.example/", "Expect", "100-continue", "X-Kept", "yes")
	if a.status != http.StatusOK {
		t.Fatalf("got %d, want 200", a.status)
	}
	h := <-got
	for name, want := range map[string]string{
		"X-Hop": "", "Body": "", "Expect": "", "Content-Length": "", "X-Kept": "yes",
		"X-Real-Ip": "127.0.0.1", "X-Forwarded-Host": "app.example.com", "X-Original-Method": "PUT",
		"X-Auth-Request-Redirect": "/guarded/x", "Host": strings.TrimPrefix(url, "http://"),
	} {
		if h.Get(name) != want {
			t.Errorf("subrequest %s = %q, want %q", name, h.Get(name), want)
		}
	}
}

// TestSigninLocation: the original URL goes in the parameter encoded, so
// that nothing of it reads as another parameter or as the sign-in URL's.
func TestSigninLocation(t *testing.T) {
	pr := &portRoutes{protoValue: []string{"https"}, portValue: []string{"443"}}
	for _, tc := range []struct {
		signin, param, target, want string
	}{
		{"https://l/start", "", "/p?a=b&rd=evil", "https://l/start?rd=https%3A%2F%2Fapp.example.com%2Fp%3Fa%3Db%26rd%3Devil"},
		{"https://l/start?", "", "/", "https://l/start?rd=https%3A%2F%2Fapp.example.com%2F"},
		{"https://l/start?x=1", "next", "/%20", "https://l/start?x=1&next=https%3A%2F%2Fapp.example.com%2F%2520"},
		{"https://l/start?rd=fixed", "", "/p", "https://l/start?rd=fixed"},
		{"https://$host/oauth2/start?rd=$escaped_request_uri", "", "/p?a=b&c", "https://app.example.com/oauth2/start?rd=%2Fp%3Fa%3Db%26c"},
		{"$scheme://$http_host/start", "", "/p", "https://App.Example.com:8443/start?rd=https%3A%2F%2FApp.Example.com%3A8443%2Fp"},
		{"https://l/start?next=$request_uri", "next", "/p?a=b", "https://l/start?next=/p?a=b"},
	} {
		a, _ := compileExtAuth(&lbconfig.ExternalAuth{URL: "http://a/", SigninURL: tc.signin, RedirectParam: tc.param}, nil)
		host := "app.example.com"
		if strings.Contains(tc.signin, "$http_host") {
			host = "App.Example.com:8443"
		}
		r := &http.Request{Host: host, RequestURI: tc.target}
		if got, err := a.signinLocation(r, pr); got != tc.want || err != nil {
			t.Errorf("signinLocation(%q, %q) = %q, %v, want %q", tc.signin, tc.target, got, err, tc.want)
		}
	}
	// A Host that is not a host name is never copied into the Location.
	a, _ := compileExtAuth(&lbconfig.ExternalAuth{URL: "http://a/", SigninURL: "https://$host/start"}, nil)
	for _, host := range []string{"evil.example/x", "a\"b", "", "*.example.com", "a.example.com:80:80", "a.example.com:x", "a b"} {
		if got, err := a.signinLocation(&http.Request{Host: host, RequestURI: "/"}, pr); err == nil {
			t.Errorf("Host %q: Location %q, want an error", host, got)
		}
	}
}

// TestFastPathAllocatesNothingBesideExtAuth: a route without external
// authentication keeps the fast path's zero allocations per request when
// a route of the same host has it.
func TestFastPathAllocatesNothingBesideExtAuth(t *testing.T) {
	backend := preparedBackend(t, new(atomic.Int64))
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	guarded := prefix("/guarded", "raw")
	guarded.ExternalAuth = &lbconfig.ExternalAuth{URL: "http://127.0.0.1:1/auth"}
	// One whose auth server is a backend's endpoints, that backend the
	// fast path's own.
	service := prefix("/service", "raw")
	service.ExternalAuth = &lbconfig.ExternalAuth{URL: "http://sso.auth.svc:4180/auth", Backend: &lbconfig.BackendRef{Name: "raw"}}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("raw", backend)}, nil,
		vh("bench.example.com", prefix("/", "raw"), guarded, service)))
	request := []byte("GET /api/v1/items?id=42 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	allocs, buf := keepAliveAllocs(t, "127.0.0.1:"+strconv.Itoa(int(port)), request, nil)
	if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("got %q, want 200", buf[:40])
	}
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}
