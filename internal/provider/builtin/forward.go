package builtin

import (
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// portHandler serves the requests of one listener port.
type portHandler struct {
	p    *Provider
	port int32
}

// outbound is everything a forwarded request needs beyond what net/http
// gives us, in one allocation.
type outbound struct {
	req http.Request
	url url.URL
	// values backs the X-Forwarded-For, X-Real-IP and X-Forwarded-Host
	// header values.
	values [3]string
}

// emptyValue is a header value that is never modified. Setting User-Agent
// to it stops http.Transport from adding its own.
var emptyValue = []string{""}

func (h *portHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// One load per request: the request finishes on this table even if
	// Apply swaps in another meanwhile.
	t := h.p.table.Load()
	var pr *portRoutes
	if t != nil {
		pr = t.ports[h.port]
	}
	if pr == nil {
		// The port was just removed; its listener is closing.
		w.Header().Set("Connection", "close")
		http.Error(w, "503 service unavailable: listener is closing", http.StatusServiceUnavailable)
		return
	}
	if r.Method == http.MethodConnect {
		http.Error(w, "405 method not allowed: CONNECT", http.StatusMethodNotAllowed)
		return
	}
	b := pr.backendFor(r.Host, r.URL.Path)
	if b == nil {
		http.Error(w, "404 not found: no route for this host and path", http.StatusNotFound)
		return
	}
	ep := b.pick()
	if ep == nil {
		http.Error(w, "503 service unavailable: no ready endpoints", http.StatusServiceUnavailable)
		return
	}
	if isUpgrade(r.Header) {
		// Upgrades (websockets) need a hijacked two-way copy: a later
		// issue. Refuse clearly rather than forward a broken handshake.
		http.Error(w, "501 not implemented: protocol upgrades (websockets) are not supported yet", http.StatusNotImplemented)
		return
	}
	h.p.forward(w, r, pr, b, ep)
}

// forward sends r to ep and streams the answer back to w. It reuses r.Header
// as the outgoing header map: net/http reads what it needs from it before
// the handler runs.
func (p *Provider) forward(w http.ResponseWriter, r *http.Request, pr *portRoutes, b *backend, ep *endpoint) {
	o := &outbound{}
	o.url.Scheme = "http"
	o.url.Host = ep.addr
	if uri := r.RequestURI; strings.HasPrefix(uri, "/") && !strings.HasPrefix(uri, "//") {
		// The request target exactly as the client sent it, and no
		// re-encoding or allocation in URL.RequestURI.
		o.url.Opaque = uri
	} else {
		o.url.Path = r.URL.Path
		o.url.RawPath = r.URL.RawPath
		o.url.RawQuery = r.URL.RawQuery
	}

	hdr := r.Header
	removeHopByHop(hdr)
	clientIP := remoteIP(r.RemoteAddr)
	if prior := hdr["X-Forwarded-For"]; len(prior) > 0 {
		o.values[0] = strings.Join(prior, ", ") + ", " + clientIP
	} else {
		o.values[0] = clientIP
	}
	o.values[1] = clientIP
	o.values[2] = r.Host
	hdr["X-Forwarded-For"] = o.values[0:1:1]
	hdr["X-Real-Ip"] = o.values[1:2:2]
	hdr["X-Forwarded-Host"] = o.values[2:3:3]
	hdr["X-Forwarded-Proto"] = pr.protoValue
	hdr["X-Forwarded-Port"] = pr.portValue
	if _, ok := hdr["User-Agent"]; !ok {
		hdr["User-Agent"] = emptyValue
	}

	// A shallow copy keeps the request's context, so a client that goes
	// away cancels the backend request.
	o.req = *r
	o.req.URL = &o.url
	o.req.RequestURI = ""
	o.req.Proto, o.req.ProtoMajor, o.req.ProtoMinor = "HTTP/1.1", 1, 1
	o.req.Close = false
	o.req.Header = hdr
	if r.ContentLength == 0 {
		o.req.Body = nil // lets the Transport retry on a stale connection
	}

	resp, err := p.transport.RoundTrip(&o.req)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away; nobody to answer
		}
		p.log.Warn("backend request failed", "backend", b.name, "endpoint", ep.addr, "error", err)
		http.Error(w, "502 bad gateway: backend unavailable", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()

	removeHopByHop(resp.Header)
	dst := w.Header()
	for k, vs := range resp.Header {
		dst[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	if err := p.copyBody(w, resp); err != nil {
		if r.Context().Err() == nil {
			p.log.Warn("backend response body failed", "backend", b.name, "endpoint", ep.addr, "error", err)
		}
		// The status line is out: the only way to tell the client the
		// body is incomplete is to abort the connection.
		panic(http.ErrAbortHandler)
	}
	if len(resp.Trailer) > 0 {
		for k, vs := range resp.Trailer {
			dst[http.TrailerPrefix+k] = vs
		}
	}
}

// copyBody streams the response body to the client through a pooled
// buffer. Bodies of unknown length (streams, server-sent events) are
// flushed as they come. It returns only read errors: if the client is gone
// there is nothing left to do.
func (p *Provider) copyBody(w http.ResponseWriter, resp *http.Response) error {
	bufp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bufp)
	buf := *bufp
	var flusher http.Flusher
	if resp.ContentLength == -1 {
		flusher, _ = w.(http.Flusher)
	}
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// removeHopByHop deletes the headers that describe one connection rather
// than the message (RFC 9110, section 7.6.1), including the ones the
// Connection header lists.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for v != "" {
			var token string
			token, v, _ = strings.Cut(v, ",")
			token = textproto.TrimString(token)
			switch {
			case token == "",
				// Common tokens that name no header or one deleted
				// below; skipping them saves canonicalizing.
				strings.EqualFold(token, "keep-alive"),
				strings.EqualFold(token, "close"),
				strings.EqualFold(token, "upgrade"):
				continue
			}
			delete(h, textproto.CanonicalMIMEHeaderKey(token))
		}
	}
	delete(h, "Connection")
	delete(h, "Keep-Alive")
	delete(h, "Proxy-Connection")
	delete(h, "Te")
	delete(h, "Trailer")
	delete(h, "Transfer-Encoding")
	delete(h, "Upgrade")
	delete(h, "Proxy-Authenticate")
	delete(h, "Proxy-Authorization")
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
