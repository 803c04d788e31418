package providertest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Client sends requests over one HTTP/2 connection written frame by
// frame, so that nothing checks or fills in its header fields on the
// way out: pseudo-fields and fields exactly as given, a Host beside an
// :authority that differs. One request at a time; a reset stream is an
// error, not an answer, and so is a connection closed before it.
type h2Client struct {
	fr   *http2.Framer
	next uint32 // the next stream's id
}

// startH2 writes the client preface and settings on conn, an HTTP/2
// connection (in the clear or after TLS's ALPN chose "h2").
func startH2(conn net.Conn) (*h2Client, error) {
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		return nil, err
	}
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		return nil, err
	}
	return &h2Client{fr: fr, next: 1}, nil
}

// do sends one request without a body, its header block fields in
// order, and reads its answer.
func (c *h2Client) do(fields ...[2]string) reply {
	id := c.next
	c.next += 2
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		return reply{err: err}
	}
	var r reply
	var body strings.Builder
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return reply{err: fmt.Errorf("h2: reading a frame: %w", err)}
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = c.fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = c.fr.WritePing(true, f.Data)
			}
		case *http2.GoAwayFrame:
			if f.ErrCode != http2.ErrCodeNo || f.LastStreamID < id {
				return reply{err: fmt.Errorf("h2: connection closed: GOAWAY %v", f.ErrCode)}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return reply{err: fmt.Errorf("h2: stream reset: %v", f.ErrCode)}
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				continue
			}
			if r.status == 0 {
				r.status, _ = strconv.Atoi(f.PseudoValue("status"))
				r.header = http.Header{}
				for _, hf := range f.RegularFields() {
					r.header.Add(hf.Name, hf.Value)
				}
				r.server = r.header.Get("X-Echo-Server")
			}
			if f.StreamEnded() {
				r.body = body.String()
				return r
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			body.Write(f.Data())
			if f.StreamEnded() {
				r.body = body.String()
				return r
			}
		}
	}
}
