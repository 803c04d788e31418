package builtin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/provider/builtin/http1"
	"ingress-controller/pkg/lbconfig"
)

// rawBackend accepts connections on a loopback port and lets serve answer
// each one by hand.
type rawBackend struct {
	ep    lbconfig.Endpoint
	conns atomic.Int32
}

func startRawBackend(t testing.TB, serve func(n int32, c net.Conn, br *bufio.Reader)) *rawBackend {
	t.Helper()
	rb := &rawBackend{}
	rb.ep = nettest.ServeRaw(t, func(c net.Conn) {
		serve(rb.conns.Add(1), c, bufio.NewReader(c))
	})
	return rb
}

// readRequest reads one request head and its body, if any.
func readRequest(br *bufio.Reader) (*http.Request, error) {
	r, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, r.Body)
	return r, err
}

func TestMalformedResponsesAre502(t *testing.T) {
	answers := map[string]string{
		"/status":  "HTTP/1.1 OK\r\n\r\n",
		"/bytes":   "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
		"/lengths": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"/te-cl":   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"/fold":    "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n",
		"/huge":    "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", http1.MaxHeadBytes) + "\r\nContent-Length: 0\r\n\r\n",
		"/101":     "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
		"/ok":      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	}
	var closedAfterBad atomic.Int32
	rb := startRawBackend(t, func(_ int32, c net.Conn, br *bufio.Reader) {
		for {
			r, err := readRequest(br)
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, answers[r.URL.Path])
			if r.URL.Path != "/ok" {
				// The proxy must not send another request on this
				// connection.
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := br.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					closedAfterBad.Add(1) // EOF, or a reset if it left bytes unread
				}
				return
			}
		}
	})
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("raw", rb.ep)}, &lbconfig.BackendRef{Name: "raw"}))
	c := testClient(t)
	bad := 0
	for path := range answers {
		a := get(t, c, port, "x.test", path)
		switch {
		case path == "/ok":
			if a.status != http.StatusOK || a.body != "ok" {
				t.Errorf("%s: got %d %q", path, a.status, a.body)
			}
		case a.status != http.StatusBadGateway:
			t.Errorf("%s: got %d %q, want 502", path, a.status, a.body)
		default:
			bad++
		}
	}
	waitFor(t, "the proxy to close every connection that had a bad response", func() bool { return int(closedAfterBad.Load()) == bad })
}

func TestBackendConnectionsReused(t *testing.T) {
	var conns atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		if r.URL.Path == "/stream" {
			// Chunked, flushed: the connection stays good for more.
			_, _ = io.WriteString(w, "a")
			http.NewResponseController(w).Flush()
			_, _ = io.WriteString(w, "b")
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", nettest.Endpoint(t, ln.Addr().String()))}, &lbconfig.BackendRef{Name: "b"}))
	c := testClient(t)
	for i := range 10 {
		path := "/"
		if i%2 == 1 {
			path = "/stream"
		}
		if a := do(t, c, "POST", port, "x.test", path, strings.NewReader("body")); a.status != http.StatusOK {
			t.Fatalf("got %d", a.status)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("10 requests in a row took %d backend connections, want 1", n)
	}
	for range 3 {
		if a := get(t, c, port, "x.test", "/close"); a.status != http.StatusOK || a.body != "ok" {
			t.Fatalf("got %d %q", a.status, a.body)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("after 3 responses with Connection: close, %d backend connections in all, want 3", n)
	}
}

// TestKeepAliveRace has the backend close each connection right after its
// first response, without saying so: the next request finds the
// connection dead and must go again on a new one, if it is safe to.
func TestKeepAliveRace(t *testing.T) {
	var requests sync.Map // path -> *atomic.Int32
	count := func(path string) int32 {
		v, _ := requests.LoadOrStore(path, new(atomic.Int32))
		return v.(*atomic.Int32).Load()
	}
	rb := startRawBackend(t, func(_ int32, c net.Conn, br *bufio.Reader) {
		for {
			r, err := readRequest(br)
			if err != nil {
				return
			}
			v, _ := requests.LoadOrStore(r.URL.Path, new(atomic.Int32))
			v.(*atomic.Int32).Add(1)
			if strings.HasPrefix(r.URL.Path, "/mute") {
				return // read it, then close without a word
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			if strings.HasPrefix(r.URL.Path, "/race") {
				// Wait until the proxy has the connection back in its
				// pool, then close it.
				time.Sleep(20 * time.Millisecond)
				return
			}
		}
	})
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("raw", rb.ep)}, &lbconfig.BackendRef{Name: "raw"}))
	c := testClient(t)

	for i, method := range []string{"GET", "PUT", "POST", "DELETE", "PATCH"} {
		if a := do(t, c, method, port, "x.test", "/race-first"+strconv.Itoa(i), nil); a.status != http.StatusOK {
			t.Fatalf("%s: got %d", method, a.status)
		}
		// The connection is back in the pool, and the backend closes it
		// in a moment.
		time.Sleep(60 * time.Millisecond)
		if a := do(t, c, method, port, "x.test", "/race-second"+strconv.Itoa(i), nil); a.status != http.StatusOK || a.body != "ok" {
			t.Errorf("%s on a connection the backend had closed: got %d %q", method, a.status, a.body)
		}
		time.Sleep(60 * time.Millisecond)
	}

	// A GET the backend never answers goes twice (the reused connection,
	// then a new one) and fails; a POST never goes twice.
	for _, method := range []string{"GET", "POST"} {
		if a := do(t, c, method, port, "x.test", "/ok-"+method, nil); a.status != http.StatusOK {
			t.Fatalf("got %d", a.status)
		}
		// Take the connection back before the backend closes it.
		path := "/mute-" + method
		if a := do(t, c, method, port, "x.test", path, nil); a.status != http.StatusBadGateway {
			t.Errorf("%s to a backend that closes without answering: got %d, want 502", method, a.status)
		}
		want := int32(2)
		if method == "POST" {
			want = 1
		}
		if n := count(path); n != want {
			t.Errorf("%s to a backend that closes without answering was sent %d times, want %d", method, n, want)
		}
	}
}

func TestExpectContinue(t *testing.T) {
	backend := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", backend)}, &lbconfig.BackendRef{Name: "b"}))
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	send := func(path string) (int, string, int64) {
		body := &countingReader{r: strings.NewReader(strings.Repeat("x", 100000))}
		req, _ := http.NewRequest("POST", "http://127.0.0.1:"+strconv.Itoa(int(port))+path, body)
		req.ContentLength = 100000
		req.Header.Set("Expect", "100-continue")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %v: someone waited for a 100 Continue that did not come", path, d)
		}
		return resp.StatusCode, string(b), body.n.Load()
	}
	if status, body, sent := send("/accept"); status != http.StatusOK || len(body) != 100000 || sent != 100000 {
		t.Errorf("accepted: got %d, %d bytes back, client sent %d", status, len(body), sent)
	}
	if status, _, sent := send("/refuse"); status != http.StatusUnauthorized || sent != 0 {
		t.Errorf("refused: got %d, client sent %d bytes of the body, want 401 and none", status, sent)
	}
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestInterimResponsesSkipped(t *testing.T) {
	rb := startRawBackend(t, func(_ int32, c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"+
				"HTTP/1.1 100 Continue\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: 1\r\n\r\nok")
		}
	})
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("raw", rb.ep)}, &lbconfig.BackendRef{Name: "raw"}))
	c := testClient(t)
	for range 2 {
		a := get(t, c, port, "x.test", "/")
		if a.status != http.StatusOK || a.body != "ok" || a.header.Get("X-Final") != "1" || a.header.Get("Link") != "" {
			t.Errorf("got %d %q %v", a.status, a.body, a.header)
		}
	}
	if n := rb.conns.Load(); n != 1 {
		t.Errorf("%d backend connections, want 1", n)
	}
}

// TestPoolsPrunedOnApply checks that idle connections to an endpoint that
// leaves the config are closed by the Apply that drops it.
func TestPoolsPrunedOnApply(t *testing.T) {
	var closed atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "old") }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateClosed {
				closed.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	old := nettest.Endpoint(t, ln.Addr().String())
	next := nettest.EchoEndpoint(t, "new")

	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", old)}, &lbconfig.BackendRef{Name: "b"}))
	c := testClient(t)
	if a := get(t, c, port, "x.test", "/"); a.body != "old" {
		t.Fatalf("got %d %q", a.status, a.body)
	}
	// Same endpoint under another backend name: the pool stays.
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("renamed", old)}, &lbconfig.BackendRef{Name: "renamed"}))
	if a := get(t, c, port, "x.test", "/"); a.body != "old" {
		t.Fatalf("got %d %q", a.status, a.body)
	}
	if n := closed.Load(); n != 0 {
		t.Errorf("%d connections closed while the endpoint stayed", n)
	}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", next)}, &lbconfig.BackendRef{Name: "b"}))
	waitFor(t, "the idle connection to the dropped endpoint to close", func() bool { return closed.Load() == 1 })
	if a := get(t, c, port, "x.test", "/"); a.server() != "new" {
		t.Errorf("got %d from %q", a.status, a.server())
	}
}

// TestClientGoneAbortsBackendRequest checks that a client that goes away
// while the backend thinks does not leave the backend request running.
func TestClientGoneAbortsBackendRequest(t *testing.T) {
	entered, aborted := make(chan struct{}), make(chan struct{})
	backend := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-time.After(10 * time.Second):
		}
	}))
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", backend)}, &lbconfig.BackendRef{Name: "b"}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/", nil)
	if resp, err := testClient(t).Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want the request canceled", resp.StatusCode)
	}
	select {
	case <-aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend request went on after the client left")
	}
}

// TestChunkedRequestTrailers checks that a request body of unknown length
// is re-chunked with its trailers.
func TestChunkedRequestTrailers(t *testing.T) {
	backend := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, strings.Join(r.TransferEncoding, ",")+" "+string(b)+" "+r.Trailer.Get("X-Sum"))
	}))
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", backend)}, &lbconfig.BackendRef{Name: "b"}))
	req, _ := http.NewRequest("POST", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/", io.MultiReader(strings.NewReader("chunked "), strings.NewReader("body")))
	req.Trailer = http.Header{"X-Sum": nil}
	req.Body = &trailerSetter{Reader: req.Body, trailer: req.Trailer}
	resp, err := testClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want := "chunked chunked body 42"; string(b) != want {
		t.Errorf("backend saw %q, want %q", b, want)
	}
}

// trailerSetter sets the trailer value once the body is read.
type trailerSetter struct {
	io.Reader
	trailer http.Header
}

func (s *trailerSetter) Read(p []byte) (int, error) {
	n, err := s.Reader.Read(p)
	if err == io.EOF {
		s.trailer.Set("X-Sum", "42")
	}
	return n, err
}

func (s *trailerSetter) Close() error { return nil }

// TestIdleExpiry checks the pool's own bookkeeping: LIFO order, the bound,
// and expiry from the old end.
func TestIdleExpiry(t *testing.T) {
	cp := newConnPool("127.0.0.1:1", &net.Dialer{})
	newConn := func() *backendConn {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return &backendConn{conn: a, pool: cp, br: bufio.NewReader(a)}
	}
	var conns []*backendConn
	for range maxIdlePerEndpoint + 1 {
		c := newConn()
		conns = append(conns, c)
		cp.put(c)
	}
	if n := cp.idleCount(); n != maxIdlePerEndpoint {
		t.Errorf("%d idle, want the bound %d", n, maxIdlePerEndpoint)
	}
	if c := cp.get(); c != conns[maxIdlePerEndpoint-1] {
		t.Errorf("get did not return the most recently used connection")
	}
	// Age the oldest half; they go at the next put, and get skips none of
	// the fresh ones.
	old := time.Now().Add(-idleTimeout - time.Second)
	cp.mu.Lock()
	for _, c := range cp.idle[:100] {
		c.idleAt = old
	}
	cp.mu.Unlock()
	cp.put(newConn())
	if n := cp.idleCount(); n != maxIdlePerEndpoint-100 {
		t.Errorf("%d idle after expiry, want %d", n, maxIdlePerEndpoint-100)
	}
	cp.close(0)
	if n := cp.idleCount(); n != 0 {
		t.Errorf("%d idle after close", n)
	}
	c := newConn()
	cp.put(c)
	if n := cp.idleCount(); n != 0 {
		t.Errorf("a closed pool took a connection back")
	}
	if _, err := c.conn.Write([]byte("x")); err == nil {
		t.Errorf("a connection put back into a closed pool was not closed")
	}
}

// TestIdleConnectionCheckedOnEveryReuse: a connection that got bytes, or
// a close, while idle is never handed out again, however short the idle
// time, and a clean one is.
func TestIdleConnectionCheckedOnEveryReuse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cp := newConnPool(ln.Addr().String(), &net.Dialer{})
	defer cp.close(0)
	for _, tc := range []struct {
		name string
		do   func(server net.Conn)
		want bool // handed out again
	}{
		{"clean", func(net.Conn) {}, true},
		// The read deadline of its last exchange has passed: the
		// check must still look (it once took that for a dead
		// connection, and pooled connections idle for over a minute
		// were all thrown away).
		{"clean, deadline passed", func(net.Conn) {}, true},
		{"stray bytes", func(s net.Conn) { _, _ = s.Write([]byte("HTTP/1.1 200 OK\r\n\r\n")) }, false},
		{"closed", func(s net.Conn) { _ = s.Close() }, false},
	} {
		bc, err := cp.dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tc.name, "deadline") {
			bc.setReadDeadline(time.Now().Add(-time.Second))
		}
		cp.put(bc)
		tc.do(server)
		if !tc.want {
			// Wait until the bytes or the FIN reached the socket:
			// from then on, get must never hand the connection out.
			waitFor(t, tc.name+" to reach the proxy's socket", func() bool { return !bc.alive(time.Now()) })
		}
		got := cp.get()
		if (got != nil) != tc.want {
			t.Errorf("%s: handed out again: %v, want %v", tc.name, got != nil, tc.want)
		}
		if got != nil {
			got.close()
		}
		_ = server.Close()
	}
}

// TestBackendForwardAllocations guards the allocations of the whole
// forwarding path.
func TestForwardAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	f := newBenchFixture(t)
	_, direct := benchLoad(t, f.client, f.directURL, "bench.example.com", 2000)
	_, proxied := benchLoad(t, f.client, f.proxyURL, "bench.example.com", 2000)
	// Was 73 with net/http's Transport.
	if extra := proxied - direct; extra > 45 {
		t.Errorf("the proxy makes %.1f allocations per request", extra)
	}
	_ = bytes.MinRead
}

// TestSendAndReadFallsBack: a head that does not fit the socket buffers
// at once is sent in full the ordinary way, and its answer read.
func TestSendAndReadFallsBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	head := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 3<<20) + "\r\n\r\n"
	got := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		time.Sleep(100 * time.Millisecond) // let the proxy's write fill the buffers up
		r, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			got <- -1
			return
		}
		got <- len(r.Header.Get("X-Big"))
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}()
	cp := newConnPool(ln.Addr().String(), &net.Dialer{})
	bc, err := cp.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer bc.close()
	// A small send buffer: the write cannot take the head at once.
	_ = bc.conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	// A buffer as big as the head: all of it is left for the read to
	// send, and only part of it fits the socket at once.
	bc.bw = bufio.NewWriterSize(bc, len(head))
	bc.bw.WriteString(head)
	if err := bc.flushDeferred(); err != nil {
		t.Fatal(err)
	}
	if len(bc.pending) != len(head) {
		t.Fatalf("%d bytes deferred, want the whole head of %d", len(bc.pending), len(head))
	}
	_ = bc.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var h http1.HeadReader
	var gotByte bool
	rh, err := http1.ReadFinalHead(bc.br, &h, false, false, &gotByte, nil)
	if err != nil || rh.Status != http.StatusOK {
		t.Fatalf("answer: %d, %v", rh.Status, err)
	}
	if n := <-got; n != 3<<20 {
		t.Errorf("the backend got a field of %d bytes, want %d", n, 3<<20)
	}
	if bc.written != int64(len(head)) {
		t.Errorf("written = %d, want %d", bc.written, len(head))
	}
}

// TestSendAndReadKeepsHeadPastDeadline: a read deadline that passes before
// the deferred head could go out (a busy machine, the fast path's short
// wait before it watches the client) leaves the head pending, and the next
// read sends it and gets the answer, rather than waiting for an answer to
// a request never sent.
func TestSendAndReadKeepsHeadPastDeadline(t *testing.T) {
	backend := nettest.ServeRaw(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	cp := newConnPool(net.JoinHostPort(backend.Address, strconv.Itoa(int(backend.Port))), &net.Dialer{})
	bc, err := cp.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer bc.close()
	bc.bw.WriteString("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if err := bc.flushDeferred(); err != nil {
		t.Fatal(err)
	}
	bc.setReadDeadline(aLongTimeAgo)
	if _, err := bc.br.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read past its deadline: %v", err)
	}
	bc.setReadDeadline(time.Now().Add(5 * time.Second))
	var h http1.HeadReader
	got := false
	if rh, err := http1.ReadFinalHead(bc.br, &h, false, false, &got, nil); err != nil || rh.Status != http.StatusOK {
		t.Fatalf("answer: %d, %v; want the request sent and answered", rh.Status, err)
	}
}
