package builtin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// withPolicy is a one-backend config whose backend "b" has policy p.
func withPolicy(port int32, p lbconfig.Policy, eps ...lbconfig.Endpoint) *lbconfig.Config {
	// A copy: Apply's caller sorts the config in place.
	b := backendOf("b", slices.Clone(eps)...)
	b.Policy = p
	return oneListener(port, []lbconfig.Backend{b}, &lbconfig.BackendRef{Name: "b"})
}

func cookiePolicy(sameSite string) lbconfig.Policy {
	return lbconfig.Policy{Affinity: &lbconfig.Affinity{Type: lbconfig.AffinityByCookie, Cookie: &lbconfig.AffinityCookie{
		Name: "route", MaxAge: lbconfig.Duration(time.Hour), Path: "/app", SameSite: sameSite,
	}}}
}

// deadEndpoint is an endpoint whose port refuses connections.
func deadEndpoint(t *testing.T) lbconfig.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return nettest.Endpoint(t, addr)
}

func TestCookieAffinity(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	a, b, c, d := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b"), nettest.EchoEndpoint(t, "c"), nettest.EchoEndpoint(t, "d")
	mustApply(t, p, withPolicy(port, cookiePolicy("Lax"), a, b, c))
	client := testClient(t)

	first := get(t, client, port, "x.test", "/app")
	setCookie := first.header.Get("Set-Cookie")
	name, rest, _ := strings.Cut(setCookie, "=")
	value, attrs, _ := strings.Cut(rest, ";")
	if name != "route" || value == "" {
		t.Fatalf("first response Set-Cookie %q, want a route cookie", setCookie)
	}
	for _, want := range []string{"Path=/app", "Max-Age=3600", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(attrs, want) {
			t.Errorf("Set-Cookie %q lacks %s", setCookie, want)
		}
	}
	if strings.Contains(attrs, "Secure") {
		t.Errorf("Set-Cookie %q over plain HTTP with SameSite=Lax is Secure", setCookie)
	}
	home := first.server()
	sticky := func(when string) answer {
		t.Helper()
		var last answer
		for range 10 {
			last = get(t, client, port, "x.test", "/app", "Cookie", "other=1; route="+value)
			if last.server() != home {
				t.Fatalf("%s: a request with the cookie reached %q, want %q", when, last.server(), home)
			}
			if sc := last.header.Get("Set-Cookie"); sc != "" {
				t.Fatalf("%s: a request with a valid cookie got Set-Cookie %q", when, sc)
			}
		}
		return last
	}
	sticky("before any change")

	// Config changes that keep the endpoint keep the client on it.
	eps := map[string]lbconfig.Endpoint{"a": a, "b": b, "c": c, "d": d}
	mustApply(t, p, withPolicy(port, cookiePolicy("Lax"), a, b, c, d))
	sticky("after an endpoint was added")
	var others []lbconfig.Endpoint
	for name, ep := range eps {
		if name != home {
			others = append(others, ep)
		}
	}
	mustApply(t, p, withPolicy(port, cookiePolicy("Lax"), append(others[1:], eps[home])...))
	sticky("after another endpoint left")

	// Its endpoint leaves: the client moves and gets a new cookie.
	mustApply(t, p, withPolicy(port, cookiePolicy("Lax"), others...))
	moved := get(t, client, port, "x.test", "/app", "Cookie", "route="+value)
	if moved.server() == home || moved.status != http.StatusOK {
		t.Fatalf("after its endpoint %s left (%d endpoints left): %d from %q", home, len(others), moved.status, moved.server())
	}
	if sc := moved.header.Get("Set-Cookie"); !strings.HasPrefix(sc, "route=") || strings.HasPrefix(sc, "route="+value+";") {
		t.Errorf("after its endpoint left: Set-Cookie %q, want a new route cookie", sc)
	}

	// SameSite=None cookies are always Secure.
	mustApply(t, p, withPolicy(port, cookiePolicy("None"), a))
	if sc := get(t, client, port, "x.test", "/").header.Get("Set-Cookie"); !strings.Contains(sc, "SameSite=None") || !strings.Contains(sc, "Secure") {
		t.Errorf("SameSite=None: Set-Cookie %q, want Secure", sc)
	}
}

// getFrom sends a request from the local address ip.
func getFrom(t *testing.T, ip string, port int32) string {
	t.Helper()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return get(t, c, port, "x.test", "/").server()
}

func TestSourceIPAffinity(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	eps := map[string]lbconfig.Endpoint{}
	var all []lbconfig.Endpoint
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		eps[n] = nettest.EchoEndpoint(t, n)
		all = append(all, eps[n])
	}
	pol := lbconfig.Policy{Affinity: &lbconfig.Affinity{Type: lbconfig.AffinityBySourceIP}}
	mustApply(t, p, withPolicy(port, pol, all...))
	clients := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}
	home := map[string]string{}
	seen := map[string]bool{}
	for _, ip := range clients {
		home[ip] = getFrom(t, ip, port)
		seen[home[ip]] = true
		for range 5 {
			if got := getFrom(t, ip, port); got != home[ip] {
				t.Fatalf("client %s moved from %s to %s without a change", ip, home[ip], got)
			}
		}
	}
	if len(seen) < 2 {
		t.Errorf("%d clients all hashed to %v; want them spread", len(clients), seen)
	}
	// Remove the endpoint of the first client: only its clients move.
	gone := home[clients[0]]
	var left []lbconfig.Endpoint
	for n, ep := range eps {
		if n != gone {
			left = append(left, ep)
		}
	}
	mustApply(t, p, withPolicy(port, pol, left...))
	for _, ip := range clients {
		got := getFrom(t, ip, port)
		switch {
		case home[ip] == gone && got == gone:
			t.Errorf("client %s still reaches %s, which left", ip, gone)
		case home[ip] != gone && got != home[ip]:
			t.Errorf("client %s moved from %s to %s when %s left", ip, home[ip], got, gone)
		}
	}
}

func TestLeastRequest(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	entered := make(chan string, 1)
	release := make(chan struct{})
	blocking := func(name string) lbconfig.Endpoint {
		return startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Block") != "" {
				entered <- name
				<-release
			}
			w.Header().Set("X-Echo-Server", name)
		}))
	}
	mustApply(t, p, withPolicy(port, lbconfig.Policy{Algorithm: lbconfig.LeastRequest}, blocking("a"), blocking("b")))
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := testClient(t).Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	// That request has no X-Block; send one that does.
	<-done
	go func() {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/", nil)
		req.Header.Set("X-Block", "1")
		if resp, err := testClient(t).Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	busy := <-entered
	c := testClient(t)
	for i := range 10 {
		if got := get(t, c, port, "x.test", "/").server(); got == busy {
			t.Errorf("request %d went to %s, which has a request in progress; want the idle endpoint", i, busy)
		}
	}
	close(release)
}

func TestRandomSpreads(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, withPolicy(port, lbconfig.Policy{Algorithm: lbconfig.Random}, nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b"), nettest.EchoEndpoint(t, "c")))
	c := testClient(t)
	seen := map[string]int{}
	for range 200 {
		seen[get(t, c, port, "x.test", "/").server()]++
	}
	if len(seen) != 3 {
		t.Errorf("200 random picks reached %v, want all 3 endpoints", seen)
	}
}

func TestRetryOnConnectFailure(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	dead, live := deadEndpoint(t), nettest.EchoEndpoint(t, "live")
	c := testClient(t)
	count := func(method string) (ok, failed int) {
		for range 20 {
			var body io.Reader
			if method == "POST" {
				body = strings.NewReader("payload")
			}
			if a := do(t, c, method, port, "x.test", "/", body); a.status == http.StatusOK {
				ok++
			} else {
				failed++
			}
		}
		return ok, failed
	}
	mustApply(t, p, withPolicy(port, lbconfig.Policy{}, dead, live))
	if _, failed := count("GET"); failed == 0 {
		t.Errorf("without retries, no GET failed with a dead endpoint in round robin")
	}
	mustApply(t, p, withPolicy(port, lbconfig.Policy{Retries: 1}, dead, live))
	if _, failed := count("GET"); failed != 0 {
		t.Errorf("with a retry, %d of 20 GETs failed; want every one retried on the live endpoint", failed)
	}
	if _, failed := count("POST"); failed == 0 {
		t.Errorf("with a retry, no POST with a body failed: it was sent to another endpoint, which it must not be")
	}
}

func TestPassiveHealthCheck(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	dead, live := deadEndpoint(t), nettest.EchoEndpoint(t, "live")
	const base = time.Second // wide, so that a loaded machine stays inside the windows
	pol := lbconfig.Policy{Retries: 1, PassiveHealthCheck: &lbconfig.PassiveHealthCheck{
		ConsecutiveFailures: 2, BaseEjection: lbconfig.Duration(base), MaxEjection: lbconfig.Duration(4 * base),
	}}
	mustApply(t, p, withPolicy(port, pol, dead, live))
	deadAddr := net.JoinHostPort(dead.Address, strconv.Itoa(int(dead.Port)))
	p.mu.Lock()
	pool := p.pools[deadAddr]
	p.mu.Unlock()
	c := testClient(t)
	for i := range 10 {
		if a := get(t, c, port, "x.test", "/"); a.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, a.status)
		}
	}
	until := time.Unix(0, pool.health.ejectedUntil.Load())
	if left := time.Until(until); left <= 0 || left > base {
		t.Fatalf("after 10 requests the dead endpoint is ejected for %s more; want (0, %s]", left, base)
	}
	if n := pool.health.failures.Load(); n != 0 {
		t.Errorf("%d failures counted while ejected; want no connects to an ejected endpoint", n)
	}
	// After the ejection it is tried again, fails again, and is ejected
	// for twice as long.
	time.Sleep(time.Until(until) + 10*time.Millisecond)
	for i := 0; pool.health.ejections.Load() < 2 && i < 20; i++ {
		get(t, c, port, "x.test", "/")
	}
	if k := pool.health.ejections.Load(); k != 2 {
		t.Fatalf("ejections = %d after the first one ended, want 2", k)
	}
	if left := time.Until(time.Unix(0, pool.health.ejectedUntil.Load())); left <= base || left > 2*base {
		t.Errorf("second ejection lasts %s more; want (%s, %s]", left, base, 2*base)
	}
}

func TestTimeouts(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	slowHead := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	const timeout = 200 * time.Millisecond
	mustApply(t, p, withPolicy(port, lbconfig.Policy{Timeouts: lbconfig.Timeouts{ResponseHeader: lbconfig.Duration(timeout)}}, slowHead))
	start := time.Now()
	if a := get(t, testClient(t), port, "x.test", "/"); a.status != http.StatusGatewayTimeout {
		t.Errorf("a backend slower than the response header timeout: %d, want 504", a.status)
	}
	if took := time.Since(start); took < timeout {
		t.Errorf("504 after %s, before the %s timeout", took, timeout)
	}

	stalls := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "part of it")
		w.(http.Flusher).Flush()
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	mustApply(t, p, withPolicy(port, lbconfig.Policy{Timeouts: lbconfig.Timeouts{Idle: lbconfig.Duration(timeout)}}, stalls))
	// The head and the start of the body may still sit in the proxy's
	// buffer when the body is cut: the client sees the connection end
	// either before the head or in the body.
	expectBodyCut(t, testClient(t), port, "/", "a body", timeout)
}

// expectBodyCut gets path on port and checks that the client cannot read
// the whole response (what names the body in messages), and finds out
// well before the backend's own 5s, about timeout.
func expectBodyCut(t *testing.T, c *http.Client, port int32, path, what string, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + path)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Errorf("%s that stalls longer than the idle timeout was read in full", what)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the stalled body was cut after %s; want about %s", took, timeout)
	}
}

func TestMaxRequestBody(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	got := make(chan int, 10)
	sink := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got <- int(n)
	}))
	mustApply(t, p, withPolicy(port, lbconfig.Policy{MaxRequestBodyBytes: 1024}, sink))
	c := testClient(t)
	if a := do(t, c, "POST", port, "x.test", "/", bytes.NewReader(make([]byte, 1024))); a.status != http.StatusOK || <-got != 1024 {
		t.Errorf("a body at the limit: %d", a.status)
	}
	if a := do(t, c, "POST", port, "x.test", "/", bytes.NewReader(make([]byte, 1025))); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit with Content-Length: %d, want 413", a.status)
	}
	// Chunked: no Content-Length, cut while streaming.
	if a := do(t, c, "POST", port, "x.test", "/", io.MultiReader(strings.NewReader(strings.Repeat("x", 3000)))); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a chunked body over the limit: %d, want 413", a.status)
	}
}

func TestTunnelIdleTimeout(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	const idle = time.Second
	mustApply(t, p, withPolicy(port, lbconfig.Policy{Timeouts: lbconfig.Timeouts{Idle: lbconfig.Duration(idle)}}, startWebsocketEcho(t, "a")))
	ws := dialWebsocket(t, port, "chat.test")
	// Busy for two idle timeouts: it stays open.
	for i := range 6 {
		msg := fmt.Sprint(i)
		if got, err := roundTrip(ws, msg); err != nil || got != "a: "+msg {
			t.Fatalf("message %d on a busy tunnel: %q, %v", i, got, err)
		}
		time.Sleep(idle / 3)
	}
	// Quiet: it is closed.
	_ = ws.SetDeadline(time.Now().Add(10 * time.Second))
	var msg string
	if err := websocket.Message.Receive(ws, &msg); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("a quiet tunnel with a %s idle timeout: %q, %v; want it closed by the proxy", idle, msg, err)
	}
}

// TestNoEndpointsLeftAfterRetries: every endpoint refuses; the answer is
// 502 after trying each at most once.
func TestNoEndpointsLeftAfterRetries(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, withPolicy(port, lbconfig.Policy{Retries: 5}, deadEndpoint(t), deadEndpoint(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/", nil)
	resp, err := testClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("all endpoints dead: %d, want 502", resp.StatusCode)
	}
}
