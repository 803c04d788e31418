package builtin

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// dateless is an echo backend that sends no Date field. The proxy's
// http.Server adds one to what it forwards and the fast path does not, so
// a response with a Date came through net/http. It answers /slow after
// 100 ms.
func dateless(t *testing.T, name string) lbconfig.Endpoint {
	return datelessSignalling(t, name, nil)
}

// datelessSignalling is dateless, and sends on slow when a request for
// /slow arrives.
func datelessSignalling(t *testing.T, name string, slow chan<- struct{}) lbconfig.Endpoint {
	echo := nettest.Echo{Name: name}
	return startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			if slow != nil {
				slow <- struct{}{}
			}
			time.Sleep(100 * time.Millisecond)
		}
		w.Header()["Date"] = nil
		echo.ServeHTTP(w, r)
	}))
}

func (rc *rawClient) send(raw string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, raw); err != nil {
		rc.t.Fatal(err)
	}
}

// read reads one response to method and its body.
func (rc *rawClient) read(method string) (*http.Response, string) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.r, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("reading a response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("reading a body: %v", err)
	}
	return resp, string(body)
}

func fastProxy(t *testing.T) int32 {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("echo", dateless(t, "e"))}, nil,
		vh("x.test", prefix("/", "echo"))))
	return port
}

// TestFastPathServesOrHandsOff checks which requests the fast path serves
// itself and that the others, handed to net/http with every byte read of
// them, are served right there, as is the next request on the connection.
func TestFastPathServesOrHandsOff(t *testing.T) {
	port := fastProxy(t)
	bigHead := "GET /big HTTP/1.1\r\nHost: x.test\r\nX-Pad: " + strings.Repeat("a", 5000) + "\r\n\r\n"
	for _, tc := range []struct {
		name, method, raw string
		status            int
		// body is what the echo answer's body starts with.
		body string
		fast bool
	}{
		{"GET", "GET", "GET /a?b=1 HTTP/1.1\r\nHost: x.test\r\n\r\n", 200, "e x.test/a?b=1", true},
		{"HEAD", "HEAD", "HEAD /a HTTP/1.1\r\nHost: x.test\r\n\r\n", 200, "", true},
		{"DELETE without a body", "DELETE", "DELETE /d HTTP/1.1\r\nHost: X.TEST:80\r\nContent-Length: 0\r\n\r\n", 200, "e X.TEST:80/d", true},
		{"no route", "GET", "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n", 404, "404 not found", true},
		{"body", "POST", "POST /p HTTP/1.1\r\nHost: x.test\r\nContent-Length: 5\r\n\r\nhello", 200, "e x.test/p", true},
		{"chunked body", "POST", "POST /p HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, "e x.test/p", false},
		{"expect", "PUT", "PUT /p HTTP/1.1\r\nHost: x.test\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n", 200, "e x.test/p", false},
		{"path to normalize", "GET", "GET /a/../b HTTP/1.1\r\nHost: x.test\r\n\r\n", 200, "e x.test/b", false},
		{"path refused", "GET", "GET /a%2Fb HTTP/1.1\r\nHost: x.test\r\n\r\n", 400, "400 bad request", false},
		{"head over the buffer", "GET", bigHead, 200, "e x.test/big", false},
		{"unknown method", "GET", "PROPFIND /f HTTP/1.1\r\nHost: x.test\r\n\r\n", 200, "e x.test/f", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, port)
			rc.send(tc.raw)
			resp, body := rc.read(tc.method)
			if resp.StatusCode != tc.status || !strings.HasPrefix(body, tc.body) {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if fast := resp.Header.Get("Date") == ""; fast != tc.fast {
				t.Errorf("served on the fast path: %v, want %v", fast, tc.fast)
			}
			if resp.Close {
				return // net/http closes after a chunked request (docs/security.md)
			}
			rc.send("GET /next HTTP/1.1\r\nHost: x.test\r\n\r\n")
			resp, body = rc.read("GET")
			if resp.StatusCode != 200 || body != "e x.test/next\n" {
				t.Fatalf("next request: got %d %q", resp.StatusCode, body)
			}
			// A handed-off connection stays with net/http.
			if fast := resp.Header.Get("Date") == ""; fast != tc.fast {
				t.Errorf("next request served on the fast path: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// TestFastPathClose checks that "Connection: close" is answered with it
// and the connection closed.
func TestFastPathClose(t *testing.T) {
	port := fastProxy(t)
	rc := dialRaw(t, port)
	rc.send("GET /a HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n")
	resp, _ := rc.read("GET")
	if !resp.Close || resp.Header.Get("Date") != "" {
		t.Errorf("close %v, Date %q", resp.Close, resp.Header.Get("Date"))
	}
	if n, err := rc.r.ReadByte(); err != io.EOF {
		t.Errorf("read %v %v after the response, want the connection closed", n, err)
	}
}

// TestFastPathPipelining checks that requests sent together are answered
// one by one, in order.
func TestFastPathPipelining(t *testing.T) {
	port := fastProxy(t)
	rc := dialRaw(t, port)
	rc.send("GET /1 HTTP/1.1\r\nHost: x.test\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x.test\r\n\r\nGET /3 HTTP/1.1\r\nHost: x.test\r\n\r\n")
	for i, method := range []string{"GET", "HEAD", "GET"} {
		resp, body := rc.read(method)
		if got := resp.Header.Get("X-Echo-Path"); got != "/"+strconv.Itoa(i+1) {
			t.Errorf("response %d is for %q (%q)", i+1, got, body)
		}
	}
}

// TestFastPathWatchKeepsNextRequest checks that the byte the client watch
// reads while a slow backend thinks (the start of a pipelined request) is
// not lost.
func TestFastPathWatchKeepsNextRequest(t *testing.T) {
	port := fastProxy(t)
	rc := dialRaw(t, port)
	rc.send("GET /slow HTTP/1.1\r\nHost: x.test\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the watch runs from watchAfter on
	rc.send("G")
	resp, _ := rc.read("GET")
	if got := resp.Header.Get("X-Echo-Path"); got != "/slow" {
		t.Fatalf("first response for %q", got)
	}
	rc.send("ET /after HTTP/1.1\r\nHost: x.test\r\n\r\n")
	resp, body := rc.read("GET")
	if resp.StatusCode != 200 || body != "e x.test/after\n" {
		t.Errorf("second request: got %d %q", resp.StatusCode, body)
	}
}

// TestFastPathAllocatesNothing proves the fast path's promise: a proxied
// keep-alive request costs no heap allocation in the proxy, measured over
// the whole process with a client and a backend that allocate nothing.
func TestFastPathAllocatesNothing(t *testing.T) {
	var served atomic.Int64
	backend := preparedBackend(t, &served)
	p := startProxy(t, nettest.Logger(t))
	// A route without access rule, one whose rule lets the client
	// (127.0.0.1) in, one whose rule keeps it out, a Regex route
	// (without rewrite), and a load balancer on an address of its own:
	// none allocates.
	for _, tc := range []struct {
		name   string
		access *lbconfig.Access
		regex  string
		status string
		own    string // the load balancer's own address; "" for none
		limit  *lbconfig.RateLimit
		hash   *lbconfig.Hash
	}{
		{"no rule", nil, "", "HTTP/1.1 200 OK\r\n", "", nil, nil},
		{"own address", nil, "", "HTTP/1.1 200 OK\r\n", "127.0.0.2", nil, nil},
		{"allowed", &lbconfig.Access{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Deny: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "", "HTTP/1.1 200 OK\r\n", "", nil, nil},
		{"refused", &lbconfig.Access{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "", "HTTP/1.1 403 ", "", nil, nil},
		{"regex", nil, `(?i)/API/v[0-9]+/(.*)`, "HTTP/1.1 200 OK\r\n", "", nil, nil},
		// Rate limits: admitted (a rate and requests in progress counted
		// and released) and over the limit.
		{"rate limited", nil, "", "HTTP/1.1 200 OK\r\n", "", &lbconfig.RateLimit{Zone: "a", PerSecond: &lbconfig.Rate{Requests: lbconfig.MaxRateLimit, Burst: lbconfig.MaxRateLimit}, Concurrent: 10, StatusCode: 503}, nil},
		{"over the rate limit", nil, "", "HTTP/1.1 429 ", "", &lbconfig.RateLimit{Zone: "b", PerMinute: &lbconfig.Rate{Requests: 1}, StatusCode: 429}, nil},
		// A hash policy reads its key where the head lies.
		{"hash", nil, "", "HTTP/1.1 200 OK\r\n", "", nil, &lbconfig.Hash{Key: []lbconfig.HashPart{
			{Type: lbconfig.HashClientAddress}, {Type: lbconfig.HashRequestURI}, {Type: lbconfig.HashPath}, {Type: lbconfig.HashHeader, Name: "user-agent"},
			{Type: lbconfig.HashHeader, Name: "host"}, {Type: lbconfig.HashCookie, Name: "sid"}, {Type: lbconfig.HashLiteral, Name: "v1"},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := nettest.FreePort(t)
			route := prefix("/", "raw")
			route.Access = tc.access
			if tc.regex != "" {
				route.Path, route.Match = tc.regex, lbconfig.MatchRegex
			}
			route.RateLimit = tc.limit
			b := backendOf("raw", backend)
			b.Policy.Hash = tc.hash
			cfg := oneListener(port, []lbconfig.Backend{b}, nil,
				vh("bench.example.com", route))
			addr := "127.0.0.1"
			if tc.own != "" {
				addr = tc.own
				cfg.LoadBalancers[0].Addresses = []netip.Addr{netip.MustParseAddr(tc.own)}
			}
			mustApply(t, p, cfg)

			request := []byte("GET /api/v1/items?id=42 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\nCookie: a=1; sid=2\r\n\r\n")
			var before int64
			allocs, buf := keepAliveAllocs(t, addr+":"+strconv.Itoa(int(port)), request, func() { before = served.Load() })
			if !bytes.HasPrefix(buf, []byte(tc.status)) {
				t.Fatalf("got %q, want %q", buf[:40], tc.status)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per request, want 0", allocs)
			}
			if got := served.Load() - before; tc.status != "HTTP/1.1 200 OK\r\n" && got != 0 {
				t.Errorf("the backend saw %d refused requests, want none", got)
			}
		})
	}
}

// preparedBackend answers every request head with one prepared 100-byte
// response, allocating nothing per request, and counts the heads in
// served.
func preparedBackend(t *testing.T, served *atomic.Int64) lbconfig.Endpoint {
	response := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100))
	return nettest.ServeRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			if bytes.HasSuffix(buf[:n], []byte("\r\n\r\n")) {
				n = 0
				served.Add(1)
				if _, err := c.Write(response); err != nil {
					return
				}
			}
		}
	})
}

// keepAliveAllocs sends request over one keep-alive connection to addr:
// 100 times to fill the pools and the connection's caches, then warmed
// (if set), then 2000 times under testing.AllocsPerRun. It returns the
// allocations per request and the head of the last response; a failed
// exchange fails t.
func keepAliveAllocs(t *testing.T, addr string, request []byte, warmed func()) (float64, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	var failed error
	roundTrip := func() {
		if _, err := c.Write(request); err != nil {
			failed = err
			return
		}
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				failed = err
				return
			}
			n += m
			if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 && n-i-4 >= contentLength(buf[:i]) {
				return
			}
		}
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	for range 100 {
		roundTrip()
	}
	if warmed != nil {
		warmed()
	}
	allocs := testing.AllocsPerRun(2000, roundTrip)
	if failed != nil {
		t.Fatal(failed)
	}
	return allocs, buf
}

// contentLength reads the Content-Length of a response head as the
// backend and the proxy spell it, or 0, without allocating: it runs
// within testing.AllocsPerRun.
func contentLength(head []byte) int {
	i := bytes.Index(head, []byte("\r\nContent-Length: "))
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range head[i+len("\r\nContent-Length: "):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestFastPathDrain checks a listener that closes: its idle fast-path
// connections are closed at once, and a request in flight finishes with
// "Connection: close".
func TestFastPathDrain(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port, other := nettest.FreePort(t), nettest.FreePort(t)
	slow := make(chan struct{}, 1)
	backends := []lbconfig.Backend{backendOf("echo", datelessSignalling(t, "e", slow))}
	mustApply(t, p, oneListener(port, backends, nil, vh("x.test", prefix("/", "echo"))))

	idle, busy := dialRaw(t, port), dialRaw(t, port)
	idle.send("GET /a HTTP/1.1\r\nHost: x.test\r\n\r\n")
	if resp, _ := idle.read("GET"); resp.StatusCode != 200 || resp.Header.Get("Date") != "" {
		t.Fatalf("got %d, Date %q", resp.StatusCode, resp.Header.Get("Date"))
	}
	busy.send("GET /slow HTTP/1.1\r\nHost: x.test\r\n\r\n")
	<-slow // the request is in flight
	start := time.Now()
	mustApply(t, p, oneListener(other, backends, nil, vh("x.test", prefix("/", "echo"))))

	resp, body := busy.read("GET")
	if resp.StatusCode != 200 || body != "e x.test/slow\n" || !resp.Close {
		t.Errorf("request in flight: got %d %q, close %v", resp.StatusCode, body, resp.Close)
	}
	if _, err := idle.r.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: read %v, want it closed", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("draining took %s", d)
	}
}

// TestFastPathBodies checks request bodies on the fast path: one that
// comes in pieces, with the next request right behind it, and one the
// backend refuses before reading it.
func TestFastPathBodies(t *testing.T) {
	t.Run("in pieces", func(t *testing.T) {
		port := fastProxy(t)
		rc := dialRaw(t, port)
		rc.send("PUT /p HTTP/1.1\r\nHost: x.test\r\nContent-Length: 11\r\n\r\nhel")
		time.Sleep(20 * time.Millisecond)
		rc.send("lo ")
		time.Sleep(20 * time.Millisecond)
		rc.send("world" + "GET /next HTTP/1.1\r\nHost: x.test\r\n\r\n")
		for _, want := range []string{"/p", "/next"} {
			resp, body := rc.read("GET")
			if resp.StatusCode != 200 || resp.Header.Get("X-Echo-Path") != want || resp.Header.Get("Date") != "" {
				t.Fatalf("got %d %q for %s, Date %q", resp.StatusCode, body, resp.Header.Get("X-Echo-Path"), resp.Header.Get("Date"))
			}
		}
	})
	t.Run("refused early", func(t *testing.T) {
		backend := nettest.ServeRaw(t, func(c net.Conn) {
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			_, _ = io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
		})
		p := startProxy(t, nettest.Logger(t))
		port := nettest.FreePort(t)
		mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("raw", backend)}, nil, vh("x.test", prefix("/", "raw"))))
		rc := dialRaw(t, port)
		const size = 8 << 20
		go func() {
			_, _ = io.WriteString(rc.c, "POST /upload HTTP/1.1\r\nHost: x.test\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
			_, _ = rc.c.Write(make([]byte, size))
		}()
		resp, body := rc.read("POST")
		if resp.StatusCode != 413 || body != "nope" || !resp.Close {
			t.Errorf("got %d %q, close %v; want the backend's 413 and the connection closed", resp.StatusCode, body, resp.Close)
		}
	})
}

// TestFastPathRefusedBodyIsNotARequest checks that a request answered
// without reading its body (refused by an access rule, with no route, or
// with no ready endpoint) closes the connection: its body, whatever it
// holds, is never taken for the next request.
func TestFastPathRefusedBodyIsNotARequest(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	refused := prefix("/", "echo")
	refused.Access = &lbconfig.Access{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("echo", nettest.EchoEndpoint(t, "echo")), {Name: "empty"}}, nil,
		vh("a.test", refused), vh("b.test", prefix("/known", "echo")), vh("c.test", prefix("/", "empty"))))
	for _, tc := range []struct {
		host   string
		status string
	}{{"a.test", "403"}, {"b.test", "404"}, {"c.test", "503"}} {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
		if err != nil {
			t.Fatal(err)
		}
		body := "GET /known HTTP/1.1\r\nHost: b.test\r\n\r\n"
		if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: "+tc.host+"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body); err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		out, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("%s: the connection was not closed after the %s: %v; read %q", tc.host, tc.status, err, out)
		}
		if n := bytes.Count(out, []byte("HTTP/1.1 ")); n != 1 || !bytes.HasPrefix(out, []byte("HTTP/1.1 "+tc.status+" ")) {
			t.Errorf("%s: got %q, want one %s and the connection closed", tc.host, out, tc.status)
		}
	}
}
