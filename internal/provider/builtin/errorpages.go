package builtin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ingress-controller/internal/provider/builtin/http1"
	"ingress-controller/pkg/lbconfig"
)

// Error pages and fallbacks (lbconfig.Route.ErrorPages and Fallback).
// Routes with either are served on net/http's path, where the response
// of the route's backend is looked at before anything of it is sent: a
// listed status closes that backend connection, unread (it is never
// pooled with bytes left), and the client gets the page of the error
// backend, fetched with a request of its own (fetchErrorPage), with the
// status the backend answered. A route's fallback is decided when the
// table is built: Apply builds a table for every change of endpoints.

// errorPages is a compiled lbconfig.ErrorPages.
type errorPages struct {
	backend *backend
	// statuses has bit s-400 set for each status s replaced.
	statuses [4]uint64
	source   lbconfig.ObjectRef
}

// fallback is a compiled Route.Fallback: the backend that serves the
// requests whose backend has no ready endpoint.
type fallback struct {
	backend *backend
	source  lbconfig.ObjectRef
}

// compileErrorPages gives cr its error pages and, when one of its
// backends has no ready endpoint, its fallback.
func (cr *route) compileErrorPages(rt *lbconfig.Route, lookup func(*lbconfig.BackendRef) (*backend, error)) error {
	if e := rt.ErrorPages; e != nil {
		b, err := lookup(&e.Backend)
		if err != nil {
			return err
		}
		if b.protocol != "" {
			return errors.New("errorPages.backend: error pages are fetched over HTTP/1.1 in the clear, not " + string(b.protocol))
		}
		ep := &errorPages{backend: b, source: rt.Source}
		for _, s := range e.Statuses {
			if s < 400 || s > 599 {
				return errors.New("errorPages.statuses: " + strconv.Itoa(int(s)) + " is not 400 to 599")
			}
			ep.statuses[(s-400)/64] |= 1 << ((s - 400) % 64)
		}
		cr.pages = ep
	}
	if rt.Fallback == nil {
		return nil
	}
	fb, err := lookup(rt.Fallback)
	if err != nil {
		return err
	}
	empty := len(cr.backend.endpoints) == 0
	if s := cr.split; s != nil {
		for _, b := range s.backends {
			empty = empty || len(b.endpoints) == 0
		}
	}
	if empty {
		cr.fallback = &fallback{backend: fb, source: rt.Source}
	}
	return nil
}

// handles reports whether status is replaced; nil replaces none.
func (e *errorPages) handles(status int) bool {
	if e == nil || status < 400 || status > 599 {
		return false
	}
	s := status - 400
	return e.statuses[s/64]&(1<<(s%64)) != 0
}

// pageRequest is what a request needs to ask for its error page: the
// route's pages, and what the request was before it was forwarded.
type pageRequest struct {
	pages *errorPages
	// uri is the target as routed: normalized, not rewritten.
	uri, accept, requestID string
	// host and remote are the client's Host and address.
	host, remote string
}

// newPageRequest records r as its route got it; it is called before
// any rewrite. A request that switches protocols gets no page.
func newPageRequest(e *errorPages, r *http.Request) *pageRequest {
	return &pageRequest{pages: e, uri: r.RequestURI, accept: r.Header.Get("Accept"), requestID: clientRequestID(r), host: r.Host, remote: r.RemoteAddr}
}

// clientRequestID is the client's X-Request-ID, or "".
func clientRequestID(r *http.Request) string {
	if v := r.Header.Get(lbconfig.FieldRequestID); v != "" && lbconfig.CheckHeaderValue(v) == nil {
		return v
	}
	return ""
}

// requestID is the client's X-Request-ID, else 32 random hexadecimal
// digits, as ingress-nginx's $req_id.
func requestID(r *http.Request) string {
	if v := clientRequestID(r); v != "" {
		return v
	}
	return randomRequestID()
}

func randomRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fallbackFor returns the backend to send r to: b, or the route's
// fallback when b has no ready endpoint, with r's header fields telling
// the fallback why (X-Code 503 and the ErrorFields).
func (cr *route) fallbackFor(r *http.Request, b *backend) (*backend, bool) {
	fb := cr.fallback
	if fb == nil || len(b.endpoints) > 0 {
		return b, false
	}
	h := r.Header
	h.Set(lbconfig.FieldCode, "503")
	h.Set(lbconfig.FieldFormat, h.Get("Accept"))
	h.Set(lbconfig.FieldRequestID, requestID(r))
	for _, name := range []string{lbconfig.FieldNamespace, lbconfig.FieldIngress, lbconfig.FieldService, lbconfig.FieldServicePort} {
		h.Del(name) // never the client's
	}
	lbconfig.ErrorFieldsOf(fb.source, b.name).Each(func(name, value string) { h.Set(name, value) })
	return fb.backend, true
}

// errorPage is a page fetched from an error backend, or ok false.
type errorPage struct {
	header http.Header
	body   []byte
	ok     bool
}

// errNoPageEndpoint is an error backend without a ready endpoint.
var errNoPageEndpoint = errors.New("the error backend has no ready endpoint")

// errPageTooLarge is a page over lbconfig.MaxErrorPageBytes.
var errPageTooLarge = errors.New("the error page is larger than " + strconv.Itoa(lbconfig.MaxErrorPageBytes) + " bytes")

// fetchErrorPage asks q's error backend for the page of status, which
// the backend called backend answered, trying other endpoints as its
// policy's retries allow when connecting fails.
func (p *Provider) fetchErrorPage(ctx context.Context, pr *portRoutes, q *pageRequest, backend string, status int) errorPage {
	eb := q.pages.backend
	req := pageRequestFor(ctx, q, backend, status)
	var tried []*endpoint
	c := eb.choose(req, remoteIP(q.remote), pr.secure(), nil)
	for c.ep != nil {
		page, err := p.fetchPageFrom(req, pr, eb, c.ep)
		if err == nil {
			return page
		}
		if _, dial := err.(dialError); !dial || ctx.Err() != nil {
			p.log.Warn("error page failed", "backend", eb.name, "endpoint", c.ep.addr, "status", status, "error", err)
			return errorPage{}
		}
		tried = append(tried, c.ep)
		if len(tried) > eb.policy.retries {
			break
		}
		c = eb.choose(req, remoteIP(q.remote), pr.secure(), tried)
	}
	p.log.Warn("error page failed", "backend", eb.name, "status", status, "error", errNoPageEndpoint)
	return errorPage{}
}

// pageRequestFor is the request for the page of status: GET / with the
// client's Host and the fields that say what failed, no body and
// nothing else of the client's.
func pageRequestFor(ctx context.Context, q *pageRequest, backend string, status int) *http.Request {
	h := http.Header{}
	h.Set(lbconfig.FieldCode, strconv.Itoa(status))
	if q.accept != "" {
		h.Set(lbconfig.FieldFormat, q.accept)
	}
	if lbconfig.CheckHeaderValue(q.uri) == nil {
		h.Set(lbconfig.FieldOriginalURI, q.uri)
	}
	if q.requestID != "" {
		h.Set(lbconfig.FieldRequestID, q.requestID)
	} else {
		h.Set(lbconfig.FieldRequestID, randomRequestID())
	}
	lbconfig.ErrorFieldsOf(q.pages.source, backend).Each(func(name, value string) { h.Set(name, value) })
	req := &http.Request{
		Method: http.MethodGet, URL: &url.URL{Path: "/"}, RequestURI: "/",
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: q.host, RemoteAddr: q.remote, Body: http.NoBody,
	}
	return req.WithContext(ctx)
}

// fetchPageFrom runs req on ep, on an idle connection of its pool or a
// new one, closed after the page: the page read in full; or a
// dialError, or why there is no page.
func (p *Provider) fetchPageFrom(req *http.Request, pr *portRoutes, eb *backend, ep *endpoint) (errorPage, error) {
	ctx := req.Context()
	sink := &interimSink{}
	x := exchange{p: p, w: sink, r: req, pr: pr, pol: eb.policy, host: req.Host}
	ep.pool.active.Add(1)
	defer ep.pool.active.Add(-1)
	bc, rh, err := p.exchangeOn(ctx, eb, ep, true, x.tryOn, func() bool { return ctx.Err() == nil })
	if err != nil {
		return errorPage{}, err
	}
	page := errorPage{header: http.Header{}}
	bc.head.Fill(page.header, &rh)
	delete(page.header, "Content-Length")
	body := http1.NewBody(bc.br, &rh, http.MethodGet, &bc.head, &p.bufs)
	for {
		if bc.br.Buffered() == 0 {
			bc.readWithin(time.Now(), eb.policy.idle)
		}
		var piece []byte
		piece, err = body.Next()
		if len(page.body)+len(piece) > lbconfig.MaxErrorPageBytes {
			err = errPageTooLarge
			break
		}
		page.body = append(page.body, piece...)
		if err != nil {
			break
		}
	}
	body.Release()
	// Never pooled: pages are rare, and bytes an error backend sent
	// after its page would be the next page's.
	x.stop()
	bc.close()
	if err != io.EOF {
		return errorPage{}, err
	}
	page.ok = true
	return page, nil
}

// interimSink takes the informational responses of a page request,
// which the client never gets.
type interimSink struct{ h http.Header }

func (s *interimSink) Header() http.Header {
	if s.h == nil {
		s.h = http.Header{}
	}
	return s.h
}
func (s *interimSink) Write(p []byte) (int, error) { return len(p), nil }
func (s *interimSink) WriteHeader(int)             {}

// answerWithPage answers the client with page, or the proxy's plain
// text when there is none, and the status the backend answered.
func answerWithPage(w http.ResponseWriter, page errorPage, status int) int64 {
	dst := w.Header()
	body := page.body
	if page.ok {
		for k, vs := range page.header {
			dst[k] = vs
		}
	} else {
		body = []byte(lbconfig.PlainErrorBody(status))
		dst.Set("Content-Type", "text/plain; charset=utf-8")
		dst.Set("X-Content-Type-Options", "nosniff")
	}
	dst.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	n, _ := w.Write(body)
	return int64(n)
}

// respondWithPage answers, instead of the response whose head x just
// read, with its error page: the backend connection is closed with the
// body unread.
func (p *Provider) respondWithPage(w http.ResponseWriter, x *exchange, rh http1.Head, b *backend, ep *endpoint) outcome {
	x.stop()
	x.bc.close()
	page := p.fetchErrorPage(x.r.Context(), x.pr, x.headers.pages, b.name, rh.Status)
	return outcome{status: rh.Status, bytes: answerWithPage(w, page, rh.Status), endpoint: ep.addr}
}

// replaceWithPage turns res, a response of another protocol's backend,
// into its error page; its body is closed unread, so that its
// connection is not reused.
func (p *Provider) replaceWithPage(res *http.Response, t *target) {
	_ = res.Body.Close()
	page := p.fetchErrorPage(res.Request.Context(), t.pr, t.headers.pages, t.backend, res.StatusCode)
	body := page.body
	res.Header = http.Header{}
	if page.ok {
		res.Header = page.header
	} else {
		body = []byte(lbconfig.PlainErrorBody(res.StatusCode))
		res.Header.Set("Content-Type", "text/plain; charset=utf-8")
		res.Header.Set("X-Content-Type-Options", "nosniff")
	}
	res.Trailer = nil
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	res.Body = io.NopCloser(strings.NewReader(string(body)))
}

// handles reports whether q replaces status; nil replaces none.
func (q *pageRequest) handles(status int) bool { return q != nil && q.pages.handles(status) }
