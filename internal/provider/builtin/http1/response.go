// Package http1 is the builtin proxy's HTTP/1.1 wire code towards
// backends: a strict parser of response heads, bodies and trailers that
// reads from a connection's own buffer without copying, and the helpers
// that write request fields. It knows nothing of routing or policy; the
// proxy decides what to send and what to do with what comes back.
//
// The parser is strict on purpose: whatever it accepts is re-framed by
// net/http towards the client, and whatever it cannot frame unambiguously
// is refused, so that a backend can never make the proxy read one response
// as two, or two as one, and answer the next request with the rest of the
// previous one. Head.Reusable says whether a connection may take another
// request after a response; the caller must still check, before reusing it,
// that nothing arrived while it was idle.
package http1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
)

const (
	// MaxHeadBytes bounds the status line and header fields of one
	// response, and its trailer fields.
	MaxHeadBytes = 64 << 10
	// maxInterim bounds the informational (1xx) responses before the final
	// one, as net/http's Transport does.
	maxInterim = 5
	// keepHeadScratch is the largest head scratch buffer a pooled
	// connection keeps; a rare huge head does not pin 64 KiB per idle
	// connection.
	keepHeadScratch = 8 << 10
)

var (
	errHeadTooLarge   = errors.New("backend response head larger than 64 KiB")
	errTooManyInterim = errors.New("backend sent too many informational responses")
)

// BadResponseError is a response that breaks HTTP/1.1 framing rules.
type BadResponseError string

func (e BadResponseError) Error() string { return "malformed backend response: " + string(e) }

// NoResponseError is a connection that ended before the first byte of a
// response: the only failure after which a request may be sent again.
type NoResponseError struct{ Err error }

func (e NoResponseError) Error() string {
	return "backend closed the connection before answering: " + e.Err.Error()
}
func (e NoResponseError) Unwrap() error { return e.Err }

// Head is what the proxy needs to know about a response head beyond its
// header fields.
type Head struct {
	Status int
	Minor  int   // HTTP/1.minor
	Length int64 // Content-Length, or -1 if none
	// chunked is Transfer-Encoding: chunked.
	Chunked bool
	// close is set when the backend will not take another request on
	// this connection.
	Close bool
	// connection is set when the head has a Connection field, whose
	// tokens name more hop-by-hop fields.
	connection bool
}

// span is a part of HeadReader.raw.
type span struct{ start, end int }

// field is one header or trailer field line.
type field struct {
	name, value span
	kind        fieldKind
}

type fieldKind uint8

const (
	fieldOther fieldKind = iota
	fieldContentLength
	fieldTransferEncoding
	fieldConnection
)

// HeadReader reads and checks response heads and trailers. Its buffers are
// reused from response to response on the same backend connection.
type HeadReader struct {
	raw    []byte  // the lines read, without terminators
	status span    // the status line in raw
	fields []field // spans in raw
	// budget is what is left of MaxHeadBytes for the lines being read.
	budget int
}

// readLine reads one line and appends it to h.raw without its LF or CRLF.
func (h *HeadReader) readLine(br *bufio.Reader) (span, error) {
	start := len(h.raw)
	for {
		frag, err := br.ReadSlice('\n')
		h.budget -= len(frag)
		if h.budget < 0 {
			return span{}, errHeadTooLarge
		}
		h.raw = append(h.raw, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return span{}, err
		}
	}
	end := len(h.raw) - 1 // the LF
	if end > start && h.raw[end-1] == '\r' {
		end--
	}
	h.raw = h.raw[:end]
	return span{start, end}, nil
}

// read reads one response head from br. The caller has seen at least one
// byte in br.
func (h *HeadReader) read(br *bufio.Reader) (Head, error) {
	h.raw, h.fields, h.budget = h.raw[:0], h.fields[:0], MaxHeadBytes
	sl, err := h.readLine(br)
	if err != nil {
		return Head{}, err
	}
	h.status = sl
	rh, err := parseStatusLine(h.raw[sl.start:sl.end])
	if err != nil {
		return Head{}, err
	}
	if err := h.readFields(br); err != nil {
		return Head{}, err
	}
	return rh, h.frame(&rh)
}

// parseStatusLine parses "HTTP/1.x NNN reason". A missing reason is
// accepted (with or without its space), as every client does.
func parseStatusLine(line []byte) (Head, error) {
	rh := Head{Length: -1}
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return rh, BadResponseError(fmt.Sprintf("status line %q", truncate(line)))
	}
	switch line[7] {
	case '0':
		rh.Minor = 0
	case '1':
		rh.Minor = 1
	default:
		return rh, BadResponseError(fmt.Sprintf("version %q", line[:8]))
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return rh, BadResponseError(fmt.Sprintf("status code %q", line[9:12]))
		}
		rh.Status = rh.Status*10 + int(c-'0')
	}
	if rh.Status < 100 {
		return rh, BadResponseError(fmt.Sprintf("status code %d", rh.Status))
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return rh, BadResponseError(fmt.Sprintf("status line %q", truncate(line)))
		}
		for _, c := range line[13:] {
			if !validValueByte(c) {
				return rh, BadResponseError("control byte in reason phrase")
			}
		}
	}
	return rh, nil
}

// readFields reads field lines up to and including the empty line that
// ends them, into h.fields.
func (h *HeadReader) readFields(br *bufio.Reader) error {
	for {
		sl, err := h.readLine(br)
		if err != nil {
			return err
		}
		line := h.raw[sl.start:sl.end]
		if len(line) == 0 {
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// RFC 9112, section 5.2: obsolete line folding.
			return BadResponseError("folded header line")
		}
		colon, vs, ve := splitField(line)
		switch {
		case colon < 0:
			return BadResponseError(fmt.Sprintf("invalid byte %q in field name", line[vs]))
		case colon == 0 || colon == len(line):
			return BadResponseError(fmt.Sprintf("field line %q", truncate(line)))
		}
		for _, c := range line[vs:ve] {
			if !validValueByte(c) {
				return BadResponseError(fmt.Sprintf("invalid byte %q in field %q", c, line[:colon]))
			}
		}
		f := field{
			name:  span{sl.start, sl.start + colon},
			value: span{sl.start + vs, sl.start + ve},
		}
		f.kind = kindOf(line[:colon])
		h.fields = append(h.fields, f)
	}
}

// splitField splits a field line into a name of token bytes, its colon
// and the value less the whitespace around it: line[:colon] and
// line[vs:ve]. A line without a colon gets colon len(line); a name byte
// that is no token's gets colon -1, with vs its index.
func splitField(line []byte) (colon, vs, ve int) {
	colon = len(line)
	for i, c := range line {
		if c == ':' {
			colon = i
			break
		}
		if !isTokenByte(c) {
			return -1, i, i
		}
	}
	vs, ve = min(colon+1, len(line)), len(line)
	for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
		vs++
	}
	for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
		ve--
	}
	return colon, vs, ve
}

func kindOf(name []byte) fieldKind {
	switch len(name) {
	case len("Content-Length"):
		if strings.EqualFold(string(name), "Content-Length") {
			return fieldContentLength
		}
	case len("Transfer-Encoding"):
		if strings.EqualFold(string(name), "Transfer-Encoding") {
			return fieldTransferEncoding
		}
	case len("Connection"):
		if strings.EqualFold(string(name), "Connection") {
			return fieldConnection
		}
	}
	return fieldOther
}

// frame works out how the body of rh is delimited (RFC 9112, section 6)
// and whether the connection stays open, and refuses any ambiguity.
func (h *HeadReader) frame(rh *Head) error {
	rh.Close = rh.Minor == 0
	te := 0
	for i := range h.fields {
		f := &h.fields[i]
		v := h.raw[f.value.start:f.value.end]
		switch f.kind {
		case fieldContentLength:
			n, ok := parseContentLength(v)
			if !ok {
				return BadResponseError(fmt.Sprintf("Content-Length %q", truncate(v)))
			}
			if rh.Length >= 0 && n != rh.Length {
				return BadResponseError("conflicting Content-Length fields")
			}
			rh.Length = n
		case fieldTransferEncoding:
			te++
			if te > 1 || !strings.EqualFold(string(v), "chunked") {
				return BadResponseError(fmt.Sprintf("Transfer-Encoding %q (only a single chunked is supported)", truncate(v)))
			}
			rh.Chunked = true
		case fieldConnection:
			rh.connection = true
			for v := string(v); v != ""; {
				var token string
				token, v, _ = strings.Cut(v, ",")
				token = textproto.TrimString(token)
				switch {
				case strings.EqualFold(token, "close"):
					rh.Close = true
				case strings.EqualFold(token, "keep-alive") && rh.Minor == 0:
					rh.Close = false
				}
			}
		}
	}
	if rh.Chunked {
		if rh.Minor == 0 {
			return BadResponseError("Transfer-Encoding in an HTTP/1.0 response")
		}
		if rh.Length >= 0 {
			return BadResponseError("both Transfer-Encoding and Content-Length")
		}
	}
	return nil
}

// parseContentLength accepts 1*DIGIT and nothing else.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false // 18 digits cannot overflow an int64
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// InterimSink takes the informational (1xx) responses that come before
// the final one, other than 100 Continue and 101, to pass them on.
type InterimSink interface {
	Interim(rh Head, h *HeadReader)
}

// ReadFinalHead reads response heads up to the final one, handing
// informational ones to sink (if not nil); with stopAtContinue it returns a
// 100 Continue, and with upgrading a 101 Switching Protocols is final. It
// sets *got once a byte of a response was read, and until then reports
// failures as NoResponseError.
func ReadFinalHead(br *bufio.Reader, h *HeadReader, stopAtContinue, upgrading bool, got *bool, sink InterimSink) (Head, error) {
	for i := 0; ; i++ {
		if _, err := br.Peek(1); err != nil {
			if !*got {
				return Head{}, NoResponseError{err}
			}
			return Head{}, unexpected(err)
		}
		*got = true
		rh, err := h.read(br)
		switch {
		case err != nil:
			return rh, err
		case rh.Status >= 200:
			return rh, nil
		case rh.Status == http.StatusSwitchingProtocols && upgrading:
			return rh, nil
		case rh.Status == http.StatusSwitchingProtocols:
			return rh, BadResponseError("101 Switching Protocols to a request that did not ask for it")
		case rh.Status == http.StatusContinue && stopAtContinue:
			return rh, nil
		case i >= maxInterim:
			return rh, errTooManyInterim
		case rh.Status != http.StatusContinue && sink != nil:
			// 100 Continue is the client's server's to send, when
			// the body is read.
			sink.Interim(rh, h)
		}
	}
}

// reusable reports whether the connection can take another request once
// the body, delimited as kind, was read to its end: the backend keeps it
// open and sent nothing more than the response, whose framing left no
// doubt.
func (rh *Head) Reusable(b *Body, br *bufio.Reader) bool {
	kind := b.kind
	return !rh.Close && kind != bodyClose && br.Buffered() == 0 &&
		!(rh.Status == http.StatusNoContent && (rh.Length > 0 || rh.Chunked))
}

// hasBody reports whether a response to a request with the given method
// and this head has a body at all.
func (rh *Head) hasBody(method string) bool {
	return method != http.MethodHead && rh.Status >= 200 && rh.Status != http.StatusNoContent && rh.Status != http.StatusNotModified
}

// fill copies the header fields of the head last read into dst, less the
// hop-by-hop and framing ones. Field values share one string: one
// allocation for all of them, one for their slices, and one more per name
// that is not in canonical form already.
func (h *HeadReader) Fill(dst http.Header, rh *Head) {
	if len(h.fields) == 0 {
		return
	}
	first := h.fields[0].name.start
	s := string(h.raw[first:])
	vals := make([]string, len(h.fields))
	str := func(sp span) string { return s[sp.start-first : sp.end-first] }
	seenLength := false
	for i := range h.fields {
		f := &h.fields[i]
		switch f.kind {
		case fieldTransferEncoding, fieldConnection:
			continue
		case fieldContentLength:
			if seenLength {
				continue // identical to the first: frame checked
			}
			seenLength = true
		}
		k := textproto.CanonicalMIMEHeaderKey(str(f.name))
		if IsHopByHop(k) {
			continue
		}
		vals[i] = str(f.value)
		if old, ok := dst[k]; ok {
			dst[k] = append(old, vals[i])
		} else {
			dst[k] = vals[i : i+1 : i+1]
		}
	}
	if rh.connection {
		for i := range h.fields {
			if f := &h.fields[i]; f.kind == fieldConnection {
				DeleteConnectionListed(dst, str(f.value))
			}
		}
	}
}

// fillTrailers adds the trailer fields last read to dst under
// http.TrailerPrefix, less the ones that must not be trailers.
func (h *HeadReader) FillTrailers(dst http.Header) {
	for i := range h.fields {
		f := &h.fields[i]
		if f.kind != fieldOther {
			continue
		}
		k := textproto.CanonicalMIMEHeaderKey(string(h.raw[f.name.start:f.name.end]))
		if IsHopByHop(k) || k == "Host" {
			continue
		}
		k = http.TrailerPrefix + k
		dst[k] = append(dst[k], string(h.raw[f.value.start:f.value.end]))
	}
}

// release trims the scratch buffers before the connection goes idle.
func (h *HeadReader) Release() {
	if cap(h.raw) > keepHeadScratch {
		h.raw = nil
	}
	if cap(h.fields) > keepHeadScratch/16 {
		h.fields = nil
	}
}

// IsHopByHop reports whether the canonical field name k describes one
// connection rather than the message (RFC 9110, section 7.6.1), or the
// framing that the proxy redoes on each side.
func IsHopByHop(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization":
		return true
	}
	return false
}

// bodyKind is how a response body is delimited.
type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyLength
	bodyChunked
	bodyClose // until the backend closes the connection
)

type chunkState uint8

const (
	chunkSize chunkState = iota
	chunkData
	chunkEnd // the CRLF after chunk data
	chunkTrailers
	chunkDone
)

// Body reads one response body in pieces that point into the
// connection's read buffer where it can, so that small bodies are not
// copied on the way through.
type Body struct {
	br    *bufio.Reader
	kind  bodyKind
	left  int64 // of the body (bodyLength) or of the chunk (bodyChunked)
	state chunkState
	// trailers receives the trailer fields of a chunked body.
	trailers *HeadReader
	// bufs gives big reads a buffer of their own rather than the 4 KiB
	// of br. big is taken from it on first need.
	bufs *sync.Pool
	big  *[]byte
}

func NewBody(br *bufio.Reader, rh *Head, method string, trailers *HeadReader, bufs *sync.Pool) Body {
	b := Body{br: br, trailers: trailers, bufs: bufs}
	switch {
	case !rh.hasBody(method):
		b.kind = bodyNone
	case rh.Chunked:
		b.kind = bodyChunked
	case rh.Length >= 0:
		b.kind, b.left = bodyLength, rh.Length
	default:
		b.kind = bodyClose
	}
	return b
}

// next returns the next piece of the body, valid until the following call,
// or io.EOF after the last piece. Any other error means the body is broken
// off or malformed.
func (b *Body) Next() ([]byte, error) {
	switch b.kind {
	case bodyNone:
		return nil, io.EOF
	case bodyLength:
		if b.left == 0 {
			return nil, io.EOF
		}
		p, err := b.piece(b.left)
		b.left -= int64(len(p))
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if len(p) > 0 {
			return p, nil // report err on the next call
		}
		return nil, err
	case bodyClose:
		p, err := b.piece(math.MaxInt64)
		if len(p) > 0 {
			return p, nil
		}
		return nil, err
	}
	for {
		switch b.state {
		case chunkSize:
			line, err := b.br.ReadSlice('\n')
			if err != nil {
				if err == bufio.ErrBufferFull {
					return nil, BadResponseError("chunk size line too long")
				}
				return nil, unexpected(err)
			}
			n, err := parseChunkSize(line)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				b.state = chunkTrailers
				continue
			}
			b.left, b.state = n, chunkData
		case chunkData:
			p, err := b.piece(b.left)
			b.left -= int64(len(p))
			if b.left == 0 {
				b.state = chunkEnd
			}
			if len(p) > 0 {
				return p, nil
			}
			return nil, unexpected(err)
		case chunkEnd:
			crlf, err := b.br.Peek(2)
			if err != nil {
				return nil, unexpected(err)
			}
			if crlf[0] != '\r' || crlf[1] != '\n' {
				return nil, BadResponseError("chunk data not followed by CRLF")
			}
			_, _ = b.br.Discard(2)
			b.state = chunkSize
		case chunkTrailers:
			t := b.trailers
			t.raw, t.fields, t.budget = t.raw[:0], t.fields[:0], MaxHeadBytes
			if err := t.readFields(b.br); err != nil {
				return nil, err
			}
			b.state = chunkDone
		case chunkDone:
			return nil, io.EOF
		}
	}
}

func unexpected(err error) error {
	if err == io.EOF || err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}

// piece returns up to max bytes: what br holds already, or else one read.
func (b *Body) piece(max int64) ([]byte, error) {
	if n := b.br.Buffered(); n > 0 {
		if int64(n) > max {
			n = int(max)
		}
		p, _ := b.br.Peek(n)
		_, _ = b.br.Discard(n)
		return p, nil
	}
	if b.bufs != nil && max >= int64(b.br.Size()) {
		// Big: read straight into a buffer of our own, which bufio
		// does when its own is empty and ours is as big.
		if b.big == nil {
			b.big = b.bufs.Get().(*[]byte)
		}
		buf := *b.big
		if int64(len(buf)) > max {
			buf = buf[:max]
		}
		n, err := b.br.Read(buf)
		return buf[:n], err
	}
	if _, err := b.br.Peek(1); err != nil {
		return nil, err
	}
	return b.piece(max)
}

// Chunked reports whether the body is chunked (and may have trailers).
func (b *Body) Chunked() bool { return b.kind == bodyChunked }

// Streams reports whether the body comes in pieces of unknown number
// (chunked, or until the connection closes), which the proxy passes on as
// they come.
func (b *Body) Streams() bool { return b.kind == bodyChunked || b.kind == bodyClose }

// Done reports whether the body was read to its end: Next returns io.EOF
// without reading.
func (b *Body) Done() bool {
	switch b.kind {
	case bodyNone:
		return true
	case bodyLength:
		return b.left == 0
	case bodyChunked:
		return b.state == chunkDone
	}
	return false
}

// Release returns the big buffer, if any.
func (b *Body) Release() {
	if b.big != nil {
		b.bufs.Put(b.big)
		b.big = nil
	}
}

// parseChunkSize parses a chunk size line (RFC 9112, section 7.1): hex
// digits, then optional chunk extensions, which are checked for stray
// bytes and ignored.
func parseChunkSize(line []byte) (int64, error) {
	line = line[:len(line)-1] // the LF
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	var n int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto ext
		}
		if n > math.MaxInt64>>4 {
			return 0, BadResponseError("chunk size too large")
		}
		n = n<<4 | int64(d)
	}
ext:
	if i == 0 {
		return 0, BadResponseError(fmt.Sprintf("chunk size %q", truncate(line)))
	}
	rest := line[i:]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	if len(rest) > 0 {
		if rest[0] != ';' {
			return 0, BadResponseError(fmt.Sprintf("chunk size %q", truncate(line)))
		}
		for _, c := range rest {
			if !validValueByte(c) {
				return 0, BadResponseError("control byte in chunk extension")
			}
		}
	}
	return n, nil
}

// isTokenByte reports whether c may appear in a field name (RFC 9110,
// section 5.6.2).
func isTokenByte(c byte) bool {
	return tokenTable[c]
}

var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validValueByte reports whether c may appear in a field value: HTAB, SP,
// visible ASCII and obs-text (RFC 9110, section 5.5).
func validValueByte(c byte) bool {
	return c == '\t' || (c >= ' ' && c != 0x7f)
}

// truncate shortens what goes into an error message.
func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
