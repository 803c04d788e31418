package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// parsed is what the proxy makes of one backend response.
type parsed struct {
	status   int
	header   http.Header // less the trailers
	trailer  http.Header // by name without http.TrailerPrefix
	body     string
	reusable bool
}

// parseResponse reads raw as the backend's answer to a request with
// method, the way forward does, with buffers of the same size.
func parseResponse(raw []byte, method string) (parsed, error) {
	br := bufio.NewReaderSize(bytes.NewReader(raw), testConnBufferSize)
	var h HeadReader
	var got bool
	rh, err := ReadFinalHead(br, &h, false, false, &got, nil)
	if err != nil {
		return parsed{}, err
	}
	dst := http.Header{}
	h.Fill(dst, &rh)
	bufs := &sync.Pool{New: func() any { b := make([]byte, testCopyBufferSize); return &b }}
	body := NewBody(br, &rh, method, &h, bufs)
	defer body.Release()
	var out bytes.Buffer
	for {
		p, err := body.Next()
		out.Write(p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return parsed{}, err
		}
		if out.Len() > len(raw) {
			return parsed{}, errors.New("body longer than the input")
		}
	}
	if body.kind == bodyChunked {
		h.FillTrailers(dst)
	}
	res := parsed{status: rh.Status, header: http.Header{}, body: out.String(), reusable: rh.Reusable(&body, br)}
	for k, v := range dst {
		if t, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			if res.trailer == nil {
				res.trailer = http.Header{}
			}
			res.trailer[t] = v
		} else {
			res.header[k] = v
		}
	}
	return res, nil
}

func TestParseResponse(t *testing.T) {
	longValue := strings.Repeat("v", 6000) // longer than the read buffer
	var manyFields strings.Builder
	for manyFields.Len() < MaxHeadBytes {
		manyFields.WriteString("X-Filler: " + strings.Repeat("f", 100) + "\r\n")
	}
	tests := []struct {
		name   string
		method string // GET if empty
		raw    string
		// want, unless wantErr is set
		status   int
		header   map[string][]string // fields that must be there as given
		absent   []string            // fields that must not be there
		body     string
		trailer  map[string][]string
		reusable bool
		wantErr  string // part of the error message
	}{
		{name: "content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
			status: 200, header: map[string][]string{"Content-Length": {"5"}, "X-A": {"1"}}, body: "hello", reusable: true},
		{name: "empty body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200, reusable: true},
		{name: "no reason phrase", raw: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", status: 404, reusable: true},
		{name: "no reason phrase with space", raw: "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", status: 404, reusable: true},
		{name: "bare LF", raw: "HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nok",
			status: 200, header: map[string][]string{"X-A": {"b"}}, body: "ok", reusable: true},
		{name: "value whitespace trimmed, obs-text kept", raw: "HTTP/1.1 200 OK\r\nX-A: \t a \xe9 b \t\r\nContent-Length: 0\r\n\r\n",
			status: 200, header: map[string][]string{"X-A": {"a \xe9 b"}}, reusable: true},
		{name: "names canonicalized, repeated fields kept in order",
			raw:    "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nx-LOWER: y\r\nContent-Length: 0\r\n\r\n",
			status: 200, header: map[string][]string{"Set-Cookie": {"a=1", "b=2"}, "X-Lower": {"y"}}, reusable: true},
		{name: "hop-by-hop fields dropped",
			raw: "HTTP/1.1 200 OK\r\nConnection: X-Hop, keep-alive\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\n" +
				"Upgrade: foo\r\nTrailer: X-T\r\nTe: trailers\r\nProxy-Connection: keep-alive\r\nX-End: 1\r\nContent-Length: 0\r\n\r\n",
			status: 200, header: map[string][]string{"X-End": {"1"}},
			absent:   []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade", "Trailer", "Te", "Proxy-Connection"},
			reusable: true},
		{name: "identical Content-Length fields", raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
			status: 200, header: map[string][]string{"Content-Length": {"3"}}, body: "abc", reusable: true},
		{name: "long field line", raw: "HTTP/1.1 200 OK\r\nX-Long: " + longValue + "\r\nContent-Length: 0\r\n\r\n",
			status: 200, header: map[string][]string{"X-Long": {longValue}}, reusable: true},
		{name: "Connection: close", raw: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", absent: []string{"Connection"}},
		{name: "close-delimited", raw: "HTTP/1.1 200 OK\r\n\r\nuntil the end", status: 200, body: "until the end"},
		{name: "HTTP/1.0 close-delimited", raw: "HTTP/1.0 200 OK\r\n\r\nold", status: 200, body: "old"},
		{name: "HTTP/1.0 keep-alive", raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", reusable: true},
		{name: "HTTP/1.0 without keep-alive", raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "bytes after the response", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
			status: 200, body: "ok", reusable: false},
		{name: "HEAD keeps Content-Length, reads no body", method: "HEAD",
			raw: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", status: 200,
			header: map[string][]string{"Content-Length": {"1000"}}, reusable: true},
		{name: "204 has no body", raw: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, reusable: true},
		{name: "204 with a body length is not trusted", raw: "HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n", status: 204},
		{name: "304 has no body", raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", status: 304, reusable: true},
		{name: "100 Continue skipped", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", reusable: true},
		{name: "103 Early Hints skipped with its fields",
			raw:    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			status: 200, body: "ok", absent: []string{"Link"}, reusable: true},

		// Chunked.
		{name: "chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
			status: 200, body: "hello world", absent: []string{"Transfer-Encoding", "Content-Length"}, reusable: true},
		{name: "chunked, case and hex", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n00\r\n\r\n",
			status: 200, body: "0123456789", reusable: true},
		{name: "chunk extensions", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value;flag\r\nhello\r\n" +
			"1 ; q=\"a b\"\r\n!\r\n0;last\r\n\r\n", status: 200, body: "hello!", reusable: true},
		{name: "trailers", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n2\r\nok\r\n0\r\n" +
			"X-Checksum: abc\r\nx-other: 1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
			status: 200, body: "ok", absent: []string{"Trailer"},
			trailer: map[string][]string{"X-Checksum": {"abc"}, "X-Other": {"1"}}, reusable: true},
		{name: "chunked body cut off", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", wantErr: "unexpected EOF"},
		{name: "chunked without last chunk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", wantErr: "unexpected EOF"},
		{name: "chunked without final CRLF", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", wantErr: "unexpected EOF"},
		{name: "chunk data too long", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", wantErr: "not followed by CRLF"},
		{name: "chunk data LF only", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\n0\r\n\r\n", wantErr: "not followed by CRLF"},
		{name: "chunk size not hex", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\ng\r\n", wantErr: "chunk size"},
		{name: "chunk size empty", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", wantErr: "chunk size"},
		{name: "chunk size negative", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", wantErr: "chunk size"},
		{name: "chunk size 0x", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n", wantErr: "chunk size"},
		{name: "chunk size overflow", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", wantErr: "too large"},
		{name: "chunk size with junk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n", wantErr: "chunk size"},
		{name: "chunk extension with a control byte", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x00\r\nhello\r\n", wantErr: "control"},
		{name: "chunk size line too long", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + strings.Repeat("e", 5000) + "\r\nhello\r\n",
			wantErr: "too long"},
		{name: "folded trailer", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\r\n 2\r\n\r\n", wantErr: "folded"},

		// Refused framing.
		{name: "both Transfer-Encoding and Content-Length",
			raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", wantErr: "both"},
		{name: "conflicting Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", wantErr: "conflicting"},
		{name: "Content-Length list", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", wantErr: "Content-Length"},
		{name: "Content-Length signed", raw: "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", wantErr: "Content-Length"},
		{name: "Content-Length negative", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: "Content-Length"},
		{name: "Content-Length empty", raw: "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", wantErr: "Content-Length"},
		{name: "Content-Length hex", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello", wantErr: "Content-Length"},
		{name: "Content-Length huge", raw: "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n", wantErr: "Content-Length"},
		{name: "Transfer-Encoding gzip", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", wantErr: "Transfer-Encoding"},
		{name: "Transfer-Encoding twice", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			wantErr: "Transfer-Encoding"},
		{name: "Transfer-Encoding identity", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nx", wantErr: "Transfer-Encoding"},
		{name: "Transfer-Encoding in HTTP/1.0", raw: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", wantErr: "HTTP/1.0"},
		{name: "Body cut off", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", wantErr: "unexpected EOF"},

		// Refused heads.
		{name: "nothing at all", raw: "", wantErr: "before answering"},
		{name: "head cut off", raw: "HTTP/1.1 200 OK\r\nContent-Le", wantErr: "unexpected EOF"},
		{name: "head without end", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", wantErr: "unexpected EOF"},
		{name: "HTTP/2 status line", raw: "HTTP/2 200 OK\r\n\r\n", wantErr: "status line"},
		{name: "HTTP/1.2", raw: "HTTP/1.2 200 OK\r\n\r\n", wantErr: "version"},
		{name: "lower-case version", raw: "http/1.1 200 OK\r\n\r\n", wantErr: "status line"},
		{name: "ICY", raw: "ICY 200 OK\r\n\r\n", wantErr: "status line"},
		{name: "four-digit status", raw: "HTTP/1.1 2000 OK\r\n\r\n", wantErr: "status line"},
		{name: "two-digit status", raw: "HTTP/1.1 20 OK\r\n\r\n", wantErr: "status"},
		{name: "status below 100", raw: "HTTP/1.1 099 Odd\r\n\r\n", wantErr: "status code"},
		{name: "status not digits", raw: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: "status code"},
		{name: "two spaces before status", raw: "HTTP/1.1  200 OK\r\n\r\n", wantErr: "status"},
		{name: "control byte in reason", raw: "HTTP/1.1 200 O\x01K\r\n\r\n", wantErr: "reason"},
		{name: "bare CR in reason", raw: "HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n", wantErr: "reason"},
		{name: "101 unasked", raw: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", wantErr: "101"},
		{name: "too many 1xx", raw: strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", maxInterim+1) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
			wantErr: "informational"},
		{name: "obs-fold", raw: "HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n", wantErr: "folded"},
		{name: "obs-fold with tab", raw: "HTTP/1.1 200 OK\r\nX-A: 1\r\n\tcontinued\r\nContent-Length: 0\r\n\r\n", wantErr: "folded"},
		{name: "space before colon", raw: "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", wantErr: "field name"},
		{name: "space in name", raw: "HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n", wantErr: "field name"},
		{name: "no colon", raw: "HTTP/1.1 200 OK\r\nX-A\r\n\r\n", wantErr: "field line"},
		{name: "empty name", raw: "HTTP/1.1 200 OK\r\n: 1\r\n\r\n", wantErr: "field line"},
		{name: "NUL in value", raw: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n", wantErr: "invalid byte"},
		{name: "bare CR in value", raw: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n", wantErr: "invalid byte"},
		{name: "DEL in value", raw: "HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\nContent-Length: 0\r\n\r\n", wantErr: "invalid byte"},
		{name: "non-token in name", raw: "HTTP/1.1 200 OK\r\nX-A(b): 1\r\n\r\n", wantErr: "field name"},
		{name: "head over 64 KiB", raw: "HTTP/1.1 200 OK\r\n" + manyFields.String() + "Content-Length: 0\r\n\r\n", wantErr: "64 KiB"},
		{name: "one field over 64 KiB", raw: "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", MaxHeadBytes) + "\r\n\r\n", wantErr: "64 KiB"},
		{name: "trailers over 64 KiB", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + manyFields.String() + "\r\n",
			wantErr: "64 KiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			got, err := parseResponse([]byte(tc.raw), method)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one that says %q (parsed %+v)", err, tc.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if got.status != tc.status || got.body != tc.body || got.reusable != tc.reusable {
				t.Errorf("got status %d, body %q, reusable %v; want %d, %q, %v", got.status, got.body, got.reusable, tc.status, tc.body, tc.reusable)
			}
			for k, v := range tc.header {
				if g := got.header[k]; !equalStrings(g, v) {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
			for _, k := range tc.absent {
				if g, ok := got.header[k]; ok {
					t.Errorf("header %s = %q, want none", k, g)
				}
			}
			if len(got.trailer) != len(tc.trailer) {
				t.Errorf("trailers %v, want %v", got.trailer, tc.trailer)
			}
			for k, v := range tc.trailer {
				if g := got.trailer[k]; !equalStrings(g, v) {
					t.Errorf("trailer %s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestParseBigBody reads a body bigger than the read buffer, in both
// framings, through the direct-read path.
func TestParseBigBody(t *testing.T) {
	payload := strings.Repeat("0123456789abcdef", 10000)
	for name, raw := range map[string]string{
		"length":  "HTTP/1.1 200 OK\r\nContent-Length: 160000\r\n\r\n" + payload,
		"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1F400\r\n" + payload[:128000] + "\r\n7d00\r\n" + payload[128000:] + "\r\n0\r\n\r\n",
		"close":   "HTTP/1.1 200 OK\r\n\r\n" + payload,
	} {
		got, err := parseResponse([]byte(raw), "GET")
		if err != nil || got.body != payload {
			t.Errorf("%s: error %v, body of %d bytes, want %d", name, err, len(got.body), len(payload))
		}
	}
}

// TestParseResponseAllocations guards the allocation budget of a response
// head: one string for all values, one slice for them.
func TestParseResponseAllocations(t *testing.T) {
	raw := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n" +
		"X-Echo-Server: bench\r\nContent-Length: 5\r\n\r\nhello")
	rd := bytes.NewReader(raw)
	br := bufio.NewReaderSize(rd, testConnBufferSize)
	var h HeadReader
	dst := make(http.Header, 8)
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(raw)
		br.Reset(rd)
		clear(dst)
		var got bool
		rh, err := ReadFinalHead(br, &h, false, false, &got, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Fill(dst, &rh)
	})
	if allocs > 2 {
		t.Errorf("%v allocations per response head, want at most 2", allocs)
	}
}

// FuzzParseResponse feeds arbitrary backend answers to the parser: it must
// not panic, must end, must never produce more body than it was given and,
// where net/http's own parser reads the same bytes as a complete response,
// must agree with it on the status and the body, or refuse the response.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\n\r\nclose-delimited",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		got, err := parseResponse(raw, method)
		if err != nil {
			return
		}
		if len(got.body) > len(raw) {
			t.Fatalf("body of %d bytes from %d bytes of input", len(got.body), len(raw))
		}
		if got.status < 200 || got.status > 999 {
			t.Fatalf("final status %d", got.status)
		}
		// net/http returns interim responses; compare only final ones.
		req := &http.Request{Method: method}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), req)
		if err != nil || resp.StatusCode < 200 {
			return
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return
		}
		if resp.StatusCode != got.status || string(body) != got.body {
			t.Fatalf("net/http reads status %d body %q, the proxy %d %q", resp.StatusCode, body, got.status, got.body)
		}
		// The fields the proxy passes on are net/http's, less the ones
		// that describe the connection rather than the message.
		want := resp.Header.Clone()
		for _, v := range resp.Header["Connection"] {
			DeleteConnectionListed(want, v)
		}
		for k := range want {
			if IsHopByHop(k) {
				delete(want, k)
			}
		}
		if !equalHeaders(want, got.header) {
			t.Fatalf("net/http reads the fields %q, the proxy passes on %q", want, got.header)
		}
		wantTrailer := http.Header{}
		for k, v := range resp.Trailer {
			if !IsHopByHop(k) && k != "Host" {
				wantTrailer[k] = v
			}
		}
		if !equalHeaders(wantTrailer, got.trailer) {
			t.Fatalf("net/http reads the trailers %q, the proxy passes on %q", wantTrailer, got.trailer)
		}
	})
}

// The buffer sizes of the builtin proxy's backend connections and body
// copies, which the parser is tested with.
const (
	testConnBufferSize = 4 << 10
	testCopyBufferSize = 32 << 10
)

// equalHeaders compares two headers, an empty one equal to nil.
func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !equalStrings(v, b[k]) {
			return false
		}
	}
	return true
}
