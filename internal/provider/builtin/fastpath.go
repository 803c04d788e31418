package builtin

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ingress-controller/internal/provider/builtin/http1"
	"ingress-controller/pkg/lbconfig"
)

// The fast path: plain HTTP/1.1 connections are served by a loop of the
// proxy's own rather than by net/http, for the requests that are most of
// the traffic: a known method, no body, a normal path, a plain HTTP/1.1
// backend. Such a request is parsed in place in the connection's buffer
// (http1.ParseRequestHead), its head written to a pooled backend
// connection, and the response head and body streamed back from that
// connection's buffer to the client's; nothing is allocated, and a small
// response goes out in one write. Everything else (a body, an upgrade,
// HTTP/1.0, an HTTPS redirect or rewrite route, an HTTPS, h2c or gRPC backend, cookie
// affinity, external authentication, anything the strict parser
// declines) is handed, with every
// byte read of it, to the port's http.Server, which serves the connection
// from then on (forward.go). Both paths share the routing table, the
// connection pools, the policies and the metrics.
//
// What net/http did for the connection, the loop does itself: the idle
// and request-head timeouts, "Connection: close", graceful shutdown (idle
// connections are closed, busy ones finish their request), and the
// abort of a backend request whose client went away: when a backend takes
// longer than watchAfter to answer, a goroutine watches the client
// connection until the answer comes.

const (
	// serverIdleTimeout and headTimeout are the http.Server's
	// IdleTimeout and ReadHeaderTimeout.
	serverIdleTimeout = 120 * time.Second
	headTimeout       = 30 * time.Second
	// clientBufferSize is the size of a fast connection's read and write
	// buffers; longer request heads go to net/http.
	clientBufferSize = 4 << 10
	// watchAfter is how long a backend may take to answer before the
	// client connection is watched for a close.
	watchAfter = 10 * time.Millisecond
)

// fastConns are the connections a listener serves on the fast path, for
// graceful shutdown.
type fastConns struct {
	mu      sync.Mutex
	conns   map[*fastConn]struct{}
	closing atomic.Bool
	wg      sync.WaitGroup
}

func (s *fastConns) add(fc *fastConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = map[*fastConn]struct{}{}
	}
	s.conns[fc] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *fastConns) remove(fc *fastConn) {
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
	s.wg.Done()
}

// shutdown closes the idle connections now and lets the busy ones finish
// the request they serve, until ctx ends; then it closes them all.
func (s *fastConns) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for fc := range s.conns {
		if fc.idle.Load() {
			// Wakes its read; the loop sees closing and ends.
			_ = fc.conn.SetReadDeadline(aLongTimeAgo)
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for fc := range s.conns {
		_ = fc.conn.Close()
		if bc := fc.active.Load(); bc != nil {
			bc.abort()
		}
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// fastConn is one client connection on the fast path.
type fastConn struct {
	l    *switchListener
	p    *Provider
	conn *slotConn
	in   fastReader
	br   *bufio.Reader
	bw   *bufio.Writer
	head http1.RequestHead
	// headLen is the length of the head in br; consumed is set once it
	// was taken out of br (to read the body, or for good).
	headLen  int
	consumed bool
	// bodyStarted is set once bytes of the request body went to the
	// backend: the request cannot go again. bodyUnsent is set when the
	// response came before the body was sent in full: the rest of it is
	// never read, and the connection closes after the response.
	bodyStarted, bodyUnsent bool
	// userAgent is the request's, for the access log, taken before the
	// body is read (it may overwrite the head in br).
	userAgent string
	// active is the backend connection of the exchange in progress, for
	// a shutdown to abort.
	active atomic.Pointer[backendConn]
	// client is the client's IP address; addr is the same, parsed once
	// for routes with access rules.
	client string
	addr   netip.Addr
	// idle is set while the loop waits for the next request.
	idle atomic.Bool
	// deadline is the read deadline last set on conn.
	deadline time.Time

	// host, target and path are the last request's, kept as strings
	// while requests repeat them: routing needs strings, and a keep-alive
	// connection mostly asks for the same host and path.
	host, target, path string
	// normal says target passed lbconfig.CheckRequestTarget and its
	// path lbconfig.NormalizePath unchanged.
	normal bool

	// pr and pol are those of the request in progress; tryFn and moreFn
	// are try and more, made once.
	pr     *portRoutes
	pol    *policy
	tryFn  func(*backendConn) (http1.Head, error)
	moreFn func() bool

	// gone is set when the watch saw the client close.
	gone      atomic.Bool
	watchDone chan struct{}
	watchFn   func()
	watched   *backendConn
}

// fastReader is what a fast connection's bufio.Reader reads from: the
// connection, after the byte, if any, that the watch read meanwhile.
type fastReader struct {
	conn    net.Conn
	stash   [1]byte
	stashed bool
}

func (r *fastReader) Read(p []byte) (int, error) {
	if r.stashed && len(p) > 0 {
		p[0], r.stashed = r.stash[0], false
		return 1, nil
	}
	return r.conn.Read(p)
}

// serveFast serves c, a plain HTTP connection, until it closes or is
// handed to the http.Server.
func (l *switchListener) serveFast(c *slotConn) {
	remote := c.RemoteAddr().String()
	fc := &fastConn{l: l, p: l.p, conn: c, client: remoteIP(remote), addr: remoteAddr(remote), watchDone: make(chan struct{}, 1)}
	fc.in.conn = c
	fc.br = bufio.NewReaderSize(&fc.in, clientBufferSize)
	fc.bw = bufio.NewWriterSize(c, clientBufferSize)
	fc.watchFn, fc.tryFn, fc.moreFn = fc.watch, fc.try, fc.more
	if !l.fast.add(fc) {
		_ = c.Close()
		return
	}
	handoff := fc.serve()
	l.fast.remove(fc)
	if !handoff {
		_ = c.Close()
		return
	}
	select {
	case <-l.done:
		// The http.Server takes no more connections.
		http1.WriteError(fc.bw, 503, "503 service unavailable: listener is closing", true)
		_ = fc.bw.Flush()
		_ = c.Close()
		return
	default:
	}
	// The request that was declined, and any after it, is read again
	// by net/http.
	c.pending, _ = fc.br.Peek(fc.br.Buffered())
	if fc.in.stashed {
		c.pending = append(c.pending, fc.in.stash[0])
	}
	l.deliver(c)
}

// serve runs the request loop. It returns true when the connection is to
// be handed to net/http, with the request to serve next first in br.
func (fc *fastConn) serve() bool {
	for {
		if fc.br.Buffered() == 0 && !fc.waitForRequest() {
			return false
		}
		n, ok := fc.readHead()
		if n == 0 {
			return ok
		}
		switch fc.serveRequest(n) {
		case handOff:
			return true
		case closeConn:
			return false
		}
		if fc.head.Close || fc.l.fast.closing.Load() {
			return false
		}
	}
}

// waitForRequest waits for the first byte of a request, within the idle
// timeout, and reports whether it came.
func (fc *fastConn) waitForRequest() bool {
	fc.idle.Store(true)
	defer fc.idle.Store(false)
	if fc.l.fast.closing.Load() {
		return false
	}
	fc.readWithin(time.Now(), serverIdleTimeout)
	// Checked again after the deadline was set: a shutdown that came in
	// between may have set its own before this one.
	if fc.l.fast.closing.Load() {
		return false
	}
	_, err := fc.br.Peek(1)
	return err == nil
}

// readWithin sets a read deadline d from now, unless the one set is
// already within a tenth of d of it.
func (fc *fastConn) readWithin(now time.Time, d time.Duration) {
	if want, ok := deadlineWithin(fc.deadline, now, d); ok {
		fc.deadline = want
		_ = fc.conn.SetReadDeadline(want)
	}
}

// readHead reads a request head into fc.head and returns its length. A
// zero length means no request to serve here: ok says the connection goes
// to net/http (a head outside the fast path's subset), else it is to be
// closed (the client left or was too slow).
func (fc *fastConn) readHead() (n int, ok bool) {
	max := min(fc.p.opts.MaxRequestHeaderBytes, fc.br.Size())
	slow := false
	for {
		buf, _ := fc.br.Peek(fc.br.Buffered())
		n, res := http1.ParseRequestHead(buf, &fc.head)
		switch {
		case res == http1.Declined, res == http1.Parsed && n > max:
			// net/http answers heads over the limit (431).
			return 0, true
		case res == http1.Parsed:
			return n, true
		case len(buf) >= max:
			return 0, true
		}
		if !slow {
			// The rest of the head must come within the head timeout.
			slow = true
			fc.deadline = time.Now().Add(headTimeout)
			_ = fc.conn.SetReadDeadline(fc.deadline)
		}
		if _, err := fc.br.Peek(len(buf) + 1); err != nil {
			return 0, false
		}
	}
}

// fastResult is what becomes of the connection after a request.
type fastResult uint8

const (
	keepConn fastResult = iota
	closeConn
	handOff
)

// serveRequest serves the request whose head of n bytes fc.head holds, or
// declines it (handOff) before anything of it is consumed.
func (fc *fastConn) serveRequest(n int) fastResult {
	start := time.Now()
	fc.headLen, fc.consumed, fc.bodyStarted, fc.bodyUnsent = n, false, false, false
	t := fc.p.table.Load()
	var pr *portRoutes
	if t != nil {
		pr = t.routesAt(&fc.l.at)
	}
	if pr == nil || pr.protoValue[0] != "http" || !fc.parseTarget() {
		return handOff
	}
	rt := pr.routeFor(fc.host, fc.path)
	if rt != nil && (rt.redirect != nil || rt.rewrite != nil || rt.auth != nil || rt.backend.protocol != "" || rt.backend.policy.cookie != "" || rt.headers != nil || rt.split != nil || rt.pages != nil || rt.fallback != nil || rt.ext != nil || rt.timeouts != nil || rt.mirrors != nil || rt.retry != nil) {
		return handOff
	}
	if fc.p.opts.AccessLog != nil {
		fc.userAgent = fc.head.Field("User-Agent")
	}
	out, result := outcome{}, keepConn
	var b *backend
	var hold limitHold
	switch {
	case rt == nil:
		out.status, result = fc.answerUnread(404, "404 not found: no route for this host and path")
	case !rt.permits(fc.addr):
		b = rt.backend
		out.status, result = fc.answerUnread(http.StatusForbidden, forbiddenBody)
	case rt.to != nil:
		out.status, result = fc.answerRedirect(rt.to)
	case !hold.admit(rt.limit, fc.addr, start):
		// Before the body's limit, as on net/http's path and HAProxy's.
		b = rt.backend
		out.status, result = fc.answerUnread(rt.limit.status, rt.limit.body)
	case rt.backend.status != 0:
		b = rt.backend
		out.status, result = fc.answerUnread(b.status, b.statusBody)
	case rt.backend.policy.maxBody > 0 && fc.head.ContentLength > rt.backend.policy.maxBody:
		b = rt.backend
		out.status, result = fc.answerUnread(http.StatusRequestEntityTooLarge, "413 request entity too large")
	default:
		b = rt.backend
		if c := fc.choose(b, nil); c.ep == nil {
			out.status, result = fc.answerUnread(503, "503 service unavailable: no ready endpoints")
		} else {
			out, result = fc.forwardLoop(pr, b, c)
		}
	}
	hold.release()
	// Counted before the response is sent in full, as on net/http's
	// path: a client that has it sees it counted.
	if b != nil {
		b.metrics.observe(out.status, time.Since(start))
	}
	if fc.p.opts.AccessLog != nil {
		fc.logAccess(b, out, start)
	}
	if !fc.consumed {
		_, _ = fc.br.Discard(n)
	}
	if err := fc.bw.Flush(); err != nil {
		result = closeConn
	}
	return result
}

// answerUnread answers the request with status and msg without reading
// its body. A request with a body closes the connection after the answer,
// so that the body, whatever it holds, is never taken for the next
// request.
func (fc *fastConn) answerUnread(status int, msg string) (int, fastResult) {
	result := keepConn
	if fc.head.ContentLength > 0 {
		fc.head.Close = true
		result = closeConn
	}
	return fc.answer(status, msg), result
}

// parseTarget sets fc.host, fc.target and fc.path from the head, and
// reports whether the path is normal; one that is not goes to net/http's
// path, which answers 400 or rewrites it (normalizeTarget).
func (fc *fastConn) parseTarget() bool {
	h := &fc.head
	if string(h.Host) != fc.host {
		fc.host = string(h.Host)
	}
	if string(h.Target) == fc.target {
		return fc.normal
	}
	fc.target = string(h.Target)
	raw, _, _ := strings.Cut(fc.target, "?")
	path, err := lbconfig.NormalizePath(raw)
	fc.normal = err == nil && path == raw && lbconfig.CheckRequestTarget(fc.target) == nil
	fc.path = raw
	return fc.normal
}

// answer writes a short answer of the proxy's own and returns its status;
// to a HEAD, its head alone.
func (fc *fastConn) answer(status int, msg string) int {
	if fc.head.Method == http.MethodHead {
		http1.WriteErrorHead(fc.bw, status, msg, fc.head.Close)
	} else {
		http1.WriteError(fc.bw, status, msg, fc.head.Close)
	}
	return status
}

// forwardLoop is Provider.forwardLoop on the fast path: on a failed
// connect it tries other endpoints, as many as the policy's retries, if
// the request may go again.
func (fc *fastConn) forwardLoop(pr *portRoutes, b *backend, c choice) (outcome, fastResult) {
	var triedBuf [4]*endpoint
	tried := triedBuf[:0]
	for {
		out, result, err := fc.forward(pr, b, c.ep)
		if err == nil {
			return out, result
		}
		tried = append(tried, c.ep)
		next := choice{}
		// As on net/http's path: a body goes elsewhere only if the
		// request may be sent twice.
		if len(tried) <= b.policy.retries && (fc.head.ContentLength == 0 || isIdempotent(fc.head.Method)) {
			next = fc.choose(b, tried)
		}
		if next.ep == nil {
			return fc.failed(b, c.ep, err)
		}
		fc.p.log.Debug("connect failed; trying another endpoint", "backend", b.name, "endpoint", c.ep.addr, "next", next.ep.addr, "error", err)
		c = next
	}
}

// forward is Provider.forward on the fast path: it returns a failed
// connect unanswered, and answers anything else.
func (fc *fastConn) forward(pr *portRoutes, b *backend, ep *endpoint) (outcome, fastResult, error) {
	ep.pool.active.Add(1)
	defer ep.pool.active.Add(-1)
	fc.pr, fc.pol = pr, b.policy
	bc, rh, err := fc.p.exchangeOn(context.Background(), b, ep, isIdempotent(fc.head.Method), fc.tryFn, fc.moreFn)
	if de, ok := err.(dialError); ok {
		return outcome{}, keepConn, de.err
	}
	if err != nil {
		out, result := fc.failed(b, ep, err)
		return out, result, nil
	}
	out, result := fc.respond(bc, rh, b, ep)
	fc.active.Store(nil)
	return out, result, nil
}

// try is exchangeOn's try: the round trip on bc, which a shutdown aborts
// meanwhile.
func (fc *fastConn) try(bc *backendConn) (http1.Head, error) {
	fc.active.Store(bc)
	rh, err := fc.roundTrip(bc, fc.pr, fc.pol)
	if err != nil {
		fc.active.Store(nil)
	}
	return rh, err
}

// more is exchangeOn's more: a request goes again unless its client left
// or some of its body went out.
func (fc *fastConn) more() bool { return !fc.gone.Load() && !fc.bodyStarted }

// sendBody streams the request body, which follows the head in br, to bc
// as it comes: what br holds at once, the rest as the client sends it,
// each read within the client body timeout. Write errors are sendErrors,
// read errors clientBodyErrors.
func (fc *fastConn) sendBody(bc *backendConn) error {
	for left := fc.head.ContentLength; left > 0; {
		if fc.br.Buffered() == 0 {
			// What came goes out before the client is waited for.
			if err := bc.bw.Flush(); err != nil {
				return sendError{err}
			}
			fc.readWithin(time.Now(), fc.p.opts.ClientBodyTimeout)
			if _, err := fc.br.Peek(1); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					err = errClientBodyTimeout
				}
				return clientBodyError{unexpectedEOF(err)}
			}
		}
		p, _ := fc.br.Peek(int(min(left, int64(fc.br.Buffered()))))
		fc.bodyStarted = true
		_, _ = bc.bw.Write(p)
		_, _ = fc.br.Discard(len(p))
		left -= int64(len(p))
	}
	if err := bc.bw.Flush(); err != nil {
		return sendError{err}
	}
	return nil
}

// unexpectedEOF is err, io.ErrUnexpectedEOF for a body cut off by a close.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// roundTrip writes the request head and reads the head of the final
// response, watching the client if the backend takes long.
func (fc *fastConn) roundTrip(bc *backendConn, pr *portRoutes, pol *policy) (http1.Head, error) {
	bc.written = 0
	fc.writeHead(bc.bw, pr)
	if !fc.consumed {
		// The head stays where it is in br until a read of the body
		// refills it, which ends any chance to send it again.
		_, _ = fc.br.Discard(fc.headLen)
		fc.consumed = true
	}
	if fc.head.ContentLength == 0 {
		if err := bc.flushDeferred(); err != nil {
			return http1.Head{}, sendError{err}
		}
	} else if err := fc.sendBody(bc); err != nil {
		if _, ok := err.(clientBodyError); ok || sendTimedOut(err) {
			return http1.Head{}, err
		}
		// The backend may have answered early and closed.
		bc.readWithin(time.Now(), pol.responseHeader)
		got := false
		if rh, rerr := http1.ReadFinalHead(bc.br, &bc.head, false, false, &got, fc); rerr == nil {
			fc.bodyUnsent = true
			return rh, nil
		}
		return http1.Head{}, err
	}
	now := time.Now()
	bc.setReadDeadline(now.Add(watchAfter))
	_, err := bc.br.Peek(1)
	if errors.Is(err, os.ErrDeadlineExceeded) && !bc.aborted.Load() {
		fc.startWatch(bc)
		bc.setReadDeadline(now.Add(pol.responseHeader))
		_, err = bc.br.Peek(1)
		fc.stopWatch()
	} else {
		bc.setReadDeadline(now.Add(pol.responseHeader))
	}
	if err != nil {
		return http1.Head{}, http1.NoResponseError{Err: err}
	}
	got := true
	return http1.ReadFinalHead(bc.br, &bc.head, false, false, &got, fc)
}

// Interim passes an informational response on to the client.
func (fc *fastConn) Interim(rh http1.Head, h *http1.HeadReader) {
	h.WriteInterim(fc.bw, &rh)
	_ = fc.bw.Flush()
}

// startWatch watches the client connection while bc's answer is awaited:
// a close aborts the exchange. The watch reads at most one byte, kept for
// the next request: a client that sends on (pipelining) is not watched.
func (fc *fastConn) startWatch(bc *backendConn) {
	if fc.br.Buffered() > 0 {
		return // more requests: net/http does not watch either
	}
	fc.watched = bc
	go fc.watchFn()
}

func (fc *fastConn) watch() {
	n, err := fc.conn.Read(fc.in.stash[:])
	switch {
	case n == 1:
		fc.in.stashed = true
	case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
		fc.gone.Store(true)
		fc.watched.abort()
	}
	fc.watchDone <- struct{}{}
}

// stopWatch ends the watch, if one runs.
func (fc *fastConn) stopWatch() {
	if fc.watched == nil {
		return
	}
	_ = fc.conn.SetReadDeadline(aLongTimeAgo)
	<-fc.watchDone
	fc.watched = nil
	fc.deadline = time.Time{}
	_ = fc.conn.SetReadDeadline(time.Time{})
}

// writeHead writes the request head for the backend: the client's fields
// in their order less the hop-by-hop ones, Host passed through, and the
// X-Forwarded-* fields set by the proxy, as Provider.forward's
// exchange.writeHead does.
func (fc *fastConn) writeHead(bw *bufio.Writer, pr *portRoutes) {
	h := &fc.head
	http1.WriteRequestLine(bw, h.Method, fc.target)
	bw.WriteString("Host: ")
	bw.Write(h.Host)
	bw.WriteString("\r\n")
	http1.WriteFraming(bw, h.Method, h.ContentLength, nil)
	bw.WriteString("X-Forwarded-For: ")
	for i := range h.Fields {
		if f := &h.Fields[i]; f.Kind == http1.FieldForwardedFor {
			bw.Write(f.Value)
			bw.WriteString(", ")
		}
	}
	bw.WriteString(fc.client)
	bw.WriteString("\r\n")
	for i := range h.Fields {
		if f := &h.Fields[i]; f.Kind == http1.FieldPass {
			bw.Write(f.Name)
			bw.WriteString(": ")
			bw.Write(f.Value)
			bw.WriteString("\r\n")
		}
	}
	http1.WriteField(bw, "X-Real-Ip", fc.client)
	http1.WriteField(bw, "X-Forwarded-Host", fc.host)
	http1.WriteField(bw, "X-Forwarded-Proto", pr.protoValue[0])
	http1.WriteField(bw, "X-Forwarded-Port", pr.portValue[0])
	bw.WriteString("\r\n")
}

// respond streams the response whose head was just read to the client and
// puts the backend connection back in its pool if the exchange left it
// clean.
func (fc *fastConn) respond(bc *backendConn, rh http1.Head, b *backend, ep *endpoint) (outcome, fastResult) {
	body := http1.NewBody(bc.br, &rh, fc.head.Method, &bc.head, &fc.p.bufs)
	closing := fc.head.Close || fc.bodyUnsent || fc.l.fast.closing.Load()
	bc.head.WriteHead(fc.bw, &rh, &body, closing, fc.p.serverLine)
	out := outcome{status: rh.Status, endpoint: ep.addr}
	err := fc.copyBody(bc, &body, b.policy, &out)
	body.Release()
	if err == io.EOF && rh.Reusable(&body, bc.br) {
		bc.pool.put(bc)
	} else {
		bc.close()
	}
	if err != io.EOF || closing {
		if _, ok := err.(clientWriteError); !ok && err != io.EOF {
			fc.p.log.Warn("backend response body failed", "backend", b.name, "endpoint", ep.addr, "error", err)
		}
		// The status line is out: the client learns that the body is
		// incomplete from the connection closing.
		return out, closeConn
	}
	return out, keepConn
}

// clientWriteError is a failed write to the client.
type clientWriteError struct{ error }

// copyBody copies the body to the client: as it is when its length is
// known, else re-chunked. It returns io.EOF when the body was read to its
// end and written, with the bytes written in out.
func (fc *fastConn) copyBody(bc *backendConn, body *http1.Body, pol *policy, out *outcome) error {
	// Streams and server-sent events go out as they come: a chunk may
	// be only partly read, and its reader then waits for the rest.
	streams := body.Streams()
	if streams {
		if err := fc.bw.Flush(); err != nil {
			return clientWriteError{err}
		}
	}
	for {
		if bc.br.Buffered() == 0 && !body.Done() {
			// The backend is to be waited for: what came goes out.
			if err := fc.bw.Flush(); err != nil {
				return clientWriteError{err}
			}
			bc.readWithin(time.Now(), pol.idle)
		}
		piece, err := body.Next()
		if len(piece) > 0 {
			out.bytes += int64(len(piece))
			if !streams {
				_, _ = fc.bw.Write(piece)
			} else if http1.WriteChunk(fc.bw, piece); fc.bw.Flush() != nil {
				return clientWriteError{fc.bw.Flush()}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	switch {
	case body.Chunked():
		bc.head.WriteTrailers(fc.bw)
	case streams:
		fc.bw.WriteString("0\r\n\r\n")
	}
	return io.EOF
}

// failed answers a request whose exchange failed before a response was
// sent, as Provider.backendFailed does.
func (fc *fastConn) failed(b *backend, ep *endpoint, err error) (outcome, fastResult) {
	if clientBodyTimedOut(err) {
		fc.head.Close = true
		return outcome{status: fc.answer(http.StatusRequestTimeout, "408 request timeout: the request body stopped coming"), endpoint: ep.addr}, closeConn
	}
	if _, ok := errors.AsType[clientBodyError](err); ok {
		// The client's fault, not the backend's; what is left of the
		// body is not read.
		fc.p.log.Debug("client request body failed", "backend", b.name, "error", err)
		fc.head.Close = true
		return outcome{status: fc.answer(http.StatusBadRequest, "400 bad request: malformed or incomplete request body"), endpoint: ep.addr}, closeConn
	}
	if fc.gone.Load() {
		return outcome{endpoint: ep.addr}, closeConn // nobody to answer
	}
	// What is left of a body is never read: the connection closes after
	// the answer, so that none of it is taken for the next request.
	result := keepConn
	if fc.head.ContentLength > 0 {
		fc.head.Close, result = true, closeConn
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		fc.p.log.Warn("backend timed out", "backend", b.name, "endpoint", ep.addr, "error", err)
		return outcome{status: fc.answer(504, "504 gateway timeout: the backend did not answer in time"), endpoint: ep.addr}, result
	}
	fc.p.log.Warn("backend request failed", "backend", b.name, "endpoint", ep.addr, "error", err)
	return outcome{status: fc.answer(502, "502 bad gateway: backend unavailable"), endpoint: ep.addr}, result
}

// logAccess writes the access log line of the request fc.head holds.
func (fc *fastConn) logAccess(b *backend, out outcome, start time.Time) {
	fc.p.writeAccess(accessEntry{client: fc.client, method: fc.head.Method, host: fc.host, path: fc.path, proto: "HTTP/1.1", userAgent: fc.userAgent}, b, out, start)
}
