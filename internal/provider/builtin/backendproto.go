package builtin

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// Backends that speak something other than HTTP/1.1 in the clear: HTTPS
// (HTTP/1.1 or h2 by ALPN over TLS), H2C and GRPC (HTTP/2 in the clear,
// prior knowledge). These go through net/http's ReverseProxy with one
// shared transport per protocol, which keeps their connections pooled per
// endpoint and streams bodies and trailers as they come (gRPC needs
// both). The hand-written HTTP/1.1 path in forward.go stays for plain
// backends, where throughput matters most. The policies are the same on
// both paths: connect and response timeouts, the idle timeout of a
// response body, retries after a failed connect (here only for requests
// without a body, which the transport has not consumed), passive health,
// body limits, affinity, metrics and the access log.
//
// Backend certificates are not verified unless the backend's TLS asks
// (backendtls.go): in-cluster backends mostly have self-signed
// certificates, as ingress-nginx assumes by default.

// otherProtocols holds the reverse proxies, made on first use.
type otherProtocols struct {
	once  sync.Once
	https *httputil.ReverseProxy
	h2c   *httputil.ReverseProxy
}

// target is what Rewrite, the dialer and the timers need to know of a
// request's exchange.
type target struct {
	backend string
	ep      *endpoint
	pr      *portRoutes
	pol     *policy
	// headers changes the response head and may name the Host sent.
	headers responseHeaders
	// cancel ends the exchange with a cause: errResponseTimeout or
	// errIdleTimeout.
	cancel context.CancelCauseFunc

	// dialFailed is set when connecting to ep failed; the error handler
	// then leaves the answer to forwardLoop, with connectErr.
	dialFailed atomic.Bool
	connectErr error

	mu       sync.Mutex
	head     *time.Timer // the response timeout, from the request's end
	gotFirst bool
}

var (
	errResponseTimeout = errors.New("the backend sent no response head within the response timeout")
	errIdleTimeout     = errors.New("the response body stalled longer than the idle timeout")
)

// wroteRequest starts the response timeout once the request is sent, as
// on the HTTP/1.1 path.
func (t *target) wroteRequest(httptrace.WroteRequestInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.gotFirst && t.head == nil {
		t.head = time.AfterFunc(t.pol.responseHeader, func() { t.cancel(errResponseTimeout) })
	}
}

// gotFirstByte stops the response timeout.
func (t *target) gotFirstByte() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gotFirst = true
	if t.head != nil {
		t.head.Stop()
	}
}

// idleResponseBody ends the exchange when no byte of the response body came for
// the idle timeout.
type idleResponseBody struct {
	io.ReadCloser
	timer *time.Timer
	idle  time.Duration
}

func (b *idleResponseBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.ReadCloser.Read(p)
	b.timer.Reset(b.idle)
	return n, err
}

func (b *idleResponseBody) Close() error {
	b.timer.Stop()
	return b.ReadCloser.Close()
}

type targetKey struct{}

// dialTarget connects to a backend endpoint for net/http's transports,
// within the connect timeout of the request's target, and keeps its
// passive health as the HTTP/1.1 path does.
func (p *Provider) dialTarget(ctx context.Context, network, addr string) (net.Conn, error) {
	t, _ := ctx.Value(targetKey{}).(*target)
	timeout := dialTimeout
	if t != nil {
		timeout = t.pol.connect
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := p.dialer.DialContext(dctx, network, addr)
	if t != nil {
		switch {
		case err == nil:
			t.ep.pool.connected()
		case ctx.Err() == nil:
			t.dialFailed.Store(true)
			if d, ejected := t.ep.pool.connectFailed(t.pol.health, time.Now()); ejected {
				p.log.Warn("endpoint ejected after failed connects", "backend", t.backend, "endpoint", t.ep.addr, "for", d, "error", err)
			}
		}
	}
	return conn, err
}

func (o *otherProtocols) init(p *Provider) {
	o.once.Do(func() {
		dial := p.dialTarget
		httpsTransport := &http.Transport{
			Proxy:                 nil,
			DialContext:           dial,
			TLSClientConfig:       &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   maxIdlePerEndpoint,
			IdleConnTimeout:       idleTimeout,
			ExpectContinueTimeout: expectContinueTimeout,
			DisableCompression:    true,
		}
		// net/http's own HTTP/2, in the clear with prior knowledge.
		h2cTransport := &http.Transport{
			Proxy:              nil,
			DialContext:        dial,
			Protocols:          new(http.Protocols),
			DisableCompression: true,
			// Idle connections are checked with a ping after 30s
			// without a frame, as before with x/net's transport.
			HTTP2: &http.HTTP2Config{SendPingTimeout: 30 * time.Second},
		}
		h2cTransport.Protocols.SetUnencryptedHTTP2(true)
		o.https = p.reverseProxy("https", httpsTransport)
		o.h2c = p.reverseProxy("http", h2cTransport)
	})
}

func (p *Provider) reverseProxy(scheme string, rt http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport:     rt,
		FlushInterval: -1, // streams, gRPC and server-sent events as they come
		Rewrite: func(r *httputil.ProxyRequest) {
			t := r.In.Context().Value(targetKey{}).(*target)
			r.Out.URL.Scheme = scheme
			r.Out.URL.Host = t.ep.addr
			r.Out.Host = t.headers.upstreamHost(r.In)
			r.SetXForwarded()
			r.Out.Header.Set("X-Forwarded-Proto", t.pr.protoValue[0])
			r.Out.Header.Set("X-Forwarded-Port", t.pr.portValue[0])
			r.Out.Header.Set("X-Real-Ip", remoteIP(r.In.RemoteAddr))
		},
		ModifyResponse: func(res *http.Response) error {
			t := res.Request.Context().Value(targetKey{}).(*target)
			if res.StatusCode == http.StatusSwitchingProtocols {
				return nil // a tunnel: its body must stay an io.ReadWriteCloser
			}
			if t.headers.pages.handles(res.StatusCode) {
				p.replaceWithPage(res, t)
				return nil
			}
			t.headers.apply(res.Header, res.StatusCode)
			res.Body = &idleResponseBody{ReadCloser: res.Body, idle: t.pol.idle,
				timer: time.AfterFunc(t.pol.idle, func() { t.cancel(errIdleTimeout) })}
			return trailersOnlyToTrailers(res)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			t := r.Context().Value(targetKey{}).(*target)
			if clientBodyTimedOut(err) {
				// Before the context check: the failed read cancelled it.
				clientTimedOut(w)
				return
			}
			if t.dialFailed.Load() && r.Context().Err() == nil {
				t.connectErr = err
				return
			}
			cause := context.Cause(r.Context())
			if r.Context().Err() != nil && cause != errResponseTimeout && cause != errRouteTimeout {
				return // the client went away, or the body stalled: nobody to answer
			}
			status := http.StatusBadGateway
			if cause == errRouteTimeout {
				status, err = http.StatusGatewayTimeout, errRouteTimeout
			} else if cause == errResponseTimeout || errors.Is(err, context.DeadlineExceeded) {
				status = http.StatusGatewayTimeout
				err = errResponseTimeout
			}
			p.log.Warn("backend request failed", "backend", t.backend, "endpoint", t.ep.addr, "error", err)
			noteFailed(w) // retry.go
			http.Error(w, http.StatusText(status), status)
		},
		ErrorLog: nil,
	}
}

// grpcStatusFields are the fields of a gRPC status.
var grpcStatusFields = []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}

// trailersOnlyToTrailers moves the status of a gRPC "trailers-only"
// response (one HEADERS frame that ends the stream) into trailers: the
// proxy cannot promise to send its head and its end in one frame (it may
// flush the head first, for streams), and a gRPC client reads a status
// in a head that does not end the stream as no status at all.
func trailersOnlyToTrailers(res *http.Response) error {
	if res.Header.Get("Grpc-Status") == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/grpc") {
		return nil
	}
	if res.Trailer == nil {
		res.Trailer = http.Header{}
	}
	for _, k := range grpcStatusFields {
		if v, ok := res.Header[k]; ok {
			res.Trailer[k] = v
			delete(res.Header, k)
		}
	}
	return nil
}

// forwardOther sends r to c's endpoint through the reverse proxy for the
// backend's protocol. A failed connect is returned, unanswered, for
// forwardLoop to try elsewhere; any other outcome is answered here.
func (p *Provider) forwardOther(w http.ResponseWriter, r *http.Request, pr *portRoutes, b *backend, c choice) (outcome, error) {
	p.other.init(p)
	rp := p.other.h2c
	switch {
	case b.tls != nil:
		rp = b.tls.reverseProxy(p) // backendtls.go
	case b.protocol == lbconfig.BackendHTTPS:
		rp = p.other.https
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	t := &target{backend: b.name, ep: c.ep, pr: pr, pol: c.policyFor(b), cancel: cancel, headers: c.headers}
	defer t.gotFirstByte() // stops the response timer, whatever happened
	ctx = context.WithValue(ctx, targetKey{}, t)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: t.wroteRequest, GotFirstResponseByte: t.gotFirstByte})
	if c.setCookie != "" {
		w.Header().Add("Set-Cookie", c.setCookie)
	}
	c.ep.pool.active.Add(1)
	defer c.ep.pool.active.Add(-1)
	sw := &statusWriter{ResponseWriter: w}
	rp.ServeHTTP(sw, r.WithContext(ctx))
	if t.connectErr != nil {
		if c.setCookie != "" {
			h := w.Header()
			h["Set-Cookie"] = slices.DeleteFunc(h["Set-Cookie"], func(v string) bool { return v == c.setCookie })
		}
		return outcome{}, t.connectErr
	}
	return outcome{status: sw.status, bytes: sw.bytes, endpoint: c.ep.addr}, nil
}

// statusWriter records the status and size of a response it passes on.
// It keeps http.Flusher and, for ReverseProxy's upgrades, the
// ResponseController's access to the connection.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 || s.status < 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
