package builtin

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ingress-controller/internal/provider/builtin/http1"
)

// The backend side of the proxy: idle HTTP/1.1 connections kept per
// endpoint. A request takes one, does its whole exchange on it in the
// handler goroutine (no reader or writer goroutines to hand off to), and
// puts it back if the response left it clean.

const (
	// maxIdlePerEndpoint bounds the idle connections kept to one endpoint.
	maxIdlePerEndpoint = 256
	// idleTimeout is how long an idle connection is kept.
	idleTimeout = 90 * time.Second
	// dialTimeout bounds a connect to a backend unless the backend's
	// policy says.
	dialTimeout = 5 * time.Second
	// connBufferSize is the size of each backend connection's read and
	// write buffers.
	connBufferSize = 4 << 10
)

// aLongTimeAgo is a deadline in the past: it makes blocked I/O return.
var aLongTimeAgo = time.Unix(1, 0)

// connPool holds the idle connections to one endpoint address.
type connPool struct {
	addr   string
	dialer *net.Dialer

	mu     sync.Mutex
	idle   []*backendConn // LIFO: the most recently used last
	closed bool
	// tunnels are the upgraded connections to this endpoint.
	tunnels map[*tunnel]struct{}

	// active counts the requests and tunnels in progress, for
	// least_request.
	active atomic.Int64
	health endpointHealth
}

func newConnPool(addr string, dialer *net.Dialer) *connPool {
	return &connPool{addr: addr, dialer: dialer}
}

// get returns an idle connection, or nil. Every connection is checked
// before it is used again, however briefly it was idle: anything the
// backend sent meanwhile (a close, or bytes nobody asked for: the body of a
// response to HEAD, the rest of a response longer than it said) means the
// connection is not clean, and a request sent on it would read those bytes
// as its answer. One that the backend closes just after the check is
// retried when that is safe.
func (cp *connPool) get() *backendConn {
	var now time.Time
	for {
		cp.mu.Lock()
		n := len(cp.idle)
		if n == 0 {
			cp.mu.Unlock()
			return nil
		}
		c := cp.idle[n-1]
		cp.idle[n-1] = nil
		cp.idle = cp.idle[:n-1]
		cp.mu.Unlock()

		if now.IsZero() {
			now = time.Now()
		}
		if now.Sub(c.idleAt) < idleTimeout && c.alive(now) {
			return c
		}
		c.close()
	}
}

// dial opens a new connection.
func (cp *connPool) dial(ctx context.Context) (*backendConn, error) {
	conn, err := cp.dialer.DialContext(ctx, "tcp", cp.addr)
	if err != nil {
		return nil, err
	}
	c := &backendConn{conn: conn, pool: cp}
	c.br = bufio.NewReaderSize(connReader{c}, connBufferSize)
	c.bw = bufio.NewWriterSize(c, connBufferSize)
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.peekFn = c.peek
	c.sendReadFn = c.sendThenRead
	c.abortFn = c.abort
	return c, nil
}

// put takes c back, or closes it if the pool is full or closed. Expired
// connections at the old end of the stack go at the same time.
func (cp *connPool) put(c *backendConn) {
	c.head.Release()
	now := time.Now()
	c.idleAt = now
	cp.mu.Lock()
	if cp.closed || len(cp.idle) >= maxIdlePerEndpoint {
		cp.mu.Unlock()
		c.close()
		return
	}
	expired := cp.expiredLocked(now)
	cp.idle = append(cp.idle, c)
	cp.mu.Unlock()
	for _, e := range expired {
		e.close()
	}
}

// expiredLocked removes the connections idle for longer than idleTimeout
// and returns them for closing. They are at the bottom of the stack.
func (cp *connPool) expiredLocked(now time.Time) []*backendConn {
	n := 0
	for n < len(cp.idle) && now.Sub(cp.idle[n].idleAt) >= idleTimeout {
		n++
	}
	if n == 0 {
		return nil
	}
	expired := make([]*backendConn, n)
	copy(expired, cp.idle[:n])
	m := copy(cp.idle, cp.idle[n:])
	clear(cp.idle[m:])
	cp.idle = cp.idle[:m]
	return expired
}

// reap closes the connections idle for longer than idleTimeout.
func (cp *connPool) reap(now time.Time) {
	cp.mu.Lock()
	expired := cp.expiredLocked(now)
	cp.mu.Unlock()
	for _, c := range expired {
		c.close()
	}
}

// close closes the idle connections now, any put back later, and the
// tunnels after drain: long-lived connections get that long to finish.
func (cp *connPool) close(drain time.Duration) {
	cp.mu.Lock()
	idle := cp.idle
	cp.idle, cp.closed = nil, true
	tunnels := make([]*tunnel, 0, len(cp.tunnels))
	for t := range cp.tunnels {
		tunnels = append(tunnels, t)
	}
	cp.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
	for _, t := range tunnels {
		if drain <= 0 {
			t.close()
		} else {
			time.AfterFunc(drain, t.close)
		}
	}
}

// idleCount is for tests.
func (cp *connPool) idleCount() int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return len(cp.idle)
}

// backendConn is one HTTP/1.1 connection to a backend with its buffers.
type backendConn struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer // writes through backendConn.Write
	head http1.HeadReader
	pool *connPool

	idleAt time.Time
	// written counts the bytes of the current exchange that reached the
	// connection, to tell a request that never left from one that did.
	written int64
	// readDeadline is the read deadline last set.
	readDeadline time.Time
	// sendTimeout bounds each write of the current exchange (the
	// policy's send timeout, sendtimeout.go); writeDeadline is the write
	// deadline last set, zero if none.
	sendTimeout   time.Duration
	writeDeadline time.Time

	// raw and peekFn do the liveness check; peekAlive is its answer.
	raw       syscall.RawConn
	peekFn    func(fd uintptr) bool
	peekBuf   [1]byte
	peekAlive bool

	// pending is the end of a request head that flushDeferred left for
	// the next read to send (see sendAndRead); deferWrites makes Write
	// keep what bufio flushes instead of sending it. sendReadFn and rr
	// are sendThenRead and its read's buffer and result.
	pending     []byte
	deferWrites bool
	sendReadFn  func(fd uintptr) bool
	rr          struct {
		p   []byte
		n   int
		err error
	}

	// abortFn runs when the client goes away mid-exchange; aborted says
	// it did.
	abortFn func()
	aborted atomic.Bool
}

// Write counts what goes to the connection.
func (c *backendConn) Write(p []byte) (int, error) {
	if c.deferWrites {
		// bufio flushes its whole buffer in one call, and its bytes
		// stay as they are until the next write into it.
		c.pending = p
		return len(p), nil
	}
	if c.sendTimeout > 0 || !c.writeDeadline.IsZero() {
		c.armWrite()
	}
	n, err := c.conn.Write(p)
	c.written += int64(n)
	return n, err
}

// abort makes the exchange in progress fail at once.
func (c *backendConn) abort() {
	c.aborted.Store(true)
	_ = c.conn.SetDeadline(aLongTimeAgo)
}

// setReadDeadline sets a read deadline unless the exchange was aborted,
// whose deadline must stay.
func (c *backendConn) setReadDeadline(t time.Time) {
	c.readDeadline = t
	_ = c.conn.SetReadDeadline(t)
	if c.aborted.Load() {
		_ = c.conn.SetDeadline(aLongTimeAgo)
	}
}

// readWithin makes reads fail once d has passed from now, give or take a
// tenth of d: a deadline already that close stays as it is, which spares a
// busy connection a timer reset on every exchange.
func (c *backendConn) readWithin(now time.Time, d time.Duration) {
	if want, ok := deadlineWithin(c.readDeadline, now, d); ok {
		c.setReadDeadline(want)
	}
}

// deadlineWithin returns the deadline d from now and true, or false when
// set, the deadline in place, is already before it by less than a tenth
// of d and may stay.
func deadlineWithin(set, now time.Time, d time.Duration) (time.Time, bool) {
	want := now.Add(d)
	early := want.Sub(set)
	return want, early < 0 || early >= d/10
}

func (c *backendConn) close() { _ = c.conn.Close() }

// flushDeferred leaves what bw holds for the next read from the
// connection to send (sendAndRead) where the platform allows, and sends
// it now where it does not.
func (c *backendConn) flushDeferred() error {
	if !canSendWithRead || c.raw == nil {
		return c.bw.Flush()
	}
	c.deferWrites = true
	err := c.bw.Flush()
	c.deferWrites = false
	return err
}

// connReader is what the connection's bufio.Reader reads from.
type connReader struct{ c *backendConn }

func (r connReader) Read(p []byte) (int, error) {
	if r.c.pending == nil {
		return r.c.conn.Read(p)
	}
	return r.c.sendAndRead(p)
}

// sendAndRead sends the pending request head and reads the first bytes of
// the answer in one wait on the runtime's poller: the write happens after
// the poller was armed for reading, so the answer's arrival cannot be
// missed, and the read waits for it rather than first trying in vain, as
// a plain write and read would (one system call fewer per request). What
// the write could not send at once (a full socket buffer: rare, the head
// is at most a buffer) is sent the ordinary way, and so is the read.
func (c *backendConn) sendAndRead(p []byte) (int, error) {
	c.rr.p, c.rr.n, c.rr.err = p, 0, nil
	err := c.raw.Read(c.sendReadFn)
	c.rr.p = nil
	if err != nil {
		// A deadline that passed before the write ran leaves the head
		// (or what is left of it) pending: the next read sends it.
		return 0, err
	}
	rest := c.pending
	c.pending = nil
	if c.rr.err != nil {
		return 0, c.rr.err
	}
	if len(rest) > 0 {
		if _, err := c.Write(rest); err != nil {
			return 0, err
		}
		return c.conn.Read(p)
	}
	return c.rr.n, nil
}
