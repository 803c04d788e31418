package http1

import (
	"bufio"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The request side: the proxy decides which fields go to the backend;
// these write them, and the body's framing, in HTTP/1.1 syntax.

// WriteRequestLine writes "METHOD target HTTP/1.1". The target must be
// valid (the proxy checks the client's before routing).
func WriteRequestLine(bw *bufio.Writer, method, target string) {
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(target)
	bw.WriteString(" HTTP/1.1\r\n")
}

// WriteFraming writes the fields that frame a body of length n: a
// Content-Length for n >= 0, Transfer-Encoding: chunked (with a Trailer
// field that announces trailer, if any) for n < 0. A body of 0 bytes gets
// "Content-Length: 0" only when the method usually has a body, as
// net/http's Transport writes it.
func WriteFraming(bw *bufio.Writer, method string, n int64, trailer http.Header) {
	switch {
	case n > 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, 10))
		bw.WriteString("\r\n")
	case n < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		if len(trailer) > 0 {
			keys := make([]string, 0, len(trailer))
			for k := range trailer {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			WriteField(bw, "Trailer", strings.Join(keys, ","))
		}
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
}

// WriteChunk writes p as one chunk of a chunked body; p must not be empty
// (an empty chunk ends the body: see WriteLastChunk).
func WriteChunk(bw *bufio.Writer, p []byte) {
	bw.Write(strconv.AppendUint(bw.AvailableBuffer(), uint64(len(p)), 16))
	bw.WriteString("\r\n")
	bw.Write(p)
	bw.WriteString("\r\n")
}

// WriteLastChunk ends a chunked body with the trailer fields, if any.
func WriteLastChunk(bw *bufio.Writer, trailer http.Header) error {
	bw.WriteString("0\r\n")
	if len(trailer) > 0 {
		if err := trailer.Write(bw); err != nil {
			return err
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}
