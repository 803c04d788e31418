package http1

import (
	"bufio"
	"net/http"
	"net/textproto"
	"strings"
)

// DeleteConnectionListed deletes the fields that a Connection field value
// names (RFC 9110, section 7.6.1).
func DeleteConnectionListed(h http.Header, v string) {
	for v != "" {
		var token string
		token, v, _ = strings.Cut(v, ",")
		token = textproto.TrimString(token)
		switch {
		case token == "",
			// Common tokens that name no field or one dropped anyway;
			// skipping them saves canonicalizing.
			strings.EqualFold(token, "keep-alive"),
			strings.EqualFold(token, "close"),
			strings.EqualFold(token, "upgrade"):
			continue
		}
		delete(h, textproto.CanonicalMIMEHeaderKey(token))
	}
}

// WriteField writes one field line. Names and values come from net/http's
// request parser or from the proxy, both of which allow no CR or LF.
func WriteField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// WriteSwitchHead sends the backend's 101 to the client: its fields less
// the hop-by-hop ones, then the Connection and Upgrade the switch needs.
func WriteSwitchHead(bw *bufio.Writer, h *HeadReader, requested, setCookie string) error {
	bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	if setCookie != "" {
		WriteField(bw, "Set-Cookie", setCookie)
	}
	upgrade := requested
	for i := range h.fields {
		f := &h.fields[i]
		k := textproto.CanonicalMIMEHeaderKey(string(h.raw[f.name.start:f.name.end]))
		v := string(h.raw[f.value.start:f.value.end])
		if k == "Upgrade" {
			upgrade = v
			continue
		}
		if f.kind != fieldOther || IsHopByHop(k) {
			continue
		}
		WriteField(bw, k, v)
	}
	bw.WriteString("Connection: Upgrade\r\n")
	WriteField(bw, "Upgrade", upgrade)
	bw.WriteString("\r\n")
	return bw.Flush()
}
