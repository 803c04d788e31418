package providertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// testErrorPages checks lbconfig.Route.ErrorPages and Fallback. A
// backend's 503 is answered with the error backend's page and the status
// 503 (the page comes with 200, to tell them apart), the error backend
// having got "GET /" without the client's body, cookies or credentials,
// with X-Code and the other fields; a status not listed (404) passes
// untouched, and so is the refusal of a request that switches
// protocols; a huge 503 body is never passed on; a route whose backend
// has no endpoints is served by its fallback, the request as it came;
// an error backend that cannot answer (no endpoints, too slow, a page
// too large) leaves the client the status with the load balancer's
// plain text; and a keep-alive client connection carries a replaced
// response and then a normal one with no stray byte.
func (s *Suite) testErrorPages(t *testing.T) {
	l := s.start(t)
	big := strings.Repeat("x", 1<<20)
	app := l.startRecorder("app", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Secret", "leak")
		switch {
		case strings.HasPrefix(r.URL.Path, "/app/503big"):
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, big)
		case strings.HasPrefix(r.URL.Path, "/app/503"), strings.HasPrefix(r.URL.Path, "/broken"), strings.HasPrefix(r.URL.Path, "/slow"), strings.HasPrefix(r.URL.Path, "/large"), strings.HasPrefix(r.URL.Path, "/poison"), strings.HasPrefix(r.URL.Path, "/refused"), strings.HasPrefix(r.URL.Path, "/malformed"):
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "app 503 body\n")
		case strings.HasPrefix(r.URL.Path, "/app/404"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "app 404 body\n")
		default:
			_, _ = io.WriteString(w, "ok\n")
		}
	})
	pages := l.startRecorder("errors", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("X-Page", "yes")
		// 200 on purpose: the client must get the backend's status.
		fmt.Fprintf(w, "<p>error %s at %s</p>\n", r.Header.Get("X-Code"), r.Header.Get("X-Original-URI"))
	})
	slow := l.startRecorder("slow-errors", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "too late\n")
	})
	large := l.startRecorder("large-errors", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("p", lbconfig.MaxErrorPageBytes+1))
	})
	fallback := l.startRecorder("fallback", nil)
	poison := l.startPoisoningPages()
	malformed := l.startMalformedPages()
	port := l.freePort()
	shop := lbconfig.ObjectRef{Kind: "Ingress", Namespace: "shop", Name: "web"}
	withPages := func(r lbconfig.Route, backend string, statuses ...int32) lbconfig.Route {
		r.ErrorPages = &lbconfig.ErrorPages{Backend: lbconfig.BackendRef{Name: backend}, Statuses: statuses}
		r.Source = shop
		return r
	}
	down := lbconfig.Backend{Name: "test/down:80"}
	nowhere := lbconfig.Backend{Name: "test/nowhere:80"}
	// An endpoint that refuses connections: a port just closed.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := int32(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	refusing := lbconfig.Backend{Name: "test/refusing:80", Endpoints: []lbconfig.Endpoint{{Address: "127.0.0.1", Port: closedPort, Ready: true, Serving: true}}}
	slowPool := slow.pool()
	slowPool.Policy.Timeouts.ResponseHeader = lbconfig.Duration(time.Second)
	slowPool.Policy.Timeouts.Connect = lbconfig.Duration(time.Second)
	toDown := route("/down", lbconfig.MatchPrefix, down.Name)
	toDown.Fallback = &lbconfig.BackendRef{Name: fallback.ref}
	toDown.Source = shop
	// A fallback with endpoints of its own to fall back from: unused.
	toApp := route("/up", lbconfig.MatchPrefix, app.ref)
	toApp.Fallback = &lbconfig.BackendRef{Name: fallback.ref}
	l.apply(config(oneLB(port, nil,
		vhost("app.example.com",
			withPages(route("/app", lbconfig.MatchPrefix, app.ref), pages.ref, 500, 503),
			withPages(route("/broken", lbconfig.MatchPrefix, app.ref), nowhere.Name, 503),
			withPages(route("/slow", lbconfig.MatchPrefix, app.ref), slow.ref, 503),
			withPages(route("/large", lbconfig.MatchPrefix, app.ref), large.ref, 503),
			withPages(route("/poison", lbconfig.MatchPrefix, app.ref), poison.Name, 503),
			withPages(route("/refused", lbconfig.MatchPrefix, app.ref), refusing.Name, 503),
			withPages(route("/malformed", lbconfig.MatchPrefix, app.ref), malformed.Name, 503),
			toDown, toApp,
		),
	), app.pool(), pages.pool(), slowPool, large.pool(), fallback.pool(), down, nowhere, poison, refusing, malformed))

	l.eventually("the error page to replace the 503", func() (bool, string) {
		r := l.get(l.client, port, "app.example.com", "/app/503")
		return r.status == http.StatusServiceUnavailable && r.server == "errors", r.String()
	})
	pages.take()
	app.take()

	// The page, the backend's status, nothing of the backend's answer.
	r := l.get(l.client, port, "app.example.com", "/app/503/x?q=1&r=%41", "Accept", "application/json",
		"Cookie", "session=secret", "Authorization", "Basic c2VjcmV0", "X-Request-ID", "req-42", "X-Service-Name", "spoofed")
	if r.status != http.StatusServiceUnavailable || r.server != "errors" || r.header.Get("X-Page") != "yes" ||
		r.header.Get("X-App-Secret") != "" || r.body != "<p>error 503 at /app/503/x?q=1&r=%41</p>\n" {
		t.Errorf("GET /app/503/x: got %s, X-Page %q, X-App-Secret %q, body %q; want 503 with the error page only",
			r, r.header.Get("X-Page"), r.header.Get("X-App-Secret"), r.body)
	}
	got, _ := pages.take()
	if len(got) != 1 {
		t.Fatalf("the error backend got %d requests, want 1", len(got))
	}
	pr := got[0]
	for name, want := range map[string]string{
		"X-Code": "503", "X-Format": "application/json", "X-Original-URI": "/app/503/x?q=1&r=%41",
		"X-Namespace": "shop", "X-Ingress-Name": "web", "X-Service-Name": "app", "X-Service-Port": "80",
		"X-Request-ID": "req-42", "Cookie": "", "Authorization": "",
	} {
		if v := strings.Join(pr.header.Values(name), ","); v != want {
			t.Errorf("the error backend got %s %q, want %q", name, v, want)
		}
	}
	if pr.method != http.MethodGet || pr.path != "/" || pr.host != "app.example.com" || pr.body != "" {
		t.Errorf("the error backend got %s %s (Host %q, body %q), want GET / (Host app.example.com), no body", pr.method, pr.path, pr.host, pr.body)
	}

	// A POST's body goes to the app only; a generated request id.
	post := l.doWithBody(port, http.MethodPost, "/app/503", "the client's body")
	if post.status != http.StatusServiceUnavailable || post.server != "errors" {
		t.Errorf("POST /app/503: got %s, want 503 with the error page", post)
	}
	if got, _ := pages.take(); len(got) != 1 || got[0].method != http.MethodGet || got[0].body != "" ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got[0].header.Get("X-Request-ID")) {
		t.Errorf("after a POST the error backend got %+v, want one GET without a body and a 32-digit request id", got)
	}
	if got, _ := app.take(); len(got) == 0 || got[len(got)-1].body != "the client's body" {
		t.Errorf("the app got %+v, want the POST's body", got)
	}

	// A status not listed passes as it is.
	if r := l.get(l.client, port, "app.example.com", "/app/404"); r.status != http.StatusNotFound || r.server != "app" || r.body != "app 404 body\n" {
		t.Errorf("GET /app/404: got %s, body %q; want the app's own 404", r, r.body)
	}
	if got, _ := pages.take(); len(got) != 0 {
		t.Errorf("a 404 not listed asked the error backend %d times", len(got))
	}
	// A huge 503 body is never sent on: the page is.
	if r := l.get(l.client, port, "app.example.com", "/app/503big"); r.status != http.StatusServiceUnavailable || r.server != "errors" || len(r.body) > 1000 {
		t.Errorf("GET /app/503big: got %s with %d bytes, want 503 with the error page", r, len(r.body))
	}
	// A request that switches protocols gets the backend's refusal as
	// it is: no page replaces it.
	if up := l.do(http.MethodGet, port, "app.example.com", "/app/503", "Connection", "Upgrade", "Upgrade", "example/1"); up.status != http.StatusServiceUnavailable || up.server != "app" || up.body != "app 503 body\n" {
		t.Errorf("GET /app/503 asking to upgrade: got %s, body %q; want the app's own 503", up, up.body)
	}
	pages.take()
	// HEAD: the status and no body.
	if h := l.do(http.MethodHead, port, "app.example.com", "/app/503"); h.status != http.StatusServiceUnavailable || h.body != "" {
		t.Errorf("HEAD /app/503: got %s with body %q, want 503 without a body", h, h.body)
	}

	// The route's backend has no endpoints: the fallback serves the
	// request as it came, told why.
	fallback.take()
	if r := l.get(l.client, port, "app.example.com", "/down/x?y=1", "Accept", "text/html"); r.status != http.StatusOK || r.server != "fallback" {
		t.Errorf("GET /down/x: got %s, want 200 from the fallback", r)
	}
	if got, _ := fallback.take(); len(got) != 1 || got[0].path != "/down/x" || got[0].header.Get("X-Code") != "503" ||
		got[0].header.Get("X-Service-Name") != "down" || got[0].header.Get("X-Namespace") != "shop" || got[0].header.Get("X-Format") != "text/html" {
		t.Errorf("the fallback got %+v, want GET /down/x with X-Code 503, X-Service-Name down, X-Namespace shop", got)
	}
	if r := l.get(l.client, port, "app.example.com", "/up"); r.status != http.StatusOK || r.server != "app" {
		t.Errorf("GET /up: got %s, want 200 from the app, which has endpoints", r)
	}

	// Error backends that cannot answer: the status, the load balancer's
	// plain text.
	plain := "503 service unavailable\n"
	for _, path := range []string{"/broken", "/refused", "/slow", "/large"} {
		start := time.Now()
		r := l.get(l.client, port, "app.example.com", path)
		if r.status != http.StatusServiceUnavailable || r.server != "" || r.body != plain {
			t.Errorf("GET %s: got %s, body %q; want 503 with %q", path, r, r.body, plain)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("GET %s took %v; the error backend's 1s timeouts did not hold", path, d)
		}
	}

	// Pages that are not well-formed HTTP are not passed on: a lone CR
	// in a field, two lengths, a body cut short, a status line that is
	// none.
	for name := range malformedPages {
		r := l.get(l.client, port, "app.example.com", "/malformed/"+name)
		if r.status != http.StatusServiceUnavailable || r.server != "" || r.body != plain || r.header.Get("Injected") != "" {
			t.Errorf("GET /malformed/%s: got %s, body %q, Injected %q; want 503 with %q", name, r, r.body, r.header.Get("Injected"), plain)
		}
	}

	// One keep-alive connection: a replaced response, then a normal one,
	// each whole, nothing more.
	l.keepAliveAfterPage(port)

	// Many clients at once, pages and normal answers mixed, from a
	// well-behaved error backend and from one that sends a forged
	// response after each page: every client gets its own.
	l.pagesUnderLoad(port)
}

// startPoisoningPages serves error pages that name the X-Original-URI
// they were asked for, each followed, a moment later, by a forged
// response on the same connection: a proxy that reused the connection
// would take it for the next page.
func (l *lab) startPoisoningPages() lbconfig.Backend {
	ep := nettest.ServeRaw(l.t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body := "poisoned page for " + r.Header.Get("X-Original-URI") + "\n"
			if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Echo-Server: poison\r\n\r\n%s", len(body), body); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX-Echo-Server: forged\r\n\r\nFORGED\n"); err != nil {
				return
			}
		}
	})
	return lbconfig.Backend{Name: "test/poison:80", Endpoints: []lbconfig.Endpoint{ep}}
}

// malformedPages are the broken pages startMalformedPages sends, by the
// last element of X-Original-URI.
var malformedPages = map[string]string{
	"cr":      "HTTP/1.1 200 OK\r\nX-Evil: a\rInjected: 1\r\nContent-Length: 2\r\n\r\nhi",
	"lengths": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi!",
	"short":   "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhi",
	"status":  "HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nhi",
	"field":   "HTTP/1.1 200 OK\r\nBad Field: x\r\nContent-Length: 2\r\n\r\nhi",
}

// startMalformedPages answers each page request with the malformed page
// its X-Original-URI names, then closes the connection.
func (l *lab) startMalformedPages() lbconfig.Backend {
	ep := nettest.ServeRaw(l.t, func(c net.Conn) {
		r, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		uri := r.Header.Get("X-Original-URI")
		_, _ = io.WriteString(c, malformedPages[uri[strings.LastIndexByte(uri, '/')+1:]])
	})
	return lbconfig.Backend{Name: "test/malformed:80", Endpoints: []lbconfig.Endpoint{ep}}
}

// pagesUnderLoad sends, from 16 clients at once, requests whose answers
// are replaced (by both error backends) or not, each with a path of its
// own, and checks that every answer is the one for its request.
func (l *lab) pagesUnderLoad(port int32) {
	t := l.t
	var wg sync.WaitGroup
	errs := make(chan string, 16*12)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
			defer c.CloseIdleConnections()
			for j := range 12 {
				var path, want string
				status := http.StatusServiceUnavailable
				switch j % 3 {
				case 0:
					path = fmt.Sprintf("/app/503/c%d-%d", i, j)
					want = "<p>error 503 at " + path + "</p>\n"
				case 1:
					path = fmt.Sprintf("/poison/c%d-%d", i, j)
					want = "poisoned page for " + path + "\n"
				default:
					path = fmt.Sprintf("/app/ok/c%d-%d", i, j)
					want, status = "ok\n", http.StatusOK
				}
				r := l.get(c, port, "app.example.com", path)
				if r.err != nil || r.status != status || r.body != want {
					errs <- fmt.Sprintf("client %d: GET %s: got %s, body %q; want %d, body %q", i, path, r, r.body, status, want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if n > 10 {
		t.Errorf("%d more wrong answers", n-10)
	}
}

// doWithBody sends one request with method and body to app.example.com.
func (l *lab) doWithBody(port int32, method, path, body string) reply {
	req, err := http.NewRequest(method, "http://"+net.JoinHostPort(l.addr, strconv.Itoa(int(port)))+path, strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	req.Host = "app.example.com"
	return replyOf(l.client.Do(req))
}

// keepAliveAfterPage sends, on one connection, a request whose answer
// is replaced and one that is not, and checks that each response is
// whole and that nothing follows them.
func (l *lab) keepAliveAfterPage(port int32) {
	t := l.t
	c, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for i, tc := range []struct {
		path, server, body string
		status             int
	}{
		{"/app/503big", "errors", "<p>error 503 at /app/503big</p>\n", 503},
		{"/app/ok", "app", "ok\n", 200},
		{"/app/503", "errors", "<p>error 503 at /app/503</p>\n", 503},
		{"/app/ok", "app", "ok\n", 200},
	} {
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: app.example.com\r\n\r\n", tc.path); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, tc.path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || resp.Header.Get("X-Echo-Server") != tc.server || string(b) != tc.body {
			t.Errorf("request %d (%s) on one connection: %d from %q, body %q (%v); want %d from %q, body %q",
				i, tc.path, resp.StatusCode, resp.Header.Get("X-Echo-Server"), b, err, tc.status, tc.server, tc.body)
		}
		if resp.Close {
			t.Fatalf("request %d (%s): the load balancer closed the connection", i, tc.path)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _ := br.Peek(1); len(n) > 0 {
		t.Errorf("stray bytes after the last response: %q", n)
	}
}
