package builtin

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"ingress-controller/internal/provider/builtin/http1"
	"ingress-controller/pkg/lbconfig"
)

// Request mirrors (lbconfig.Route.Mirrors). A route with mirrors is
// served on net/http's path. Once the request is routed, checked and
// changed (access, authentication, rewrite, header changes), each mirror
// that draws it gets a copy, sent from a goroutine of its own over a
// transport of its own, so that its connections never mix with the
// route's and its failures reach no one: the answer is read (up to
// maxMirrorResponse) and thrown away. At most maxMirrorsInFlight copies
// are on their way at once; a copy that finds no room is dropped, as is
// one of a request whose body is over maxMirrorBody or of unknown length
// (a streaming client may wait for the answer before it sends more, so
// it is not read ahead). A body up to the bound is read before the
// request goes on, and given to the backend as it came.

const (
	// maxMirrorBody is the largest request body copied to mirrors.
	maxMirrorBody = 64 << 10
	// maxMirrorsInFlight bounds the copies on their way, per provider.
	maxMirrorsInFlight = 64
	// mirrorTimeout bounds one copy, connect to the end of its answer.
	mirrorTimeout = 10 * time.Second
	// maxMirrorResponse is as much of an answer as is read before the
	// connection is closed.
	maxMirrorResponse = 1 << 20
)

// routeMirror is a compiled lbconfig.Mirror.
type routeMirror struct {
	backend                *backend
	numerator, denominator int32
}

// compileMirrors compiles a route's mirrors.
func compileMirrors(ms []lbconfig.Mirror, lookup func(*lbconfig.BackendRef) (*backend, error)) ([]routeMirror, error) {
	var out []routeMirror
	for i, m := range ms {
		b, err := lookup(&lbconfig.BackendRef{Name: m.Name})
		if err != nil {
			return nil, fmt.Errorf("mirrors[%d]: %w", i, err)
		}
		if b.protocol != "" && b.protocol != lbconfig.BackendHTTPS {
			return nil, fmt.Errorf("mirrors[%d]: the builtin provider mirrors to HTTP and HTTPS backends, not %s", i, b.protocol)
		}
		if m.Denominator < 0 || m.Numerator < 0 {
			return nil, fmt.Errorf("mirrors[%d]: a negative share", i)
		}
		out = append(out, routeMirror{backend: b, numerator: m.Numerator, denominator: m.Denominator})
	}
	return out, nil
}

// draws reports whether this request gets a copy.
func (m *routeMirror) draws() bool {
	return m.denominator == 0 || rand.Int32N(m.denominator) < m.numerator
}

// mirrorSender sends the copies of one provider.
type mirrorSender struct {
	once   sync.Once
	client *http.Client
	slots  chan struct{}
	// ctx ends the copies in flight when the provider stops.
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sent    atomic.Uint64
	dropped atomic.Uint64
}

func (s *mirrorSender) init(p *Provider) {
	s.once.Do(func() {
		s.slots = make(chan struct{}, maxMirrorsInFlight)
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.client = &http.Client{
			Transport: &http.Transport{
				Proxy:               nil,
				DialContext:         p.dialer.DialContext,
				TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     idleTimeout,
				DisableCompression:  true,
			},
			// Redirects go back to the mirror's owner, not followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
}

// stop ends the copies in flight and waits for them.
func (s *mirrorSender) stop(p *Provider) {
	s.init(p) // for the happens-before of once, if no copy was ever sent
	s.cancel()
	s.wg.Wait()
	s.client.CloseIdleConnections()
}

// mirror sends copies of r, routed to rt on listener pr, to the mirrors
// that draw it. It returns before any copy is sent.
func (p *Provider) mirror(r *http.Request, rt *route, pr *portRoutes) {
	var drawn [lbconfig.MaxMirrors]*routeMirror
	n := 0
	for i := range rt.mirrors {
		if n < len(drawn) && rt.mirrors[i].draws() {
			drawn[n] = &rt.mirrors[i]
			n++
		}
	}
	if n == 0 {
		return
	}
	s := &p.mirrors
	s.init(p)
	body, ok := mirrorBody(r, rt.backend.policy.maxBody)
	if !ok {
		s.dropped.Add(uint64(n))
		return
	}
	head := mirrorHeader(r, pr)
	for _, m := range drawn[:n] {
		c := m.backend.choose(nil, remoteIP(r.RemoteAddr), false, nil)
		if c.ep == nil {
			s.dropped.Add(1)
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.dropped.Add(1)
			continue
		}
		scheme := "http://"
		if m.backend.protocol == lbconfig.BackendHTTPS {
			scheme = "https://"
		}
		s.wg.Add(1)
		go s.send(r.Method, scheme+c.ep.addr+r.RequestURI, r.Host, head, body, m.backend.name)
	}
}

// send sends one copy and throws its answer away.
func (s *mirrorSender) send(method, url, host string, h http.Header, body []byte, backend string) {
	defer s.wg.Done()
	defer func() { <-s.slots }()
	ctx, cancel := context.WithTimeout(s.ctx, mirrorTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		s.dropped.Add(1)
		return
	}
	req.Host, req.Header = host, h.Clone()
	resp, err := s.client.Do(req)
	if err != nil {
		s.dropped.Add(1)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxMirrorResponse))
	resp.Body.Close()
	s.sent.Add(1)
}

// mirrorBody returns a copy of r's body, nil for none, and leaves r's
// body to be read as it came; false means the request is not copied:
// its body is over maxMirrorBody, over the backend's limit max (which
// answers 413), or of unknown length.
func mirrorBody(r *http.Request, max int64) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true
	}
	if r.ContentLength < 0 || r.ContentLength > maxMirrorBody || (max > 0 && r.ContentLength > max) {
		return nil, false
	}
	buf := make([]byte, r.ContentLength)
	n, err := io.ReadFull(r.Body, buf)
	r.Body = readCloser{io.MultiReader(bytes.NewReader(buf[:n]), r.Body), r.Body}
	if err != nil {
		return nil, false // the backend's read fails the same way
	}
	return buf, true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// mirrorHeader returns the fields a copy carries: the request's as the
// backend gets them, less the hop-by-hop ones, with X-Forwarded-*.
func mirrorHeader(r *http.Request, pr *portRoutes) http.Header {
	h := r.Header.Clone()
	for _, v := range h["Connection"] {
		http1.DeleteConnectionListed(h, v)
	}
	for k := range h {
		if http1.IsHopByHop(k) {
			delete(h, k)
		}
	}
	client := remoteIP(r.RemoteAddr)
	if prior := h["X-Forwarded-For"]; len(prior) > 0 {
		client = joinFields(prior) + ", " + client
	}
	h["X-Forwarded-For"] = []string{client}
	h["X-Real-Ip"] = []string{remoteIP(r.RemoteAddr)}
	h["X-Forwarded-Host"] = []string{r.Host}
	h["X-Forwarded-Proto"] = pr.protoValue
	h["X-Forwarded-Port"] = pr.portValue
	return h
}

// joinFields joins field values with ", ".
func joinFields(vs []string) string {
	var b bytes.Buffer
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v)
	}
	return b.String()
}
