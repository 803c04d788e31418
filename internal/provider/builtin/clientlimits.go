package builtin

import (
	"cmp"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Client limits (provider.Options): what one client may hold of the
// proxy. Each bounds a resource that a slow or hostile client could
// otherwise keep forever: memory for its request head, a goroutine and a
// backend connection while its body does not come, a tunnel nobody uses,
// a connection slot.
//
//   - The head: net/http refuses heads over http.Server.MaxHeaderBytes
//     only 4 KiB (its read-ahead) later, so headLimit counts each head as
//     forwarded and answers 431 one byte over the limit.
//   - The body: idleBody moves a read deadline on the client connection
//     before each read of a request body; a read that fails it answers
//     408 (backendFailed) and closes the backend connection, which never
//     sees the body complete. Only requests with a body pay for it.
//   - Tunnels: copyWatched closes those quiet for the backend's idle
//     timeout, else Options.TunnelIdleTimeout.
//   - Connections: each listener holds a slot per open connection
//     (slotConn) and stops accepting while it has none free, leaving new
//     connections in the kernel's backlog, as HAProxy's maxconn does.

// headLimit answers 431 to requests whose head is over max bytes.
type headLimit struct {
	next http.Handler
	max  int
}

func (h headLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if headSize(r) > h.max {
		w.Header().Set("Connection", "close")
		http.Error(w, "431 request header fields too large", http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	h.next.ServeHTTP(w, r)
}

// headSize is the size of r's head written out: the request line, a
// "Name: value" line with CRLF per field (Host included) and the blank
// line. Whitespace a client adds around values is not counted; net/http
// still refuses a head 4 KiB over the limit on the wire.
func headSize(r *http.Request) int {
	n := len(r.Method) + len(" ") + len(r.RequestURI) + len(" ") + len(r.Proto) + len("\r\n")
	n += len("Host: ") + len(r.Host) + len("\r\n")
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n + len("\r\n")
}

// errClientBodyTimeout ends a request body that went the client body
// timeout without a byte. It is no os.ErrDeadlineExceeded: that one means
// a backend too slow (504).
var errClientBodyTimeout = errors.New("no byte of the request body within the client body timeout")

// idleBody is a request body whose every read must bring a byte within
// timeout.
type idleBody struct {
	io.ReadCloser
	rc      *http.ResponseController // of the client connection
	timeout time.Duration
}

// watchedRequest is a request and its idleBody in one allocation.
type watchedRequest struct {
	req  http.Request
	body idleBody
}

// watchBody returns r, or a copy of r whose body fails with
// errClientBodyTimeout when the client sends none of it for the client
// body timeout. A copy: net/http looks at the type of r.Body itself when it
// answers (an unread "Expect: 100-continue" body closes the connection).
func (p *Provider) watchBody(w http.ResponseWriter, r *http.Request) *http.Request {
	if r.Body == nil || r.Body == http.NoBody {
		return r
	}
	wr := &watchedRequest{req: *r, body: idleBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: p.opts.ClientBodyTimeout}}
	wr.req.Body = &wr.body
	return &wr.req
}

func (b *idleBody) setReadDeadline(t time.Time) {
	_ = b.rc.SetReadDeadline(t)
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.setReadDeadline(time.Now().Add(b.timeout))
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, errClientBodyTimeout
		}
		// No deadline may outlive the body: net/http reads on after it
		// (to see a client go away) and takes a timeout there for one.
		b.setReadDeadline(time.Time{})
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.setReadDeadline(time.Time{})
	return b.ReadCloser.Close()
}

// clientBodyTimedOut reports whether a failed exchange failed because the
// client stopped sending its body.
func clientBodyTimedOut(err error) bool { return errors.Is(err, errClientBodyTimeout) }

// clientTimedOut answers a request whose body stopped coming, and closes
// its connection: what is left of the body will not be read.
func clientTimedOut(w http.ResponseWriter) int {
	w.Header().Set("Connection", "close")
	http.Error(w, "408 request timeout: the request body stopped coming", http.StatusRequestTimeout)
	return http.StatusRequestTimeout
}

// tunnelIdle is how long a tunnel to a backend with policy pol may be
// quiet.
func (p *Provider) tunnelIdle(pol *policy) time.Duration {
	return cmp.Or(pol.tunnelIdle, p.opts.TunnelIdleTimeout)
}

// slotConn is an accepted connection that holds one of its listener's
// slots until it is closed.
type slotConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
	// pending is what was read of the connection before it was handed
	// on (to the http.Server, or to TLS), read again first.
	pending []byte
}

func (c *slotConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}

// CloseWrite half-closes a TCP connection (net/http and tunnels use it).
func (c *slotConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// rawConn is the connection under a slotConn, for copying with splice(2):
// closing still goes through the slotConn.
func rawConn(c net.Conn) net.Conn {
	if s, ok := c.(*slotConn); ok && len(s.pending) == 0 {
		return s.Conn
	}
	return c
}
