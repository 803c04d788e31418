package builtin

import (
	"bufio"
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

	"golang.org/x/net/websocket"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// startProxyWith is startProxy with client limits: opts plus the
// loopback listen address.
func startProxyWith(t testing.TB, opts provider.Options) *Provider {
	t.Helper()
	opts.ListenAddress = "127.0.0.1"
	p := New(opts, nettest.Logger(t))
	runProvider(t, p)
	return p
}

// recorder is a backend that reads every request body to its end and
// records what it saw: the requests that reached it, the bodies it got
// in full, and its connections that closed.
type recorder struct {
	requests, complete, closed atomic.Int64
	// bodyErr gets the result of reading each body, nil when complete.
	bodyErr chan error
}

func startRecorder(t testing.TB) (*recorder, lbconfig.Endpoint) {
	t.Helper()
	rec := &recorder{bodyErr: make(chan error, 16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec.requests.Add(1)
			n, err := io.Copy(io.Discard, r.Body)
			if err == nil {
				rec.complete.Add(1)
			}
			rec.bodyErr <- err
			fmt.Fprintf(w, "got %d bytes\n", n)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateClosed || s == http.StateHijacked {
				rec.closed.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rec, nettest.Endpoint(t, ln.Addr().String())
}

// headOfSize is a GET request head of exactly n bytes, counted as the
// limit counts, padded with fields fields.
func headOfSize(t testing.TB, n, fields int) string {
	t.Helper()
	h, err := nettest.HeadOfSize("x.test", n, fields)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// rawStatus sends raw on a new connection to port and returns the status
// of the answer, or 0 when the connection ended without one.
func rawStatus(t testing.TB, port int32, raw string) int {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRequestHeaderLimit: heads up to the limit pass, larger ones get 431
// from the proxy and never reach the backend, at the boundary exactly
// (net/http alone would allow 4 KiB more), also for the default limit.
func TestRequestHeaderLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int // Options.MaxRequestHeaderBytes
		size  int // of the head sent
		// fields is how many header fields pad it
		fields int
		want   int
	}{
		{"under the limit", 4096, 4000, 1, http.StatusOK},
		{"at the limit", 4096, 4096, 1, http.StatusOK},
		{"at the limit, many fields", 4096, 4096, 40, http.StatusOK},
		{"one byte over", 4096, 4097, 1, http.StatusRequestHeaderFieldsTooLarge},
		{"one byte over, many fields", 4096, 4097, 40, http.StatusRequestHeaderFieldsTooLarge},
		{"within net/http's slack", 4096, 4096 + 4000, 1, http.StatusRequestHeaderFieldsTooLarge},
		{"far over", 4096, 64 << 10, 8, http.StatusRequestHeaderFieldsTooLarge},
		{"default, at the limit", 0, provider.DefaultMaxRequestHeaderBytes, 4, http.StatusOK},
		{"default, one byte over", 0, provider.DefaultMaxRequestHeaderBytes + 1, 4, http.StatusRequestHeaderFieldsTooLarge},
		{"default, 512 KiB", 0, 512 << 10, 64, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxyWith(t, provider.Options{MaxRequestHeaderBytes: tc.limit})
			port := nettest.FreePort(t)
			rec, ep := startRecorder(t)
			mustApply(t, p, withPolicy(port, lbconfig.Policy{}, ep))
			got := rawStatus(t, port, headOfSize(t, tc.size, tc.fields))
			if got != tc.want {
				t.Errorf("a head of %d bytes with limit %d: status %d, want %d", tc.size, tc.limit, got, tc.want)
			}
			wantReached := int64(0)
			if tc.want == http.StatusOK {
				wantReached = 1
			}
			if n := rec.requests.Load(); n != wantReached {
				t.Errorf("the backend got %d requests, want %d", n, wantReached)
			}
		})
	}
}

// slowBody sends the head of a POST with a body of size bytes and then
// the body as send says, and returns the response and how long it took.
func slowBody(t testing.TB, port int32, head string, send func(c net.Conn)) (status int, took time.Duration, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(start.Add(15 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	go send(c)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	took = time.Since(start)
	if err != nil {
		return 0, took, true
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// After the answer the proxy closes the connection.
	_, err = br.ReadByte()
	return resp.StatusCode, took, err == io.EOF
}

// TestClientBodyTimeout: a client that sends half its body and stops gets
// 408 once the body timeout passes, on a connection the proxy then
// closes; the backend never gets the body complete and its connection is
// closed, not kept for another request.
func TestClientBodyTimeout(t *testing.T) {
	const timeout = time.Second
	for _, tc := range []struct {
		name       string
		head, half string
	}{
		{"content-length", "POST /up HTTP/1.1\r\nHost: x.test\r\nContent-Length: 100\r\n\r\n", strings.Repeat("x", 50)},
		{"chunked", "POST /up HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n\r\n", "32\r\n" + strings.Repeat("x", 50) + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxyWith(t, provider.Options{ClientBodyTimeout: timeout})
			port := nettest.FreePort(t)
			rec, ep := startRecorder(t)
			mustApply(t, p, withPolicy(port, lbconfig.Policy{}, ep))
			status, took, closed := slowBody(t, port, tc.head, func(c net.Conn) { _, _ = io.WriteString(c, tc.half) })
			if status != http.StatusRequestTimeout {
				t.Errorf("half a body, then nothing: status %d after %s, want 408", status, took)
			}
			if took < timeout || took > timeout+3*time.Second {
				t.Errorf("answered after %s; want soon after the %s body timeout", took, timeout)
			}
			if !closed {
				t.Error("the proxy kept the client connection open after the 408")
			}
			select {
			case err := <-rec.bodyErr:
				if err == nil {
					t.Error("the backend got the body complete")
				}
			case <-time.After(5 * time.Second):
				t.Error("the backend is still reading the body")
			}
			waitFor(t, "the backend connection to close", func() bool { return rec.closed.Load() == 1 })
			if n := rec.complete.Load(); n != 0 {
				t.Errorf("the backend got %d complete bodies, want 0", n)
			}
		})
	}
}

// TestClientBodyDribble: the body timeout is one of inactivity: a client
// that sends a byte at a time, each well within it, takes three times as
// long as the timeout and is served.
func TestClientBodyDribble(t *testing.T) {
	const timeout = time.Second
	p := startProxyWith(t, provider.Options{ClientBodyTimeout: timeout})
	port := nettest.FreePort(t)
	rec, ep := startRecorder(t)
	mustApply(t, p, withPolicy(port, lbconfig.Policy{}, ep))
	const size = 10
	head := "POST /up HTTP/1.1\r\nHost: x.test\r\nContent-Length: " + strconv.Itoa(size) + "\r\nConnection: close\r\n\r\n"
	status, took, _ := slowBody(t, port, head, func(c net.Conn) {
		for range size {
			time.Sleep(timeout * 3 / 10)
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	})
	if status != http.StatusOK {
		t.Errorf("a body dribbled over %s, a byte every %s: status %d, want 200", took, timeout*3/10, status)
	}
	if n := rec.complete.Load(); n != 1 {
		t.Errorf("the backend got %d complete bodies, want 1", n)
	}
}

// TestTunnelIdleDefault: websockets and TCP connections whose backend
// sets no idle timeout are closed after Options.TunnelIdleTimeout without
// a byte; one whose backend sets a longer one keeps it.
func TestTunnelIdleDefault(t *testing.T) {
	const idle = time.Second
	p := startProxyWith(t, provider.Options{TunnelIdleTimeout: idle})

	wsPort := nettest.FreePort(t)
	mustApply(t, p, withPolicy(wsPort, lbconfig.Policy{}, startWebsocketEcho(t, "a")))
	ws := dialWebsocket(t, wsPort, "chat.test")
	if got, err := roundTrip(ws, "hi"); err != nil || got != "a: hi" {
		t.Fatalf("websocket: %q, %v", got, err)
	}
	start := time.Now()
	_ = ws.SetDeadline(start.Add(10 * time.Second))
	var msg string
	if err := websocket.Message.Receive(ws, &msg); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("a quiet websocket with a %s default idle timeout: %q, %v; want it closed by the proxy", idle, msg, err)
	} else if took := time.Since(start); took < idle*9/10 {
		t.Errorf("the quiet websocket was closed after %s, before the %s idle timeout", took, idle)
	}

	tcpPort := nettest.FreePort(t)
	mustApply(t, p, tcpConfig(tcpPort, lbconfig.Policy{}, startTCPEcho(t, "a")))
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(tcpPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "hi\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "a: hi\n" {
		t.Fatalf("tcp: %q, %v", line, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("a quiet TCP connection with a %s default idle timeout: %v; want it closed by the proxy", idle, err)
	}

	// The backend's own idle timeout wins: 4 s, quiet for 2 s, open.
	longPort := nettest.FreePort(t)
	mustApply(t, p, withPolicy(longPort, lbconfig.Policy{Timeouts: lbconfig.Timeouts{Idle: lbconfig.Duration(4 * idle)}}, startWebsocketEcho(t, "b")))
	ws = dialWebsocket(t, longPort, "chat.test")
	time.Sleep(2 * idle) // the quiet period under test, not a wait for a condition
	if got, err := roundTrip(ws, "still there"); err != nil || got != "b: still there" {
		t.Errorf("a websocket whose backend sets a 4s idle timeout, quiet for 2s: %q, %v; want it open", got, err)
	}
}

// TestMaxConnections: with a cap of 3, a fourth connection is not served
// while three are open (HTTP or tunnels alike), and is served as soon as
// one closes.
func TestMaxConnections(t *testing.T) {
	const max = 3
	p := startProxyWith(t, provider.Options{MaxConnections: max})
	port := nettest.FreePort(t)
	rec, ep := startRecorder(t)
	wsPort := nettest.FreePort(t)
	cfg := withPolicy(port, lbconfig.Policy{}, ep)
	cfg.LoadBalancers[0].Listeners = append(cfg.LoadBalancers[0].Listeners, lbconfig.Listener{
		Port: wsPort, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "ws"},
	})
	cfg.Backends = append(cfg.Backends, backendOf("ws", startWebsocketEcho(t, "a")))
	mustApply(t, p, cfg)

	get := "GET / HTTP/1.1\r\nHost: x.test\r\n\r\n"
	type conn struct {
		net.Conn
		br *bufio.Reader
	}
	open := func(port int32) conn {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return conn{c, bufio.NewReader(c)}
	}
	ask := func(c conn, within time.Duration) error {
		_ = c.SetDeadline(time.Now().Add(within))
		if _, err := io.WriteString(c, get); err != nil {
			return err
		}
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	}
	var held []conn
	for i := range max {
		c := open(port)
		if err := ask(c, 5*time.Second); err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, max, err)
		}
		held = append(held, c)
	}
	extra := open(port) // the kernel completes the handshake; the proxy does not accept it
	if err := ask(extra, 700*time.Millisecond); err == nil {
		t.Fatalf("connection %d was served with %d open and a cap of %d", max+1, max, max)
	}
	if n := rec.requests.Load(); n != max {
		t.Errorf("the backend got %d requests, want %d", n, max)
	}
	// Another listener has its own cap: a websocket there is served.
	ws := dialWebsocket(t, wsPort, "chat.test")
	if got, err := roundTrip(ws, "hi"); err != nil || got != "a: hi" {
		t.Fatalf("websocket on another listener: %q, %v", got, err)
	}
	held[0].Close()
	// The request sent before is read once the connection is accepted.
	_ = extra.SetDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(extra.br, nil)
	if err != nil {
		t.Fatalf("connection %d after one of the %d closed: %v", max+1, max, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("connection %d after one closed: status %d", max+1, resp.StatusCode)
	}
}

// TestMaxConnectionsCountsTunnels: TCP connections hold their listener's
// slots for as long as they are open.
func TestMaxConnectionsCountsTunnels(t *testing.T) {
	const max = 2
	p := startProxyWith(t, provider.Options{MaxConnections: max})
	port := nettest.FreePort(t)
	mustApply(t, p, tcpConfig(port, lbconfig.Policy{}, startTCPEcho(t, "a")))
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	line := func(c net.Conn, br *bufio.Reader, within time.Duration) error {
		_ = c.SetDeadline(time.Now().Add(within))
		if _, err := io.WriteString(c, "hi\n"); err != nil {
			return err
		}
		got, err := br.ReadString('\n')
		if err == nil && got != "a: hi\n" {
			err = fmt.Errorf("got %q", got)
		}
		return err
	}
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		return c, bufio.NewReader(c)
	}
	first, firstBR := dial()
	if err := line(first, firstBR, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	second, secondBR := dial()
	if err := line(second, secondBR, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	third, thirdBR := dial()
	if err := line(third, thirdBR, 700*time.Millisecond); err == nil {
		t.Fatalf("a third TCP connection was served with a cap of %d", max)
	}
	first.Close()
	_ = third.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := thirdBR.ReadString('\n'); err != nil || got != "a: hi\n" {
		t.Errorf("the third connection after the first closed: %q, %v", got, err)
	}
}
