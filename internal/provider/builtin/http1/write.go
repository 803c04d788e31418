package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
)

// The fast path's writers towards the client: the backend's response head
// as read, without going through an http.Header, and the proxy's own
// short answers.

// WriteHead writes the head last read (rh) to a client, for a body that b
// reads: the status line as the backend sent it in HTTP/1.1, its fields
// less the hop-by-hop, framing and Connection-listed ones, server (a
// whole "Server: ...\r\n" line, or nil) where they have no Server field,
// and the framing towards the client: the Content-Length, or chunked for
// a body of unknown length (re-chunked by the caller with WriteChunk and
// WriteLastChunk). closing adds "Connection: close".
func (h *HeadReader) WriteHead(bw *bufio.Writer, rh *Head, b *Body, closing bool, server []byte) {
	h.writeStatusLine(bw, rh)
	if !h.writeFields(bw, rh) {
		bw.Write(server)
	}
	switch b.kind {
	case bodyLength:
		writeLength(bw, rh.Length)
	case bodyChunked, bodyClose:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case bodyNone:
		// A response to HEAD, or a 304, says what the body would be.
		if rh.Length >= 0 && rh.Status != http.StatusNoContent && rh.Status >= 200 {
			writeLength(bw, rh.Length)
		}
	}
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
}

// WriteInterim writes an informational (1xx) head last read to a client.
func (h *HeadReader) WriteInterim(bw *bufio.Writer, rh *Head) {
	h.writeStatusLine(bw, rh)
	h.writeFields(bw, rh)
	bw.WriteString("\r\n")
}

// WriteTrailers ends a re-chunked body with the trailer fields last read
// into h, less those that must not be trailers.
func (h *HeadReader) WriteTrailers(bw *bufio.Writer) {
	bw.WriteString("0\r\n")
	for i := range h.fields {
		f := &h.fields[i]
		name := h.raw[f.name.start:f.name.end]
		if f.kind != fieldOther || isHopByHopName(name) || bytes.EqualFold(name, []byte("Host")) {
			continue
		}
		h.writeField(bw, f)
	}
	bw.WriteString("\r\n")
}

func (h *HeadReader) writeStatusLine(bw *bufio.Writer, rh *Head) {
	bw.WriteString("HTTP/1.1 ")
	line := h.raw[h.status.start:h.status.end]
	if len(line) > len("HTTP/1.1 200 ") {
		bw.Write(line[len("HTTP/1.1 "):])
	} else {
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(rh.Status), 10))
		bw.WriteByte(' ')
		bw.WriteString(http.StatusText(rh.Status))
	}
	bw.WriteString("\r\n")
}

// writeFields writes the end-to-end fields of the head, and reports
// whether a Server field was among them.
func (h *HeadReader) writeFields(bw *bufio.Writer, rh *Head) (server bool) {
	for i := range h.fields {
		f := &h.fields[i]
		if f.kind != fieldOther {
			continue // framing and Connection: the caller writes its own
		}
		name := h.raw[f.name.start:f.name.end]
		if isHopByHopName(name) || (rh.connection && h.connectionListed(name)) {
			continue
		}
		h.writeField(bw, f)
		server = server || bytes.EqualFold(name, serverName)
	}
	return server
}

var serverName = []byte("Server")

func (h *HeadReader) writeField(bw *bufio.Writer, f *field) {
	bw.Write(h.raw[f.name.start:f.name.end])
	bw.WriteString(": ")
	bw.Write(h.raw[f.value.start:f.value.end])
	bw.WriteString("\r\n")
}

// connectionListed reports whether a Connection field of the head names
// the field name.
func (h *HeadReader) connectionListed(name []byte) bool {
	for i := range h.fields {
		f := &h.fields[i]
		if f.kind != fieldConnection {
			continue
		}
		for v := h.raw[f.value.start:f.value.end]; len(v) > 0; {
			var token []byte
			token, v, _ = bytes.Cut(v, []byte{','})
			if bytes.EqualFold(bytes.Trim(token, " \t"), name) {
				return true
			}
		}
	}
	return false
}

// isHopByHopName is IsHopByHop for a name in any case.
func isHopByHopName(name []byte) bool {
	var canon [len("Proxy-Authorization")]byte
	if len(name) > len(canon) {
		return false
	}
	upper := true
	for i, c := range name {
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		canon[i] = c
		upper = c == '-'
	}
	return IsHopByHop(string(canon[:len(name)]))
}

func writeLength(bw *bufio.Writer, n int64) {
	bw.WriteString("Content-Length: ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, 10))
	bw.WriteString("\r\n")
}

// WriteError writes a short plain-text answer of the proxy's own, as
// http.Error words it: msg and a line end.
func WriteError(bw *bufio.Writer, status int, msg string, closing bool) {
	WriteErrorHead(bw, status, msg, closing)
	bw.WriteString(msg)
	bw.WriteByte('\n')
}

// WriteErrorHead writes the head of WriteError's answer alone, the answer
// to a HEAD request: a body after it would be read as the next response.
func WriteErrorHead(bw *bufio.Writer, status int, msg string, closing bool) {
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(status), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(status))
	bw.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n")
	writeLength(bw, int64(len(msg)+1))
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
}
