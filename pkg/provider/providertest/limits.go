package providertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// Client limits (provider.Options), with short values so that the cases
// run in seconds. Each case checks what the client got and what the
// backend saw.
const (
	limitHeadBytes   = 4 << 10
	limitBodyTimeout = 2 * time.Second
	limitTunnelIdle  = time.Second
	limitConnections = 3
	// limitServerTimeout is the backends' response timeout in the body
	// cases: HAProxy 2.6 ends a request body that stops coming with its
	// server timeout (504), not the client one.
	limitServerTimeout = 3 * time.Second
	// limitSlack bounds how late after its timeout a limit may act.
	limitSlack = 3 * time.Second
)

func (s *Suite) testClientLimits(t *testing.T) {
	t.Run("HeaderSize", s.testHeaderLimit)
	t.Run("StalledBody", s.testStalledBody)
	t.Run("DribbledBody", s.testDribbledBody)
	t.Run("ConnectionCap", s.testConnectionCap)
	t.Run("TunnelIdle", s.testTunnelIdle)
}

// recordingBackend is a backend that reads each request body to its end
// and counts what it saw: requests, bodies received complete, and its
// connections that closed.
type recordingBackend struct {
	ref      string
	endpoint lbconfig.Endpoint
	requests atomic.Int64
	complete atomic.Int64
	closed   atomic.Int64
}

func (l *lab) startRecordingBackend(policy lbconfig.Policy) (*recordingBackend, lbconfig.Backend) {
	l.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.t.Fatalf("providertest: recording backend: %v", err)
	}
	rb := &recordingBackend{ref: "test/recording:80", endpoint: lbconfig.Endpoint{
		Address: "127.0.0.1", Port: int32(ln.Addr().(*net.TCPAddr).Port), Ready: true, Serving: true,
	}}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rb.requests.Add(1)
			n, err := io.Copy(io.Discard, r.Body)
			if err == nil {
				rb.complete.Add(1)
			}
			w.Header().Set("X-Echo-Server", "recording")
			fmt.Fprintf(w, "got %d bytes\n", n)
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed {
				rb.closed.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	l.t.Cleanup(func() { _ = srv.Close() })
	return rb, lbconfig.Backend{Name: rb.ref, Endpoints: []lbconfig.Endpoint{rb.endpoint}, Policy: policy}
}

// rawConn is a client connection that writes bytes as they are.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func (l *lab) dialRaw(port int32) rawConn {
	l.t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		l.t.Fatalf("connecting to port %d: %v", port, err)
	}
	l.t.Cleanup(func() { _ = c.Close() })
	return rawConn{c, bufio.NewReader(c)}
}

// response reads a response within d and returns its status and whether
// it came from the backend; 0 when none came.
func (c rawConn) response(d time.Duration) (status int, fromBackend bool, err error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Echo-Server") != "", err
}

// testHeaderLimit: a head at the limit reaches the backend; one byte more,
// or far more, is refused by the load balancer (431 just over the limit;
// HAProxy answers 400 to heads that do not fit its buffer at all).
func (s *Suite) testHeaderLimit(t *testing.T) {
	l := s.startWith(t, provider.Options{MaxRequestHeaderBytes: limitHeadBytes})
	rb, pool := l.startRecordingBackend(lbconfig.Policy{})
	port := l.freePort()
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: rb.ref}), pool))
	l.expect(at(port, "limits.example", "/", want{status: http.StatusOK, backends: []string{"recording"}}))
	for _, tc := range []struct {
		size, fields int
		want         []int
	}{
		{limitHeadBytes, 1, []int{http.StatusOK}},
		{limitHeadBytes, 30, []int{http.StatusOK}},
		{limitHeadBytes + 1, 1, []int{http.StatusRequestHeaderFieldsTooLarge}},
		{limitHeadBytes + 1, 30, []int{http.StatusRequestHeaderFieldsTooLarge}},
		// The most fields HAProxy takes (100 with Host): the head has the
		// most bytes beyond what HAProxy holds of it, where a shortcut in
		// counting would go wrong first.
		{limitHeadBytes, 99, []int{http.StatusOK}},
		{limitHeadBytes + 1, 99, []int{http.StatusRequestHeaderFieldsTooLarge}},
		{64 << 10, 8, []int{http.StatusRequestHeaderFieldsTooLarge, http.StatusBadRequest}},
	} {
		before := rb.requests.Load()
		c := l.dialRaw(port)
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, mustHead(t, tc.size, tc.fields))
		status, fromBackend, err := c.response(10 * time.Second)
		_ = c.Close()
		ok := false
		for _, w := range tc.want {
			ok = ok || status == w
		}
		if !ok || err != nil {
			t.Errorf("%s: a head of %d bytes (%d fields) with a limit of %d: status %d, %v; want %v", l.p.Name(), tc.size, tc.fields, limitHeadBytes, status, err, tc.want)
		}
		reached := rb.requests.Load() - before
		if refused := tc.want[0] != http.StatusOK; refused && (reached != 0 || fromBackend) {
			t.Errorf("%s: a head of %d bytes over the limit reached the backend", l.p.Name(), tc.size)
		} else if !refused && reached != 1 {
			t.Errorf("%s: a head of %d bytes at the limit reached the backend %d times, want 1", l.p.Name(), tc.size, reached)
		}
	}
}

// testStalledBody: a client that sends its head and half its body, then
// nothing, gets an answer from the load balancer, not the backend, soon
// after the body timeout (builtin: 408 after the client body timeout;
// HAProxy 2.6: 504 after the backend's server timeout), and its
// connection is closed. The backend never gets the body complete, and its
// connection is closed, not kept for another request.
func (s *Suite) testStalledBody(t *testing.T) {
	l := s.startWith(t, provider.Options{ClientBodyTimeout: limitBodyTimeout})
	rb, pool := l.startRecordingBackend(lbconfig.Policy{Timeouts: lbconfig.Timeouts{ResponseHeader: lbconfig.Duration(limitServerTimeout)}})
	port := l.freePort()
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: rb.ref}), pool))
	l.expect(at(port, "limits.example", "/", want{status: http.StatusOK, backends: []string{"recording"}}))
	closedBefore, completeBefore := rb.closed.Load(), rb.complete.Load()

	c := l.dialRaw(port)
	start := time.Now()
	_, _ = io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: limits.example\r\nContent-Length: 100\r\n\r\n"+strings.Repeat("x", 50))
	status, fromBackend, err := c.response(limitServerTimeout + limitBodyTimeout + limitSlack)
	took := time.Since(start)
	switch {
	case err != nil:
		t.Errorf("%s: half a body, then nothing: no answer after %s: %v", l.p.Name(), took, err)
	case fromBackend || (status != http.StatusRequestTimeout && status != http.StatusGatewayTimeout):
		t.Errorf("%s: half a body, then nothing: status %d (from the backend: %v); want 408 or 504 from the load balancer", l.p.Name(), status, fromBackend)
	case took < limitBodyTimeout*9/10:
		t.Errorf("%s: answered %d after %s, before the %s body timeout", l.p.Name(), status, took, limitBodyTimeout)
	}
	_ = c.SetReadDeadline(time.Now().Add(limitSlack))
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Errorf("%s: the client connection after the answer: %v; want it closed", l.p.Name(), err)
	}
	l.eventually("the backend connection of the stalled request to close", func() (bool, string) {
		n := rb.closed.Load() - closedBefore
		return n >= 1, fmt.Sprintf("%d closed", n)
	})
	if n := rb.complete.Load() - completeBefore; n != 0 {
		t.Errorf("%s: the backend got the stalled body complete (%d)", l.p.Name(), n)
	}
}

// testDribbledBody: the body timeout is one of inactivity: a body that
// comes a byte at a time, each well within it, takes longer than the
// timeout and is served in full.
func (s *Suite) testDribbledBody(t *testing.T) {
	l := s.startWith(t, provider.Options{ClientBodyTimeout: limitBodyTimeout})
	rb, pool := l.startRecordingBackend(lbconfig.Policy{Timeouts: lbconfig.Timeouts{ResponseHeader: lbconfig.Duration(limitServerTimeout)}})
	port := l.freePort()
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: rb.ref}), pool))
	l.expect(at(port, "limits.example", "/", want{status: http.StatusOK, backends: []string{"recording"}}))

	const size = 10
	gap := limitBodyTimeout / 4
	completeBefore := rb.complete.Load()
	c := l.dialRaw(port)
	_, _ = io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: limits.example\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
	go func() {
		for range size {
			time.Sleep(gap) // the client's pace under test
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	status, fromBackend, err := c.response(size*gap + limitSlack)
	if err != nil || status != http.StatusOK || !fromBackend {
		t.Errorf("%s: a body dribbled a byte every %s for %s: status %d (from the backend: %v), %v; want 200 from the backend", l.p.Name(), gap, size*gap, status, fromBackend, err)
	}
	if n := rb.complete.Load() - completeBefore; n != 1 {
		t.Errorf("%s: the backend got %d complete bodies, want the dribbled one", l.p.Name(), n)
	}
}

// testConnectionCap: with a cap of 3 connections, a fourth is not served
// while three are open, and is as soon as one of them closes.
func (s *Suite) testConnectionCap(t *testing.T) {
	l := s.startWith(t, provider.Options{MaxConnections: limitConnections})
	rb, pool := l.startRecordingBackend(lbconfig.Policy{})
	port := l.freePort()
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: rb.ref}), pool))
	// Probe with a connection per request, so that none stays open.
	l.eventually("the listener to serve", func() (bool, string) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(l.addr, strconv.Itoa(int(port))), time.Second)
		if err != nil {
			return false, err.Error()
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: limits.example\r\nConnection: close\r\n\r\n")
		status, fromBackend, err := rawConn{c, bufio.NewReader(c)}.response(5 * time.Second)
		return err == nil && status == http.StatusOK && fromBackend, fmt.Sprintf("status %d, %v", status, err)
	})
	// Connections closed by the probes free their slots at once in the
	// load balancer, but let the backend's count settle.
	get := "GET / HTTP/1.1\r\nHost: limits.example\r\n\r\n"
	var held []rawConn
	for i := range limitConnections {
		c := l.dialRaw(port)
		_, _ = io.WriteString(c, get)
		if status, _, err := c.response(5 * time.Second); err != nil || status != http.StatusOK {
			t.Fatalf("%s: connection %d of %d: status %d, %v", l.p.Name(), i+1, limitConnections, status, err)
		}
		held = append(held, c)
	}
	before := rb.requests.Load()
	extra := l.dialRaw(port) // the kernel takes it; the load balancer must not
	_, _ = io.WriteString(extra, get)
	if status, _, err := extra.response(time.Second); err == nil {
		t.Fatalf("%s: connection %d was served (%d) with %d open and a cap of %d", l.p.Name(), limitConnections+1, status, limitConnections, limitConnections)
	}
	if n := rb.requests.Load() - before; n != 0 {
		t.Errorf("%s: the backend got %d requests from the connection over the cap", l.p.Name(), n)
	}
	_ = held[0].Close()
	status, fromBackend, err := extra.response(converge)
	if err != nil || status != http.StatusOK || !fromBackend {
		t.Errorf("%s: connection %d after one of the %d closed: status %d, %v; want 200 from the backend", l.p.Name(), limitConnections+1, limitConnections, status, err)
	}
}

// testTunnelIdle: a TCP connection whose backend sets no idle timeout is
// closed by the load balancer after the tunnel idle timeout without a
// byte either way (the backend would keep it for ever).
func (s *Suite) testTunnelIdle(t *testing.T) {
	needs(t, s.Capabilities.TCP, "TCP")
	l := s.startWith(t, provider.Options{TunnelIdleTimeout: limitTunnelIdle})
	b := l.startBackend("tcp")
	port := l.freePort()
	pool := lbconfig.Backend{Name: "test/tcp:5432", Endpoints: []lbconfig.Endpoint{b.endpoint}}
	l.apply(config([]lbconfig.LoadBalancer{loadBalancer("default",
		lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: pool.Name}})}, pool))
	var c rawConn
	l.eventually("the TCP listener to serve", func() (bool, string) {
		c = l.dialRaw(port)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: tunnel.example\r\n\r\n")
		status, _, err := c.response(5 * time.Second)
		if err != nil || status != http.StatusOK {
			_ = c.Close()
			return false, fmt.Sprintf("status %d, %v", status, err)
		}
		return true, ""
	})
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limitTunnelIdle + limitSlack))
	_, err := c.br.ReadByte()
	took := time.Since(start)
	switch {
	case err != io.EOF && !isReset(err):
		t.Errorf("%s: a TCP connection quiet for %s with a %s tunnel idle timeout: %v; want it closed", l.p.Name(), took, limitTunnelIdle, err)
	case took < limitTunnelIdle*9/10:
		t.Errorf("%s: a quiet TCP connection closed after %s, before the %s tunnel idle timeout", l.p.Name(), took, limitTunnelIdle)
	}
}

// mustHead is a GET request head of exactly n bytes (nettest.HeadOfSize).
func mustHead(t *testing.T, n, fields int) string {
	t.Helper()
	h, err := nettest.HeadOfSize("limits.example", n, fields)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
