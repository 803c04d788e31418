package http1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// writeRequest writes a request the way the proxy does: request line,
// Host, fields, framing, then the body in the given pieces (chunked when
// length < 0) and the trailer fields.
func writeRequest(method, target string, header http.Header, length int64, pieces []string, trailer http.Header) []byte {
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 64)
	WriteRequestLine(bw, method, target)
	WriteField(bw, "Host", "backend.test")
	for k, vs := range header {
		for _, v := range vs {
			WriteField(bw, k, v)
		}
	}
	WriteFraming(bw, method, length, trailer)
	bw.WriteString("\r\n")
	for _, p := range pieces {
		if length < 0 {
			if p != "" {
				WriteChunk(bw, []byte(p))
			}
		} else {
			bw.WriteString(p)
		}
	}
	if length < 0 {
		_ = WriteLastChunk(bw, trailer)
	}
	_ = bw.Flush()
	return out.Bytes()
}

func TestWriteRequest(t *testing.T) {
	raw := writeRequest("POST", "/upload?x=1", http.Header{"X-A": {"1", "2"}}, -1,
		[]string{"hel", "", "lo"}, http.Header{"X-Checksum": {"abc"}})
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || string(body) != "hello" {
		t.Fatalf("body %q, %v", body, err)
	}
	if r.Method != "POST" || r.RequestURI != "/upload?x=1" || !equalStrings(r.Header["X-A"], []string{"1", "2"}) ||
		r.Trailer.Get("X-Checksum") != "abc" {
		t.Errorf("net/http read %s %s, fields %q, trailers %q from %q", r.Method, r.RequestURI, r.Header, r.Trailer, raw)
	}
	if raw := writeRequest("PUT", "/", nil, 0, nil, nil); !bytes.Contains(raw, []byte("Content-Length: 0\r\n")) {
		t.Errorf("an empty PUT without Content-Length: %q", raw)
	}
	if raw := writeRequest("GET", "/", nil, 0, nil, nil); bytes.Contains(raw, []byte("Content-Length")) {
		t.Errorf("a GET with a Content-Length: %q", raw)
	}
}

// FuzzWriteRequest writes requests with arbitrary valid fields and body
// pieces and checks that net/http reads back exactly what was written:
// the framing never lets a body or a field bleed into the next request.
func FuzzWriteRequest(f *testing.F) {
	f.Add("X-A", "1", "body", "more", true, "X-T", "t")
	f.Add("Cookie", "a=b; c=d", "", "x", false, "", "")
	f.Add("X-Long", strings.Repeat("v", 5000), strings.Repeat("b", 70000), "", true, "X-T", "")
	f.Fuzz(func(t *testing.T, name, value, p1, p2 string, chunked bool, tname, tvalue string) {
		if !validName(name) || !validValue(value) || (tname != "" && (!validName(tname) || !validValue(tvalue))) {
			return // the proxy writes only fields that net/http's parser accepted
		}
		ck := http.CanonicalHeaderKey(name)
		switch ck {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection", "Expect":
			return // framing and connection fields are the proxy's own
		}
		header := http.Header{ck: {value}}
		length := int64(len(p1) + len(p2))
		var trailer http.Header
		if chunked {
			length = -1
			if tname != "" {
				tk := http.CanonicalHeaderKey(tname)
				switch tk {
				case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
					return
				}
				trailer = http.Header{tk: {tvalue}}
			}
		}
		raw := writeRequest("POST", "/p", header, length, []string{p1, p2}, trailer)
		raw = append(raw, "GET /next HTTP/1.1\r\nHost: backend.test\r\n\r\n"...)
		br := bufio.NewReader(bytes.NewReader(raw))
		r, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("net/http refuses %q: %v", raw, err)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil || string(body) != p1+p2 {
			t.Fatalf("body %q (%v), wrote %q", body, err, p1+p2)
		}
		if got := r.Header[ck]; !equalStrings(got, []string{strings.Trim(value, " \t")}) {
			t.Fatalf("field %s: read %q, wrote %q", ck, got, value)
		}
		for k, v := range trailer {
			if got := r.Trailer[k]; !equalStrings(got, []string{strings.Trim(v[0], " \t")}) {
				t.Fatalf("trailer %s: read %q, wrote %q", k, got, v)
			}
		}
		next, err := http.ReadRequest(br)
		if err != nil || next.URL.Path != "/next" {
			t.Fatalf("the request after it: %v", err)
		}
	})
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if !validValueByte(s[i]) || s[i] >= 0x80 {
			return false
		}
	}
	return true
}
