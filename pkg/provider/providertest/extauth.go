package providertest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// authServer is an auth server on loopback that answers by the path it
// is asked on and records what it got.
type authServer struct {
	addr string // "127.0.0.1:port"
	srv  *http.Server
	done chan struct{}
	// release ends the hanging answers.
	release chan struct{}

	mu   sync.Mutex
	reqs []authRecord
}

// authRecord is one subrequest as the auth server read it.
type authRecord struct {
	method, path, query, host string
	header                    http.Header
	body                      string
}

// startAuthServer serves an auth server until the case ends:
//
//	/allow         200 with X-Auth-User: alice, two X-Auth-Group fields,
//	               a cookie and a body to drop
//	/cookies       200 with ten cookies
//	/deny401       401 with WWW-Authenticate: Basic realm="auth"
//	/deny403       403
//	/teapot        418
//	/redirect      302 to /allow (never to be followed)
//	/huge          200 with a head larger than MaxAuthAnswerHeaderBytes
//	/hang          nothing until the case ends
//	/drip          a 200 head one byte per 100 ms
//	/badfield      200 with a DEL byte in X-Auth-User
//	/who           200 with X-Auth-User: user-<the request's X-Who>
func (l *lab) startAuthServer() *authServer {
	l.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.t.Fatalf("providertest: auth server: %v", err)
	}
	a := &authServer{addr: ln.Addr().String(), done: make(chan struct{}), release: make(chan struct{})}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(a.done)
		_ = a.srv.Serve(ln)
	}()
	l.t.Cleanup(func() {
		close(a.release)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if a.srv.Shutdown(ctx) != nil {
			_ = a.srv.Close()
		}
		<-a.done
	})
	return a
}

func (a *authServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	a.mu.Lock()
	a.reqs = append(a.reqs, authRecord{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, host: r.Host, header: r.Header.Clone(), body: string(body)})
	a.mu.Unlock()
	switch r.URL.Path {
	case "/allow":
		w.Header().Set("X-Auth-User", "alice")
		w.Header().Add("X-Auth-Group", "admins")
		w.Header().Add("X-Auth-Group", "users")
		w.Header().Set("X-Not-Listed", "nope")
		w.Header().Set("Set-Cookie", "session=renewed; Path=/; HttpOnly")
		_, _ = io.WriteString(w, strings.Repeat("allowed ", 1000))
	case "/cookies":
		for i := range 10 {
			w.Header().Add("Set-Cookie", "c"+strconv.Itoa(i)+"=v")
		}
	case "/who":
		w.Header().Set("X-Auth-User", "user-"+r.Header.Get("X-Who"))
	case "/deny401":
		w.Header().Set("WWW-Authenticate", `Basic realm="auth"`)
		w.Header().Set("Set-Cookie", "tried=1")
		w.WriteHeader(http.StatusUnauthorized)
	case "/deny403":
		w.WriteHeader(http.StatusForbidden)
	case "/teapot":
		w.WriteHeader(http.StatusTeapot)
	case "/redirect":
		http.Redirect(w, r, "/allow", http.StatusFound)
	case "/huge":
		for i := range 40 {
			w.Header().Set("X-Pad-"+strconv.Itoa(i), strings.Repeat("p", 1000))
		}
		w.Header().Set("X-Auth-User", "alice")
	case "/hang":
		select {
		case <-a.release:
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	case "/badfield":
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nX-Auth-User: alice\x7f\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		_ = bw.Flush()
	case "/drip":
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		for _, c := range []byte("HTTP/1.1 200 OK\r\nX-Auth-User: alice\r\nX-Slow: " + strings.Repeat("s", 200) + "\r\n\r\n") {
			_ = bw.WriteByte(c)
			if bw.Flush() != nil {
				return
			}
			select {
			case <-a.release:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// take returns and forgets the subrequests so far.
func (a *authServer) take() []authRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	reqs := a.reqs
	a.reqs = nil
	return reqs
}

// url is the auth URL of path.
func (a *authServer) url(path string) string { return "http://" + a.addr + path }

// testExternalAuth checks lbconfig.Route.ExternalAuth against a real auth
// server: an allowed request reaches the backend with the answer's listed
// fields, replacing the client's forged copies; the auth server gets the
// client's fields, the ones the load balancer sets and no body; 401 goes
// to the client (with WWW-Authenticate) or, with a sign-in URL, becomes
// 302 there with the original URL in rd; 403 is 403; any other answer, a
// redirect, a head too large, a field with a control byte, an auth
// server down, hanging or dripping is 500 within the timeout; a denied
// request never reaches the backend.
func (s *Suite) testExternalAuth(t *testing.T) {
	l := s.start(t)
	auth := l.startAuthServer()
	guarded, open := l.startRecorder("guarded", nil), l.startRecorder("open", nil)
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + down.Addr().String() + "/allow"
	_ = down.Close()
	port := l.freePort()
	const timeout = 2 * time.Second
	with := func(path, authURL string, edit func(*lbconfig.ExternalAuth)) lbconfig.Route {
		rt := route(path, lbconfig.MatchPrefix, guarded.ref)
		rt.ExternalAuth = &lbconfig.ExternalAuth{URL: authURL, Timeout: lbconfig.Duration(timeout), ResponseHeaders: []string{"X-Auth-Group", "X-Auth-Missing", "X-Auth-User"}}
		if edit != nil {
			edit(rt.ExternalAuth)
		}
		return rt
	}
	signin := func(u string) func(*lbconfig.ExternalAuth) {
		return func(a *lbconfig.ExternalAuth) { a.SigninURL = u }
	}
	l.apply(config(oneLB(port, nil, vhost("app.example.com",
		route("/", lbconfig.MatchPrefix, open.ref),
		with("/allowed", auth.url("/allow?from=lb"), nil),
		with("/post-auth", auth.url("/allow"), func(a *lbconfig.ExternalAuth) { a.Method = "POST"; a.RequestRedirect = "https://app.example.com/back" }),
		with("/denied", auth.url("/deny401"), nil),
		with("/signin", auth.url("/deny401"), signin("https://login.example.com/start")),
		with("/signin-query", auth.url("/deny401"), signin("https://login.example.com/start?x=1")),
		with("/signin-own-param", auth.url("/deny401"), func(a *lbconfig.ExternalAuth) {
			a.SigninURL, a.RedirectParam = "https://login.example.com/start", "next"
		}),
		with("/signin-has-rd", auth.url("/deny401"), signin("https://login.example.com/start?rd=https://fixed.example.com/")),
		with("/forbidden", auth.url("/deny403"), nil),
		with("/teapot", auth.url("/teapot"), nil),
		with("/redirect", auth.url("/redirect"), nil),
		with("/huge", auth.url("/huge"), nil),
		with("/down", downURL, nil),
		with("/hang", auth.url("/hang"), nil),
		with("/drip", auth.url("/drip"), nil),
		with("/badfield", auth.url("/badfield"), nil),
		with("/who", auth.url("/who"), nil),
		with("/cookies", auth.url("/cookies"), nil),
		with("/denied-always", auth.url("/deny401"), func(a *lbconfig.ExternalAuth) { a.AlwaysSetCookie = true }),
		with("/signin-vars", auth.url("/deny401"), signin("https://$host/oauth2/start?rd=$escaped_request_uri")),
		with("/signin-http-host", auth.url("/deny401"), signin("$scheme://$http_host/login")),
	), vhost("",
		with("/any-host", auth.url("/deny401"), signin("https://$host/oauth2/start")),
	)), guarded.pool(), open.pool()))
	l.expect(at(port, "app.example.com", "/", want{status: http.StatusOK, backends: []string{"open"}}))
	open.take()

	// Allowed: the backend gets the answer's listed fields and none of
	// the client's copies; the auth server gets the client's fields and
	// the load balancer's.
	r := l.do(http.MethodGet, port, "app.example.com", "/allowed/x?q=1",
		"X-Auth-User", "forged", "X-Auth-Missing", "forged", "X-Auth-Group", "forged",
		"Cookie", "session=s1", "Authorization", "Bearer t0k", "X-Forwarded-For", "10.9.9.9",
		"X-Original-URL", "http://evil.example/", "X-Sent-From", "client")
	if r.err != nil || r.status != http.StatusOK || r.server != "guarded" {
		t.Fatalf("GET /allowed/x: got %s, want 200 from backend guarded", r)
	}
	reqs, _ := guarded.take()
	if len(reqs) != 1 {
		t.Fatalf("backend guarded got %d requests, want 1", len(reqs))
	}
	checkValues(t, "backend", reqs[0].header, "X-Auth-User", "alice")
	checkValues(t, "backend", reqs[0].header, "X-Auth-Group", "admins", "users")
	checkValues(t, "backend", reqs[0].header, "X-Auth-Missing")
	checkValues(t, "backend", reqs[0].header, "X-Not-Listed")
	checkValues(t, "backend", reqs[0].header, "Cookie", "session=s1")
	checkValues(t, "response", r.header, "Set-Cookie", "session=renewed; Path=/; HttpOnly")
	subs := auth.take()
	if len(subs) != 1 {
		t.Fatalf("the auth server got %d subrequests for one request, want 1", len(subs))
	}
	sub := subs[0]
	if sub.method != http.MethodGet || sub.path != "/allow" || sub.query != "from=lb" || sub.host != auth.addr || sub.body != "" {
		t.Errorf("subrequest: %s %s?%s Host %q body %q, want GET /allow?from=lb Host %q and no body", sub.method, sub.path, sub.query, sub.host, sub.body, auth.addr)
	}
	checkValues(t, "subrequest", sub.header, "X-Original-Url", "http://app.example.com/allowed/x?q=1")
	checkValues(t, "subrequest", sub.header, "X-Original-Method", "GET")
	checkValues(t, "subrequest", sub.header, "X-Sent-From", lbconfig.SentFrom)
	checkValues(t, "subrequest", sub.header, "X-Real-Ip", "127.0.0.1")
	checkValues(t, "subrequest", sub.header, "X-Forwarded-For", "127.0.0.1")
	checkValues(t, "subrequest", sub.header, "X-Auth-Request-Redirect", "/allowed/x?q=1")
	checkValues(t, "subrequest", sub.header, "Cookie", "session=s1")
	checkValues(t, "subrequest", sub.header, "Authorization", "Bearer t0k")
	if sub.header.Get("Content-Length") != "" && sub.header.Get("Content-Length") != "0" {
		t.Errorf("subrequest: Content-Length %q, want none", sub.header.Get("Content-Length"))
	}

	// A body goes to the backend, never to the auth server.
	const secret = "the request body is for the backend only"
	r = l.doBody(http.MethodPost, port, "app.example.com", "/post-auth/form", secret)
	if r.err != nil || r.status != http.StatusOK || r.server != "guarded" {
		t.Fatalf("POST /post-auth/form: got %s, want 200 from backend guarded", r)
	}
	if reqs, _ = guarded.take(); len(reqs) != 1 || reqs[0].body != secret {
		t.Errorf("backend guarded got %d requests (%v), want 1 with the body", len(reqs), reqs)
	}
	subs = auth.take()
	if len(subs) != 1 {
		t.Fatalf("the auth server got %d subrequests for one request, want 1", len(subs))
	}
	if subs[0].method != http.MethodPost || subs[0].body != "" || strings.Contains(subs[0].header.Get("Content-Length"), "4") {
		t.Errorf("subrequest: %s with body %q, Content-Length %q; want POST without a body", subs[0].method, subs[0].body, subs[0].header.Get("Content-Length"))
	}
	checkValues(t, "subrequest", subs[0].header, "X-Original-Method", "POST")
	checkValues(t, "subrequest", subs[0].header, "X-Auth-Request-Redirect", "https://app.example.com/back")

	noFollow := &http.Client{Transport: l.client.Transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	original := url.QueryEscape("http://app.example.com/signin/p?a=b&c=%2F")
	for _, c := range []struct {
		path, location string
	}{
		{"/signin/p?a=b&c=%2F", "https://login.example.com/start?rd=" + original},
		{"/signin-query/p", "https://login.example.com/start?x=1&rd=" + url.QueryEscape("http://app.example.com/signin-query/p")},
		{"/signin-own-param/p", "https://login.example.com/start?next=" + url.QueryEscape("http://app.example.com/signin-own-param/p")},
		{"/signin-has-rd/p", "https://login.example.com/start?rd=https://fixed.example.com/"},
		{"/signin-vars/p?a=b&c=%2F", "https://app.example.com/oauth2/start?rd=" + url.QueryEscape("/signin-vars/p?a=b&c=%2F")},
	} {
		r := l.get(noFollow, port, "app.example.com", c.path)
		if r.err != nil || r.status != http.StatusFound || r.server != "" || r.header.Get("Location") != c.location {
			t.Errorf("GET %s: got %s Location %q, want 302 from the load balancer to %q", c.path, r, r.header.Get("Location"), c.location)
		}
	}
	// $http_host is the Host as sent; $host, a Host that is no host name,
	// never goes in a Location: 500.
	r = l.get(noFollow, port, "App.Example.com:9999", "/signin-http-host/p")
	if want := "http://App.Example.com:9999/login?rd=" + url.QueryEscape("http://App.Example.com:9999/signin-http-host/p"); r.err != nil || r.status != http.StatusFound || r.header.Get("Location") != want {
		t.Errorf("GET /signin-http-host/p: got %s Location %q, want 302 to %q", r, r.header.Get("Location"), want)
	}
	for _, host := range []string{"a..example.com", "-a.example.com", "a.example.com:99999999"} {
		r := l.get(noFollow, port, host, "/any-host/p")
		if r.err != nil || r.status != http.StatusInternalServerError || r.header.Get("Location") != "" {
			t.Errorf("GET /any-host/p with Host %q: got %s Location %q, want 500 without a Location", host, r, r.header.Get("Location"))
		}
	}
	if r := l.get(noFollow, port, "a.example.com", "/any-host/p"); r.err != nil || r.status != http.StatusFound || r.header.Get("Location") != "https://a.example.com/oauth2/start?rd="+url.QueryEscape("http://a.example.com/any-host/p") {
		t.Errorf("GET /any-host/p with Host a.example.com: got %s Location %q", r, r.header.Get("Location"))
	}
	r = l.do(http.MethodGet, port, "app.example.com", "/denied/x")
	if r.err != nil || r.status != http.StatusUnauthorized || r.server != "" || r.header.Get("WWW-Authenticate") != `Basic realm="auth"` {
		t.Errorf("GET /denied/x: got %s WWW-Authenticate %q, want 401 from the load balancer with the auth server's", r, r.header.Get("WWW-Authenticate"))
	}
	// The auth server's cookies: on 2xx and 3xx (a sign-in redirect
	// too), on a 401 only with AlwaysSetCookie, at most MaxAuthCookies.
	checkValues(t, "401", r.header, "Set-Cookie")
	r = l.do(http.MethodGet, port, "app.example.com", "/denied-always/x")
	if r.status != http.StatusUnauthorized {
		t.Errorf("GET /denied-always/x: got %s, want 401", r)
	}
	checkValues(t, "401 with AlwaysSetCookie", r.header, "Set-Cookie", "tried=1")
	checkValues(t, "sign-in redirect", l.get(noFollow, port, "app.example.com", "/signin/p").header, "Set-Cookie", "tried=1")
	r = l.do(http.MethodGet, port, "app.example.com", "/cookies/x")
	if got := r.header.Values("Set-Cookie"); r.status != http.StatusOK || len(got) != lbconfig.MaxAuthCookies || got[0] != "c0=v" {
		t.Errorf("GET /cookies/x: got %s with Set-Cookie %q, want 200 with the first %d of the auth server's 10", r, got, lbconfig.MaxAuthCookies)
	}
	guarded.take()
	r = l.do(http.MethodGet, port, "app.example.com", "/forbidden/x")
	if r.err != nil || r.status != http.StatusForbidden || r.server != "" {
		t.Errorf("GET /forbidden/x: got %s, want 403 from the load balancer", r)
	}
	for _, path := range []string{"/teapot", "/redirect", "/huge", "/down", "/hang", "/drip", "/badfield"} {
		start := time.Now()
		r := l.do(http.MethodGet, port, "app.example.com", path+"/x", "X-Auth-User", "forged")
		took := time.Since(start)
		if r.err != nil || r.status != http.StatusInternalServerError || r.server != "" {
			t.Errorf("GET %s/x: got %s, want 500 from the load balancer", path, r)
		}
		if took > timeout+3*time.Second {
			t.Errorf("GET %s/x took %s, more than the timeout %s and some", path, took, timeout)
		}
	}
	if reqs, _ := guarded.take(); len(reqs) != 0 {
		t.Errorf("backend guarded got %d requests that the auth server did not allow, want none", len(reqs))
	}
	s.extAuthManyClients(t, l, port, guarded)
	if reqs, _ := open.take(); len(reqs) != 0 {
		t.Errorf("backend open got %d requests, want none", len(reqs))
	}
}

// checkValues checks the values of a field.
func checkValues(t *testing.T, where string, h http.Header, name string, want ...string) {
	t.Helper()
	if got := h.Values(name); !slices.Equal(got, want) {
		t.Errorf("%s: %s = %q, want %q", where, name, clipped(got), want)
	}
}

// doBody sends one request with a body.
func (l *lab) doBody(method string, port int32, host, path, body string) reply {
	req, err := http.NewRequest(method, "http://"+net.JoinHostPort(l.addr, strconv.Itoa(int(port)))+path, strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	req.Host = host
	return replyOf(l.client.Do(req))
}

// extAuthManyClients: 20 clients at once, each allowed as the user its own
// X-Who names, each get their own user at the backend: no answer of the
// auth server reaches another client's request.
func (s *Suite) extAuthManyClients(t *testing.T, l *lab, port int32, guarded *recorder) {
	const clients, each = 20, 5
	var wg sync.WaitGroup
	errs := make(chan string, clients*each)
	for i := range clients {
		wg.Go(func() {
			for j := range each {
				who := strconv.Itoa(i) + "-" + strconv.Itoa(j)
				r := l.do(http.MethodGet, port, "app.example.com", "/who/"+who, "X-Who", who, "X-Auth-User", "forged")
				if r.err != nil || r.status != http.StatusOK || r.server != "guarded" {
					errs <- "GET /who/" + who + ": got " + r.String()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	reqs, _ := guarded.take()
	if len(reqs) != clients*each {
		t.Errorf("backend guarded got %d requests, want %d", len(reqs), clients*each)
	}
	for _, r := range reqs {
		who := strings.TrimPrefix(r.path, "/who/")
		if got := r.header.Values("X-Auth-User"); !slices.Equal(got, []string{"user-" + who}) {
			t.Errorf("the request of client %s reached the backend with X-Auth-User %q, want [user-%s]", who, got, who)
		}
	}
}
