package builtin

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Route retries (lbconfig.Route.Retry). A route with them is served on
// net/http's path. Its request body is read first, up to retryBodyMax:
// only a body held whole can go again; a larger one, or one that does not
// say its length and turns out larger, is sent once, as it comes. Each
// attempt answers into a retryWriter, which lets nothing of an attempt
// that may go again reach the client: an answer with one of the route's
// codes is dropped (its connection closed, not drained), and the proxy's
// own answer to a failed exchange (a refused or reset connection, a
// backend that timed out) is held, small as it is, until the attempt is
// over. The last attempt, an answer that does not fail, or any attempt
// after an informational response went out, writes through. A retry goes
// to an endpoint not tried yet where the backend has one, after the
// route's backoff, and never past the route's request timeout: when that
// would pass first the client gets 504 at once.

// retryBodyMax bounds the request body a route with retries holds to
// send again.
const retryBodyMax = 64 << 10

// heldMax bounds the proxy's own answer a retryWriter holds; its error
// answers are a line of text.
const heldMax = 4 << 10

// errAttemptDropped fails the writes of an attempt that goes again.
var errAttemptDropped = errors.New("the attempt is retried; its answer is dropped")

// forwardRetrying serves a request of a route with retries: as
// forwardLoop does, once per attempt, as long as one fails and may go
// again.
func (p *Provider) forwardRetrying(w http.ResponseWriter, r *http.Request, pr *portRoutes, b *backend, c choice, rt *lbconfig.Retry) outcome {
	if isUpgrade(r.Header) {
		return p.forwardLoop(w, r, pr, b, c)
	}
	body, whole, err := p.holdBody(w, r, b.policy.maxBody)
	if err != nil {
		return outcome{status: p.backendFailed(w, r, b, c.ep, clientBodyError{err})}
	}
	if !whole {
		p.log.Debug("request body too large to retry; sent once", "backend", b.name)
		return p.forwardLoop(w, r, pr, b, c)
	}
	var triedBuf [4]*endpoint
	tried := triedBuf[:0]
	sent := false // an informational response went out
	for attempt := int32(0); ; attempt++ {
		rw := &retryWriter{w: w, retry: rt, last: attempt == rt.Attempts || sent, header: http.Header{}}
		out := p.attempt(rw, replay(r, body), pr, b, c)
		sent = sent || rw.interim
		if !rw.again() {
			rw.finish()
			return out
		}
		tried = append(tried, c.ep)
		if !p.backOff(r, rt, c.timeouts) {
			if r.Context().Err() != nil {
				return outcome{}
			}
			return outcome{status: routeTimedOut(w)}
		}
		next := b.choose(r, remoteIP(r.RemoteAddr), pr.secure(), tried)
		if next.ep == nil {
			// Every endpoint was tried: any of them again.
			next = b.choose(r, remoteIP(r.RemoteAddr), pr.secure(), nil)
		}
		if next.ep == nil {
			http.Error(w, "503 service unavailable: no ready endpoints", http.StatusServiceUnavailable)
			return outcome{status: http.StatusServiceUnavailable}
		}
		next.headers, next.timeouts = c.headers, c.timeouts
		p.log.Debug("attempt failed; retrying", "backend", b.name, "endpoint", c.ep.addr, "next", next.ep.addr, "status", rw.status)
		c = next
	}
}

// attempt runs one attempt; the abort of an exchange whose answer is
// dropped ends only the attempt.
func (p *Provider) attempt(rw *retryWriter, r *http.Request, pr *portRoutes, b *backend, c choice) (out outcome) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler || rw.state != dropped {
				panic(v)
			}
			out = outcome{status: rw.status, endpoint: c.ep.addr}
		}
	}()
	return p.forwardLoop(rw, r, pr, b, c)
}

// holdBody reads r's body to send it again: whole reports that it was
// read to its end within retryBodyMax. Otherwise r's body is set to what
// was read followed by the rest, to be sent once.
func (p *Provider) holdBody(w http.ResponseWriter, r *http.Request, maxBody int64) (body []byte, whole bool, err error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true, nil
	}
	limit := int64(retryBodyMax)
	if maxBody > 0 {
		limit = min(limit, maxBody)
	}
	if r.ContentLength > limit {
		return nil, false, nil
	}
	orig := r.Body
	watched := p.watchBody(w, r) // the client's body timeout applies
	size := r.ContentLength
	if size < 0 {
		size = 512
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := buf.ReadFrom(io.LimitReader(watched.Body, limit+1)); err != nil {
		return nil, false, err
	}
	if int64(buf.Len()) > limit {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf.Bytes()), orig), orig}
		return nil, false, nil
	}
	if r.ContentLength > 0 && int64(buf.Len()) != r.ContentLength {
		return nil, false, io.ErrUnexpectedEOF
	}
	return buf.Bytes(), true, nil
}

// replay is r with its held body to send once more.
func replay(r *http.Request, body []byte) *http.Request {
	if body == nil {
		return r
	}
	a := r.Clone(r.Context())
	a.Header = r.Header // changes to it are the same each time
	a.Body = io.NopCloser(bytes.NewReader(body))
	return a
}

// backOff waits the route's backoff before a retry; false when the
// client went away or the request timeout would pass first.
func (p *Provider) backOff(r *http.Request, rt *lbconfig.Retry, t *exchangeTimeouts) bool {
	wait := rt.Backoff.Std()
	if t != nil && !t.deadline.IsZero() && !time.Now().Add(wait).Before(t.deadline) {
		return false
	}
	if wait <= 0 {
		return r.Context().Err() == nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// retryWriter states.
const (
	undecided = iota
	through   // the answer goes to the client
	dropped   // the answer fails the attempt, which goes again
	held      // the proxy's answer to a failed exchange, held
)

// retryWriter takes the answer of one attempt (see the top of the file).
type retryWriter struct {
	w      http.ResponseWriter
	retry  *lbconfig.Retry
	header http.Header
	// last is set on an attempt that may not go again.
	last bool
	// failed is set by the proxy before it answers a failed exchange.
	failed bool
	// interim is set once an informational response went out.
	interim bool
	state   int
	status  int
	body    []byte
}

// noteFailed tells the retryWriter under w, if any, that the proxy is
// about to answer a failed exchange.
func noteFailed(w http.ResponseWriter) {
	for w != nil {
		if rw, ok := w.(*retryWriter); ok {
			rw.failed = true
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

func (rw *retryWriter) Header() http.Header {
	if rw.state == through {
		return rw.w.Header()
	}
	return rw.header
}

func (rw *retryWriter) WriteHeader(code int) {
	if rw.state != undecided {
		return
	}
	if code < 200 {
		// Bytes reach the client: no attempt may follow.
		rw.commit(code)
		clear(rw.w.Header())
		rw.state, rw.interim, rw.last = undecided, true, true
		return
	}
	rw.status = code
	switch {
	case rw.last:
		rw.commit(code)
	case rw.failed:
		rw.state = held
	case rw.retry.Retries(code):
		rw.state = dropped
	default:
		rw.commit(code)
	}
}

// commit passes the head on to the client.
func (rw *retryWriter) commit(code int) {
	dst := rw.w.Header()
	for k, v := range rw.header {
		dst[k] = v
	}
	clear(rw.header)
	rw.state = through
	rw.w.WriteHeader(code)
}

func (rw *retryWriter) Write(b []byte) (int, error) {
	if rw.state == undecided {
		rw.WriteHeader(http.StatusOK)
	}
	switch rw.state {
	case through:
		return rw.w.Write(b)
	case held:
		if len(rw.body)+len(b) <= heldMax {
			rw.body = append(rw.body, b...)
			return len(b), nil
		}
	}
	return 0, errAttemptDropped
}

func (rw *retryWriter) Flush() {
	if f, ok := rw.w.(http.Flusher); ok && rw.state == through {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (the
// client's body timeout).
func (rw *retryWriter) Unwrap() http.ResponseWriter { return rw.w }

// again reports whether the attempt failed and may go again: its answer
// was dropped, or it was the proxy's to a refused, reset or timed-out
// exchange.
func (rw *retryWriter) again() bool {
	switch rw.state {
	case dropped:
		return true
	case held:
		return rw.status == http.StatusBadGateway || rw.status == http.StatusGatewayTimeout
	}
	return false
}

// finish sends a held answer that does not go again.
func (rw *retryWriter) finish() {
	if rw.state != held {
		return
	}
	rw.commit(rw.status)
	rw.w.Write(rw.body)
}
