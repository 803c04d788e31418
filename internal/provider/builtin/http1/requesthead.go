package http1

import "bytes"

// The client side of the fast path: a parser for the request heads the
// proxy serves without net/http. It accepts a deliberately narrow, common
// subset of HTTP/1.1 (a known method, an origin-form target, HTTP/1.1,
// CRLF line ends, one Host, no body or one of a Content-Length) and
// declines everything else. The
// caller hands a declined request, with every byte of it, to net/http,
// which parses it anew and applies its own rules. So the subset can only
// be stricter than net/http, never looser: a request this parser accepts
// means the same to it as to net/http (a fuzz test checks that), and a
// request smuggling trick has nothing here to play on.

// ParseResult is what ParseRequestHead made of the bytes it was given.
type ParseResult uint8

const (
	// Parsed is a complete head in the subset; RequestHead holds it.
	Parsed ParseResult = iota
	// Incomplete is a head that may still be in the subset once more
	// bytes come.
	Incomplete
	// Declined is a head outside the subset (or not HTTP at all): the
	// fast path must not serve it.
	Declined
)

// FieldKind says what the proxy does with a request field.
type FieldKind uint8

const (
	// FieldPass goes to the backend as it came.
	FieldPass FieldKind = iota
	// FieldHost is the Host field.
	FieldHost
	// FieldForwardedFor is an X-Forwarded-For field, which the proxy
	// extends with the client's address.
	FieldForwardedFor
	// FieldDrop is a field the proxy does not send on: hop-by-hop ones,
	// the framing (redone for the backend) and the X-Forwarded-* and
	// X-Real-Ip fields the proxy sets itself.
	FieldDrop
)

// RequestField is one field line of a RequestHead.
type RequestField struct {
	Name, Value []byte
	Kind        FieldKind
}

// RequestHead is a request head in the fast path's subset, parsed in
// place: its slices point into the buffer given to ParseRequestHead and
// are valid as long as it is.
type RequestHead struct {
	// Method is one of the net/http method constants.
	Method string
	// Target is the origin-form request target ("/path?query").
	Target []byte
	Host   []byte
	// Close is set when the client asked to close the connection after
	// the response.
	Close bool
	// ContentLength is the length of the body that follows the head.
	ContentLength int64
	// Fields are all field lines in the order they came.
	Fields []RequestField
}

// Field returns the value of the first field named name, "" if none.
func (h *RequestHead) Field(name string) string {
	for i := range h.Fields {
		if f := &h.Fields[i]; len(f.Name) == len(name) && bytes.EqualFold(f.Name, []byte(name)) {
			return string(f.Value)
		}
	}
	return ""
}

// fastMethods are the methods of the subset, as net/http's constants: a
// request's method string costs no allocation.
var fastMethods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}

// ParseRequestHead parses the request head at the start of buf into h and
// returns its length in bytes with Parsed; Incomplete when buf ends
// before the head does and all of it is in the subset so far; Declined
// otherwise.
func ParseRequestHead(buf []byte, h *RequestHead) (int, ParseResult) {
	h.Method, h.Target, h.Host, h.Close, h.ContentLength = "", nil, nil, false, -1
	h.Fields = h.Fields[:0]
	line, rest, res := cutLine(buf)
	if res == Incomplete && !plausibleStart(buf) {
		return 0, Declined // not HTTP (TLS, say): no use waiting for more
	}
	if res != Parsed {
		return 0, res
	}
	if !h.parseRequestLine(line) {
		return 0, Declined
	}
	hosts := 0
	for {
		line, rest, res = cutLine(rest)
		if res != Parsed {
			return 0, res
		}
		if len(line) == 0 {
			break
		}
		f, ok := parseRequestField(line)
		if !ok {
			return 0, Declined
		}
		switch kind := requestFieldKind(f.Name); kind {
		case kindHost:
			hosts++
			f.Kind, h.Host = FieldHost, f.Value
		case kindForwardedFor:
			f.Kind = FieldForwardedFor
		case kindDrop:
			f.Kind = FieldDrop
		case kindContentLength:
			// One, of digits only: a list, a sign or a second field
			// goes to net/http.
			n, ok := parseContentLength(f.Value)
			if !ok || h.ContentLength >= 0 {
				return 0, Declined
			}
			h.ContentLength = n
			f.Kind = FieldDrop
		case kindConnection:
			if !h.connectionTokens(f.Value) {
				return 0, Declined
			}
			f.Kind = FieldDrop
		case kindDecline:
			return 0, Declined
		}
		h.Fields = append(h.Fields, f)
	}
	if hosts != 1 || !validHost(h.Host) {
		return 0, Declined
	}
	h.ContentLength = max(h.ContentLength, 0)
	return len(buf) - len(rest), Parsed
}

// cutLine cuts the first CRLF-ended line off buf. A bare LF or CR
// declines: net/http reads those its own way.
func cutLine(buf []byte) (line, rest []byte, res ParseResult) {
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		if bytes.IndexByte(buf, '\r') >= 0 && buf[len(buf)-1] != '\r' {
			return nil, nil, Declined
		}
		return nil, nil, Incomplete
	}
	if i == 0 || buf[i-1] != '\r' || bytes.IndexByte(buf[:i-1], '\r') >= 0 {
		return nil, nil, Declined
	}
	return buf[:i-1], buf[i+1:], Parsed
}

// parseRequestLine accepts "METHOD /target HTTP/1.1" with a method of the
// subset and a target whose bytes lbconfig.CheckRequestTarget allows.
func (h *RequestHead) parseRequestLine(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	for _, m := range fastMethods {
		if string(line[:sp]) == m {
			h.Method = m
			break
		}
	}
	if h.Method == "" {
		return false
	}
	line = line[sp+1:]
	const version = " HTTP/1.1"
	if !bytes.HasSuffix(line, []byte(version)) {
		return false
	}
	target := line[:len(line)-len(version)]
	// Origin form only; "//x" reads as an authority to some parsers.
	if len(target) == 0 || target[0] != '/' || (len(target) > 1 && target[1] == '/') {
		return false
	}
	inPath := true
	for i, c := range target {
		switch {
		case c <= ' ' || c >= 0x7f || c == '#':
			return false
		case c == '?':
			inPath = false
		case c == '%' && inPath:
			// net/http refuses a path with a broken escape.
			if i+2 >= len(target) || !isHexByte(target[i+1]) || !isHexByte(target[i+2]) {
				return false
			}
		}
	}
	h.Target = target
	return true
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// plausibleStart reports whether buf, the start of a request line not yet
// ended, may still become one of the subset: an upper-case method, then
// visible ASCII and spaces.
func plausibleStart(buf []byte) bool {
	for i, c := range buf {
		switch {
		case 'A' <= c && c <= 'Z':
		case i == 0:
			return false
		case c == ' ', c > ' ' && c < 0x7f:
		case c == '\r' && i == len(buf)-1:
		default:
			return false
		}
	}
	return true
}

// parseRequestField splits "Name: value" with the value's surrounding
// whitespace trimmed; no whitespace before the colon, no obsolete line
// folding.
func parseRequestField(line []byte) (RequestField, bool) {
	colon, vs, ve := splitField(line)
	if colon <= 0 || colon == len(line) {
		return RequestField{}, false
	}
	v := line[vs:ve]
	for _, c := range v {
		// Visible ASCII, SP and HTAB; obs-text goes to net/http.
		if c != '\t' && (c < ' ' || c >= 0x7f) {
			return RequestField{}, false
		}
	}
	return RequestField{Name: line[:colon], Value: v}, true
}

// connectionTokens accepts a Connection value of "keep-alive" and "close"
// tokens only (others name fields to drop: net/http's path does that) and
// notes a close.
func (h *RequestHead) connectionTokens(v []byte) bool {
	for len(v) > 0 {
		var token []byte
		token, v, _ = bytes.Cut(v, []byte{','})
		token = bytes.Trim(token, " \t")
		switch {
		case len(token) == 0, bytes.EqualFold(token, []byte("keep-alive")):
		case bytes.EqualFold(token, []byte("close")):
			h.Close = true
		default:
			return false
		}
	}
	return true
}

type requestKind uint8

const (
	kindPass requestKind = iota
	kindHost
	kindForwardedFor
	kindDrop
	kindContentLength
	kindConnection
	kindDecline
)

// requestKinds are the fields the proxy treats in a way of their own, by
// lower-case name; the other hop-by-hop ones (IsHopByHop) are dropped.
var requestKinds = map[string]requestKind{
	"host":              kindHost,
	"x-forwarded-for":   kindForwardedFor,
	"content-length":    kindContentLength,
	"connection":        kindConnection,
	"x-real-ip":         kindDrop,
	"x-forwarded-host":  kindDrop,
	"x-forwarded-port":  kindDrop,
	"x-forwarded-proto": kindDrop,
	// A body, a protocol switch or 100 Continue: net/http's path.
	"transfer-encoding": kindDecline,
	"expect":            kindDecline,
	"upgrade":           kindDecline,
	"http2-settings":    kindDecline,
}

// requestFieldKind sorts a field name without allocating.
func requestFieldKind(name []byte) requestKind {
	var lower [len("proxy-authorization")]byte
	if len(name) > len(lower) {
		return kindPass
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if k, ok := requestKinds[string(lower[:len(name)])]; ok {
		return k
	}
	if isHopByHopName(name) {
		return kindDrop
	}
	return kindPass
}

// validHost accepts the bytes of a host name, an IPv4 address or a
// bracketed IPv6 address, with an optional port: a subset of what
// net/http allows in Host.
func validHost(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	for _, c := range h {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}
