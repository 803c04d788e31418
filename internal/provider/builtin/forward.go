package builtin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"ingress-controller/internal/provider/builtin/http1"
	"ingress-controller/pkg/lbconfig"
)

// portHandler serves the requests of one listener socket.
type portHandler struct {
	p  *Provider
	at socket
}

func (h *portHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// One load per request: the request finishes on this table even if
	// Apply swaps in another meanwhile.
	t := h.p.table.Load()
	var pr *portRoutes
	if t != nil {
		pr = t.routesAt(&h.at)
	}
	if pr == nil {
		// The port was just removed; its listener is closing.
		w.Header().Set("Connection", "close")
		http.Error(w, "503 service unavailable: listener is closing", http.StatusServiceUnavailable)
		return
	}
	closeIfFramingAmbiguous(w, r)
	if pr.clientAuth && pr.checkClientAuth(w, r) { // clientauth.go
		h.p.logAccess(r, nil, outcome{status: http.StatusMisdirectedRequest}, start)
		return
	}
	if pr.grouped && pr.misdirected(r) { // misdirect.go
		http.Error(w, misdirectedBody, http.StatusMisdirectedRequest)
		h.p.logAccess(r, nil, outcome{status: http.StatusMisdirectedRequest}, start)
		return
	}
	if r.Method == http.MethodConnect {
		http.Error(w, "405 method not allowed: CONNECT", http.StatusMethodNotAllowed)
		return
	}
	path, err := normalizeTarget(r)
	if err != nil {
		http.Error(w, "400 bad request: "+err.Error(), http.StatusBadRequest)
		h.p.logAccess(r, nil, outcome{status: http.StatusBadRequest}, start)
		return
	}
	var b *backend
	var headers responseHeaders
	var pages *pageRequest
	var timeouts *routeTimeouts
	var retry *lbconfig.Retry
	if rt := pr.routeForRequest(r, path); rt != nil {
		client := remoteAddr(r.RemoteAddr)
		if rt.access != nil && !rt.permits(client) {
			// Before the redirect too: a refused client learns nothing.
			http.Error(w, forbiddenBody, http.StatusForbidden)
			rt.backend.metrics.observe(http.StatusForbidden, time.Since(start))
			h.p.logAccess(r, rt.backend, outcome{status: http.StatusForbidden}, start)
			return
		}
		if rt.to != nil {
			status := serveRedirectTo(w, r, rt.to, path)
			h.p.logAccess(r, nil, outcome{status: status}, start)
			return
		}
		if rt.redirect != nil {
			serveRedirect(w, r, rt.redirect)
			h.p.logAccess(r, nil, outcome{status: rt.redirect.status}, start)
			return
		}
		var hold limitHold
		if !hold.admit(rt.limit, client, start) {
			h.p.refuseLimited(w, r, rt, start)
			return
		}
		// Released however the request ends: an upgrade's tunnel ends
		// within ServeHTTP, and net/http recovers a panic past defers.
		defer hold.release()
		if rt.headers != nil {
			var done bool
			if headers, done = h.servePreflight(w, r, rt, start); done {
				return
			}
		}
		if rt.auth != nil && !rt.auth.authorize(w, r) {
			rt.backend.metrics.observe(http.StatusUnauthorized, time.Since(start))
			h.p.logAccess(r, rt.backend, outcome{status: http.StatusUnauthorized}, start)
			return
		}
		if rt.ext != nil {
			status, cookies, ok := h.p.checkExtAuth(w, r, pr, rt.ext)
			if !ok {
				rt.backend.metrics.observe(status, time.Since(start))
				h.p.logAccess(r, rt.backend, outcome{status: status}, start)
				return
			}
			headers.auth = cookies
		}
		if rt.pages != nil && !isUpgrade(r.Header) {
			pages = newPageRequest(rt.pages, r) // before the rewrite
		}
		if rt.rewrite != nil {
			if err := rewriteTarget(r, rt, path); err != nil {
				http.Error(w, "400 bad request: rewritten "+err.Error(), http.StatusBadRequest)
				rt.backend.metrics.observe(http.StatusBadRequest, time.Since(start))
				h.p.logAccess(r, rt.backend, outcome{status: http.StatusBadRequest}, start)
				return
			}
		}
		if rt.headers != nil {
			// After authentication: no change stands in for the
			// client's credentials.
			rt.headers.request.apply(r.Header)
		}
		if rt.mirrors != nil {
			h.p.mirror(r, rt, pr)
		}
		b = rt.pickBackend(r)
		rt.changeForBackend(b, r.Header)
		if b != nil && b.status != 0 {
			h.p.serveStatus(w, r, b, start)
			return
		}
		if b != nil && rt.fallback != nil {
			var fell bool
			if b, fell = rt.fallbackFor(r, b); fell {
				pages = nil // the fallback's answers are its own
			}
		}
		timeouts, retry = rt.timeouts, rt.retry
	}
	if b == nil {
		http.Error(w, "404 not found: no route for this host and path", http.StatusNotFound)
		h.p.logAccess(r, nil, outcome{status: http.StatusNotFound}, start)
		return
	}
	var out outcome
	c := b.choose(r, remoteIP(r.RemoteAddr), pr.secure(), nil)
	c.headers = headers
	c.headers.pages = pages
	c.timeouts = timeouts.forRequest(b, start)
	switch {
	case c.ep == nil:
		http.Error(w, "503 service unavailable: no ready endpoints", http.StatusServiceUnavailable)
		out.status = http.StatusServiceUnavailable
	case b.protocol == "" && isUpgrade(r.Header):
		out = h.p.upgrade(w, r, pr, b, c)
	case retry != nil:
		out = h.p.forwardRetrying(w, r, pr, b, c, retry) // retry.go
	default:
		out = h.p.forwardLoop(w, r, pr, b, c)
	}
	b.metrics.observe(out.status, time.Since(start))
	h.p.logAccess(r, b, out, start)
}

// normalizeTarget checks r's request target (lbconfig.CheckRequestTarget)
// and normalizes its path (lbconfig.NormalizePath), the same for HTTP/1.1
// and HTTP/2, whose ":path" net/http puts in RequestURI as it came. It
// returns the raw, normalized path to route on. When the path changes it
// rewrites RequestURI, which the HTTP/1.1 path sends on as it is, and
// r.URL, which the reverse proxy of the other backend protocols sends,
// so that the backend gets the path the route was chosen for; a normal
// path costs no allocation.
func normalizeTarget(r *http.Request) (string, error) {
	uri := r.RequestURI
	if err := lbconfig.CheckRequestTarget(uri); err != nil {
		return "", err
	}
	raw, query := uri, ""
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		raw, query = uri[:i], uri[i:]
	}
	absolute := false
	if !strings.HasPrefix(raw, "/") {
		if raw == "*" { // OPTIONS *
			return raw, nil
		}
		// Absolute form, "http://host/path": the Host is in r.Host; the
		// backend gets the origin form.
		_, rest, ok := strings.Cut(raw, "://")
		if !ok {
			return "", errors.New("request target: not a path")
		}
		raw = "/"
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			raw = rest[i:]
		}
		absolute = true
	}
	path, err := lbconfig.NormalizePath(raw)
	if err != nil {
		return "", err
	}
	if path == raw && !absolute {
		return path, nil
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return "", err // cannot happen: NormalizePath allowed it
	}
	r.URL.Path, r.URL.RawPath = u.Path, u.RawPath
	r.RequestURI = path + query
	return path, nil
}

// outcome is how a request ended, for metrics and the access log.
type outcome struct {
	// status is the status sent, or 0 when the client went away first.
	status   int
	bytes    int64
	endpoint string
}

// expectContinueTimeout is how long a request that expects 100 Continue
// waits for it before its body is sent anyway, as net/http's Transport.
const expectContinueTimeout = time.Second

// forwardLoop sends r to c's endpoint over the backend's transport: the
// hand-written HTTP/1.1 client (forward) for plain backends, net/http's
// ReverseProxy (forwardOther) for HTTPS, h2c and gRPC. It owns the policy
// both share: when connecting fails it tries other endpoints, as many as
// the policy's retries, if the request may go again, and answers when
// none is left. Passive health follows every connect (in the dialers);
// timeouts, the body limit and affinity apply on either transport.
func (p *Provider) forwardLoop(w http.ResponseWriter, r *http.Request, pr *portRoutes, b *backend, c choice) outcome {
	pol := b.policy
	if b.protocol == "" {
		for _, v := range r.Header["Connection"] {
			http1.DeleteConnectionListed(r.Header, v)
		}
	}
	if !limitBody(w, r, pol.maxBody) {
		return outcome{status: http.StatusRequestEntityTooLarge}
	}
	r = p.watchBody(w, r)
	// A failed connect reads nothing of the body on the fast path; the
	// ReverseProxy's transport closes it, so there only requests without
	// one go again.
	retryable := r.ContentLength == 0 || (b.protocol == "" && isIdempotent(r.Method))
	var triedBuf [4]*endpoint
	tried := triedBuf[:0]
	for {
		var out outcome
		var err error
		ar, release := c.timeouts.bound(r)
		if b.protocol == "" {
			out, err = p.forward(w, ar, pr, b, c)
		} else {
			out, err = p.forwardOther(w, ar, pr, b, c)
		}
		if err != nil && timedOut(ar) { // before release cancels ar
			status := p.backendFailed(w, ar, b, c.ep, err)
			release()
			return outcome{status: status, endpoint: c.ep.addr}
		}
		release()
		if err == nil {
			return out
		}
		tried = append(tried, c.ep)
		next := choice{}
		if len(tried) <= pol.retries && retryable && r.Context().Err() == nil {
			next = b.choose(r, remoteIP(r.RemoteAddr), pr.secure(), tried)
		}
		if next.ep == nil {
			return outcome{status: p.backendFailed(w, r, b, c.ep, err), endpoint: c.ep.addr}
		}
		next.headers, next.timeouts = c.headers, c.timeouts
		p.log.Debug("connect failed; trying another endpoint", "backend", b.name, "endpoint", c.ep.addr, "next", next.ep.addr, "error", err)
		c = next
	}
}

// forward sends r to c's endpoint and streams the answer back to w, on a
// pooled backend connection and entirely in this goroutine. A failed
// connect is returned, unanswered, for forwardLoop to try elsewhere; any
// other outcome is answered here.
func (p *Provider) forward(w http.ResponseWriter, r *http.Request, pr *portRoutes, b *backend, c choice) (outcome, error) {
	ctx := r.Context()
	ep := c.ep
	x := exchange{p: p, w: w, r: r, pr: pr, pol: c.policyFor(b), host: c.headers.upstreamHost(r), setCookie: c.setCookie, headers: c.headers}
	if x.host == "" {
		x.host = ep.addr // what net/http's Transport sent
	}
	ep.pool.active.Add(1)
	defer ep.pool.active.Add(-1)
	more := func() bool { return !x.bodyStarted && ctx.Err() == nil }
	_, rh, err := p.exchangeOn(ctx, b, ep, isIdempotent(r.Method), x.tryOn, more)
	if de, ok := err.(dialError); ok {
		return outcome{}, de.err
	}
	if err != nil {
		return outcome{status: p.backendFailed(w, r, b, ep, err), endpoint: ep.addr}, nil
	}
	return p.respond(w, &x, rh, b, ep), nil
}

// dialError is a failed connect: nothing was sent, and forwardLoop may
// try another endpoint.
type dialError struct{ err error }

func (e dialError) Error() string { return e.err.Error() }
func (e dialError) Unwrap() error { return e.err }

// exchangeOn runs try, which sends the request and reads the head of the
// response, on an idle connection of ep's pool, else on a new one. Only a
// reused connection may have been closed by the backend as the request
// went out (the keep-alive race), and only a request that is sure not to
// have been acted on, or that may be acted on twice, goes again: once, on
// a new connection, if more also says so. It returns the connection and
// the head; or a dialError; or try's error, the connection closed.
func (p *Provider) exchangeOn(ctx context.Context, b *backend, ep *endpoint, idempotent bool, try func(*backendConn) (http1.Head, error), more func() bool) (*backendConn, http1.Head, error) {
	bc := ep.pool.get()
	reused := bc != nil
	for {
		if bc == nil {
			var err error
			if bc, err = p.dial(ctx, b, ep); err != nil {
				return nil, http1.Head{}, dialError{err}
			}
		}
		bc.sendTimeout = b.policy.send
		rh, err := try(bc)
		if err == nil {
			return bc, rh, nil
		}
		bc.close()
		if !reused || !isRetryable(err) || !(idempotent || bc.written == 0) || !more() {
			return nil, http1.Head{}, err
		}
		p.log.Debug("retrying on a new connection", "backend", b.name, "endpoint", ep.addr, "error", err)
		bc, reused = nil, false
	}
}

// respond streams the response whose head x just read back to w, and puts
// the backend connection back in its pool if the exchange left it clean.
func (p *Provider) respond(w http.ResponseWriter, x *exchange, rh http1.Head, b *backend, ep *endpoint) outcome {
	if x.headers.pages.handles(rh.Status) {
		return p.respondWithPage(w, x, rh, b, ep)
	}
	r, bc, ctx := x.r, x.bc, x.r.Context()
	dst := w.Header()
	bc.head.Fill(dst, &rh)
	if _, ok := dst["Server"]; !ok && p.server != "" {
		dst["Server"] = []string{p.server}
	}
	if x.setCookie != "" {
		dst["Set-Cookie"] = append(dst["Set-Cookie"], x.setCookie)
	}
	x.headers.apply(dst, rh.Status)
	w.WriteHeader(rh.Status)
	body := http1.NewBody(bc.br, &rh, r.Method, &bc.head, &p.bufs)
	var flusher http.Flusher
	if body.Streams() {
		// Streams and server-sent events go out as they come.
		flusher, _ = w.(http.Flusher)
	}
	out := outcome{status: rh.Status, endpoint: ep.addr}
	var err error
	clientGone := false
	// The backend may be silent for at most the idle timeout; the
	// deadline moves on before each read from the connection (a body
	// that came with the head needs none).
	idle := x.pol.idle
	for {
		if bc.br.Buffered() == 0 {
			bc.readWithin(time.Now(), idle)
		}
		var piece []byte
		piece, err = body.Next()
		if len(piece) > 0 {
			n, werr := w.Write(piece)
			out.bytes += int64(n)
			if werr != nil {
				clientGone = true
				break
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			break
		}
	}
	body.Release()
	if err == io.EOF && body.Chunked() {
		bc.head.FillTrailers(dst)
	}
	reusable := err == io.EOF && !clientGone && !x.bodyUnsent && rh.Reusable(&body, bc.br)
	if x.stop() && reusable {
		bc.pool.put(bc)
	} else {
		bc.close()
	}
	if err != io.EOF && !clientGone {
		if ctx.Err() == nil {
			p.log.Warn("backend response body failed", "backend", b.name, "endpoint", ep.addr, "error", err)
		}
		// The status line is out: the only way to tell the client the
		// body is incomplete is to abort the connection.
		b.metrics.observe(out.status, 0)
		panic(http.ErrAbortHandler)
	}
	return out
}

// backendFailed answers a request whose exchange failed before a response
// was sent, and returns the status, 0 when the client went away first.
func (p *Provider) backendFailed(w http.ResponseWriter, r *http.Request, b *backend, ep *endpoint, err error) int {
	noteFailed(w) // retry.go
	if clientBodyTimedOut(err) {
		// Before the context check: the failed read cancelled it.
		return clientTimedOut(w)
	}
	if timedOut(r) {
		p.log.Warn("route timeout passed", "backend", b.name, "endpoint", ep.addr, "error", err)
		return routeTimedOut(w)
	}
	if r.Context().Err() != nil {
		return 0 // the client went away; nobody to answer
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge(w)
	}
	if _, ok := errors.AsType[clientBodyError](err); ok {
		// A malformed or cut-off body is the client's fault, not the
		// backend's; the backend connection was closed with it.
		p.log.Debug("client request body failed", "backend", b.name, "error", err)
		w.Header().Set("Connection", "close")
		http.Error(w, "400 bad request: malformed or incomplete request body", http.StatusBadRequest)
		return http.StatusBadRequest
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		p.log.Warn("backend timed out", "backend", b.name, "endpoint", ep.addr, "error", err)
		http.Error(w, "504 gateway timeout: the backend did not answer in time", http.StatusGatewayTimeout)
		return http.StatusGatewayTimeout
	}
	p.log.Warn("backend request failed", "backend", b.name, "endpoint", ep.addr, "error", err)
	http.Error(w, "502 bad gateway: backend unavailable", http.StatusBadGateway)
	return http.StatusBadGateway
}

// exchange is one request on one backend connection.
type exchange struct {
	p    *Provider
	w    http.ResponseWriter
	r    *http.Request
	pr   *portRoutes
	host string
	bc   *backendConn
	// stop undoes the context.AfterFunc that aborts the exchange when the
	// client goes away; false means it ran.
	stop func() bool
	// bodyStarted is set once bytes of the client's body were read: the
	// request cannot be sent again.
	bodyStarted bool
	// bodyUnsent is set when the final response came before the request
	// body was sent in full: the backend may still be reading it.
	bodyUnsent bool
	// gotResponse is set once a byte of a response was read.
	gotResponse bool
	// upgrade is the Upgrade field of a request that asks to switch
	// protocols, sent on with "Connection: Upgrade"; a 101 answers it.
	upgrade string
	pol     *policy
	// setCookie is an affinity cookie to send with the response.
	setCookie string
	// headers changes the response head (headers.go).
	headers responseHeaders
}

// sendError is a failed write to the backend.
type sendError struct{ err error }

func (e sendError) Error() string { return "sending the request: " + e.err.Error() }
func (e sendError) Unwrap() error { return e.err }

// clientBodyError is a failed read of the client's request body.
type clientBodyError struct{ err error }

func (e clientBodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e clientBodyError) Unwrap() error { return e.err }

// isRetryable reports whether err is a failure of the connection itself
// before any part of a response came back: the keep-alive race, where
// the backend closed an idle connection as the request went out. A
// timeout is not that race but a backend that took the request and is
// slow; it goes again only by the route's retries.
func isRetryable(err error) bool {
	switch err.(type) {
	case sendError, http1.NoResponseError:
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
	return false
}

// tryOn is exchangeOn's try: it runs the exchange on bc, aborted when
// the request's context ends, up to the head of the final response.
func (x *exchange) tryOn(bc *backendConn) (http1.Head, error) {
	x.bc = bc
	x.stop = context.AfterFunc(x.r.Context(), bc.abortFn)
	rh, err := x.roundTrip()
	if err != nil {
		x.stop()
	}
	return rh, err
}

// roundTrip writes the request and reads the head of the final response.
func (x *exchange) roundTrip() (http1.Head, error) {
	bc, r := x.bc, x.r
	bc.written = 0
	x.writeHead()
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		if err := bc.flushDeferred(); err != nil {
			return http1.Head{}, sendError{err}
		}
		return x.readFinal(false)
	}
	if expectsContinue(r.Header) {
		// Let the backend refuse the body before the client sends it:
		// net/http asks the client for it only when it is read.
		if err := bc.bw.Flush(); err != nil {
			return http1.Head{}, sendError{err}
		}
		bc.setReadDeadline(time.Now().Add(expectContinueTimeout))
		_, err := bc.br.Peek(1)
		bc.setReadDeadline(time.Time{})
		switch {
		case err == nil:
			rh, err := x.readFinal(true)
			if err != nil || rh.Status != http.StatusContinue {
				x.bodyUnsent = err == nil
				return rh, err
			}
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return http1.Head{}, http1.NoResponseError{Err: err}
		}
	}
	if err := x.sendBody(); err != nil {
		if _, ok := err.(clientBodyError); ok || sendTimedOut(err) {
			return http1.Head{}, err
		}
		// The backend may have answered early and closed.
		if rh, rerr := x.readFinal(false); rerr == nil {
			x.bodyUnsent = true
			return rh, nil
		}
		return http1.Head{}, err
	}
	return x.readFinal(false)
}

// readFinal reads response heads up to the final one; with stopAtContinue
// it returns a 100 Continue.
func (x *exchange) readFinal(stopAtContinue bool) (http1.Head, error) {
	x.bc.readWithin(time.Now(), x.pol.responseHeader)
	return http1.ReadFinalHead(x.bc.br, &x.bc.head, stopAtContinue, x.upgrade != "", &x.gotResponse, x)
}

// Interim passes an informational response (103 Early Hints, say) on to
// the client, as net/http's ReverseProxy does; HTTP/1.0 clients get none
// (RFC 9110, section 15.2).
func (x *exchange) Interim(rh http1.Head, h *http1.HeadReader) {
	if !x.r.ProtoAtLeast(1, 1) {
		return
	}
	dst := x.w.Header()
	h.Fill(dst, &rh)
	x.w.WriteHeader(rh.Status)
	clear(dst)
}

// writeHead writes the request line and header fields into the
// connection's buffer. The fields are the client's less the hop-by-hop
// ones, with Host passed through and X-Forwarded-* set by the proxy, the
// way net/http's Transport wrote the same request before.
func (x *exchange) writeHead() {
	r, bw := x.r, x.bc.bw
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") {
		// Absolute form, "*" or a path that reads as an authority:
		// re-encode from the parsed URL (rare).
		u := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		uri = u.RequestURI()
	}
	http1.WriteRequestLine(bw, r.Method, uri)
	bw.WriteString("Host: ")
	bw.WriteString(x.host)
	bw.WriteString("\r\n")
	if ua := r.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		http1.WriteField(bw, "User-Agent", ua[0])
	}
	http1.WriteFraming(bw, r.Method, r.ContentLength, r.Trailer)
	for k, vs := range r.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length",
			"X-Forwarded-For", "X-Real-Ip", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port":
			continue
		}
		if http1.IsHopByHop(k) {
			continue
		}
		for _, v := range vs {
			http1.WriteField(bw, k, v)
		}
	}
	clientIP := remoteIP(r.RemoteAddr)
	bw.WriteString("X-Forwarded-For: ")
	for _, v := range r.Header["X-Forwarded-For"] {
		bw.WriteString(v)
		bw.WriteString(", ")
	}
	bw.WriteString(clientIP)
	bw.WriteString("\r\n")
	http1.WriteField(bw, "X-Real-Ip", clientIP)
	http1.WriteField(bw, "X-Forwarded-Host", r.Host)
	http1.WriteField(bw, "X-Forwarded-Proto", x.pr.protoValue[0])
	http1.WriteField(bw, "X-Forwarded-Port", x.pr.portValue[0])
	if x.upgrade != "" {
		bw.WriteString("Connection: Upgrade\r\n")
		http1.WriteField(bw, "Upgrade", x.upgrade)
	}
	bw.WriteString("\r\n")
}

// sendBody streams the client's body to the backend as it comes:
// Content-Length bodies as they are, others re-chunked. Write errors are
// sendErrors, read errors clientBodyErrors.
func (x *exchange) sendBody() error {
	r, bw := x.r, x.bc.bw
	bufp := x.p.bufs.Get().(*[]byte)
	defer x.p.bufs.Put(bufp)
	buf := *bufp
	chunked := r.ContentLength < 0
	left := r.ContentLength
	for {
		p := buf
		if !chunked && int64(len(p)) > left {
			p = p[:left]
		}
		n, rerr := r.Body.Read(p)
		if n > 0 {
			x.bodyStarted = true
			if chunked {
				http1.WriteChunk(bw, p[:n])
			} else {
				bw.Write(p[:n])
			}
			// Flush as it comes: the client may be streaming.
			if err := bw.Flush(); err != nil {
				return sendError{err}
			}
			left -= int64(n)
		}
		if !chunked && left == 0 {
			return nil
		}
		if rerr == io.EOF {
			if !chunked {
				return clientBodyError{io.ErrUnexpectedEOF}
			}
			break
		}
		if rerr != nil {
			return clientBodyError{rerr}
		}
	}
	// r.Trailer is filled in by net/http once the body was read to its end.
	if err := http1.WriteLastChunk(bw, r.Trailer); err != nil {
		return sendError{err}
	}
	if err := bw.Flush(); err != nil {
		return sendError{err}
	}
	return nil
}

// isIdempotent reports whether a request with this method may be sent
// twice (RFC 9110, section 9.2.2).
func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// expectsContinue reports whether the request asks for 100 Continue.
func expectsContinue(h http.Header) bool {
	for _, v := range h["Expect"] {
		if strings.EqualFold(textproto.TrimString(v), "100-continue") {
			return true
		}
	}
	return false
}

// isUpgrade reports whether the request asks to switch protocols, other
// than to h2c, which a server may ignore.
func isUpgrade(h http.Header) bool {
	up := h["Upgrade"]
	if len(up) == 0 || strings.EqualFold(textproto.TrimString(up[0]), "h2c") {
		return false
	}
	for _, v := range h["Connection"] {
		for v != "" {
			var token string
			token, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(textproto.TrimString(token), "upgrade") {
				return true
			}
		}
	}
	return false
}

// remoteIP returns the IP of an "ip:port" or "[ip6]:port" address without
// allocating.
func remoteIP(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		addr = addr[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
}

// remoteAddr returns the IP address of an "ip:port" or "[ip6]:port"
// address, or the zero Addr, without allocating.
func remoteAddr(addr string) netip.Addr {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

// limitBody holds r's body to max bytes (0: no limit), answering 413 at
// once, and returning false, when its Content-Length is larger; a body
// without one fails its read at the limit (see backendFailed).
func limitBody(w http.ResponseWriter, r *http.Request, max int64) bool {
	if max <= 0 || r.Body == nil || r.Body == http.NoBody {
		return true
	}
	if r.ContentLength > max {
		tooLarge(w)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, max)
	return true
}

func tooLarge(w http.ResponseWriter) int {
	w.Header().Set("Connection", "close")
	http.Error(w, "413 request entity too large", http.StatusRequestEntityTooLarge)
	return http.StatusRequestEntityTooLarge
}

// dial connects to ep within the backend's connect timeout and keeps the
// endpoint's passive health up to date.
func (p *Provider) dial(ctx context.Context, b *backend, ep *endpoint) (*backendConn, error) {
	dctx, cancel := context.WithTimeout(ctx, b.policy.connect)
	defer cancel()
	bc, err := ep.pool.dial(dctx)
	if err != nil {
		if ctx.Err() == nil {
			if d, ejected := ep.pool.connectFailed(b.policy.health, time.Now()); ejected {
				p.log.Warn("endpoint ejected after failed connects", "backend", b.name, "endpoint", ep.addr, "for", d, "error", err)
			}
		}
		return nil, err
	}
	ep.pool.connected()
	return bc, nil
}
