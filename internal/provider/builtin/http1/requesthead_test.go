package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestParseRequestHead(t *testing.T) {
	const simple = "GET /a?b=c HTTP/1.1\r\nHost: x.test\r\nUser-Agent: t\r\n\r\n"
	for _, tc := range []struct {
		name, raw string
		want      ParseResult
	}{
		{"simple", simple, Parsed},
		{"pipelined", simple + "GET / HTTP/1.1\r\n", Parsed},
		{"every method of the subset", "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", Parsed},
		{"zero length body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", Parsed},
		{"close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n", Parsed},
		{"ipv6 host with port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", Parsed},
		{"no end yet", "GET / HTTP/1.1\r\nHost: x\r\n", Incomplete},
		{"half a line", "GET / HT", Incomplete},
		{"CR last", "GET / HTTP/1.1\r", Incomplete},
		{"empty", "", Incomplete},

		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", Declined},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Declined},
		{"unknown method", "PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", Declined},
		{"lower-case method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"absolute form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"authority-like path", "GET //x/y HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"fragment", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", Declined},
		{"bare LF in a field", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", Declined},
		{"bare CR", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", Declined},
		{"leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", Declined},
		{"no Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", Declined},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", Declined},
		{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", Declined},
		{"odd Host", "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", Declined},
		{"body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", Parsed},
		{"two lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", Declined},
		{"length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", Declined},
		{"signed length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", Declined},
		{"empty length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", Declined},
		{"huge length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n", Declined},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Declined},
		{"transfer-encoding in any case", "GET / HTTP/1.1\r\nHost: x\r\ntRANSFER-eNCODING: x\r\n\r\n", Declined},
		{"expect", "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n", Declined},
		{"upgrade", "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", Declined},
		{"h2c upgrade", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n", Declined},
		{"connection-listed field", "GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Secret\r\nX-Secret: 1\r\n\r\n", Declined},
		{"folded line", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", Declined},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", Declined},
		{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: y\r\n\r\n", Declined},
		{"no colon", "GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", Declined},
		{"control byte in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", Declined},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", Declined},
		{"obs-text in value", "GET / HTTP/1.1\r\nHost: x\r\nX: \xff\r\n\r\n", Declined},
		{"not HTTP yet", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Declined},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h RequestHead
			n, got := ParseRequestHead([]byte(tc.raw), &h)
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if got == Parsed && n != strings.Index(tc.raw, "\r\n\r\n")+4 {
				t.Errorf("length %d, want %d", n, strings.Index(tc.raw, "\r\n\r\n")+4)
			}
		})
	}
}

func TestParseRequestHeadFields(t *testing.T) {
	raw := "GET /p HTTP/1.1\r\nhost: x.test:80\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n" +
		"X-Real-IP: forged\r\nx-forwarded-proto: forged\r\nTE: trailers\r\nAccept:  */* \r\n\r\n"
	var h RequestHead
	if _, res := ParseRequestHead([]byte(raw), &h); res != Parsed {
		t.Fatalf("got %v", res)
	}
	if h.Method != "GET" || string(h.Target) != "/p" || string(h.Host) != "x.test:80" || !h.Close {
		t.Errorf("method %q target %q host %q close %v", h.Method, h.Target, h.Host, h.Close)
	}
	var got []string
	for _, f := range h.Fields {
		got = append(got, string(f.Name)+"="+string(f.Value)+"/"+[]string{"pass", "host", "xff", "drop"}[f.Kind])
	}
	want := []string{"host=x.test:80/host", "X-Forwarded-For=1.2.3.4/xff", "Connection=close/drop",
		"X-Real-IP=forged/drop", "x-forwarded-proto=forged/drop", "TE=trailers/drop", "Accept=*/*/pass"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fields\n got %v\nwant %v", got, want)
	}
}

func TestParseRequestHeadAllocations(t *testing.T) {
	raw := []byte("GET /api/v1/items?id=42 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: wrk\r\n" +
		"Accept: */*\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: keep-alive\r\n\r\n")
	var h RequestHead
	ParseRequestHead(raw, &h)
	allocs := testing.AllocsPerRun(100, func() {
		if _, res := ParseRequestHead(raw, &h); res != Parsed {
			t.Fatal(res)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request head, want 0", allocs)
	}
}

// FuzzParseRequestHead checks the parser against net/http's: whatever it
// accepts, net/http must read as the same request (method, target, Host,
// every field, the body's length); and it must never say more than it was given.
func FuzzParseRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a?b HTTP/1.1\r\nHost: x:1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HEAD /x HTTP/1.1\r\nhost: [::1]\r\nX-Forwarded-For: a, b\r\nA:\tb \r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var h RequestHead
		n, res := ParseRequestHead(raw, &h)
		if res != Parsed {
			return
		}
		if n > len(raw) || !bytes.HasSuffix(raw[:n], []byte("\r\n\r\n")) {
			t.Fatalf("length %d of %d bytes", n, len(raw))
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw[:n])))
		if err != nil {
			t.Fatalf("accepted %q, which net/http refuses: %v", raw[:n], err)
		}
		if req.Method != h.Method || req.RequestURI != string(h.Target) || req.Host != string(h.Host) {
			t.Fatalf("%q: net/http reads %s %s host %q, the parser %s %s host %q",
				raw[:n], req.Method, req.RequestURI, req.Host, h.Method, h.Target, h.Host)
		}
		if req.ContentLength != h.ContentLength || len(req.TransferEncoding) > 0 {
			t.Fatalf("%q: net/http reads a body of %d bytes, %v, the parser %d", raw[:n], req.ContentLength, req.TransferEncoding, h.ContentLength)
		}
		if req.Close != h.Close {
			t.Fatalf("%q: net/http close %v, parser %v", raw[:n], req.Close, h.Close)
		}
		count := map[string]int{}
		for _, fl := range h.Fields {
			if fl.Kind == FieldHost {
				continue
			}
			k := http.CanonicalHeaderKey(string(fl.Name))
			vs := req.Header[k]
			if count[k] >= len(vs) || vs[count[k]] != string(fl.Value) {
				t.Fatalf("%q: field %s=%q, net/http has %q", raw[:n], k, fl.Value, vs)
			}
			count[k]++
		}
	})
}

func TestWriteHead(t *testing.T) {
	for _, tc := range []struct {
		name, method, raw, want string
		closing                 bool
		server                  string
	}{
		{"length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nConnection: keep-alive\r\n\r\nhi",
			"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n", false, ""},
		{"chunked from a close-delimited body", "GET", "HTTP/1.0 200 Fine\r\nX-A: 1\r\n\r\nhi",
			"HTTP/1.1 200 Fine\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false, ""},
		{"hop-by-hop and Connection-listed fields dropped", "GET",
			"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nconnection: x-hop\r\nX-Hop: 1\r\nproxy-authenticate: x\r\nTrailer: T\r\nUpgrade: z\r\nX-End: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nX-End: 2\r\nTransfer-Encoding: chunked\r\n\r\n", false, ""},
		{"head keeps its length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", false, ""},
		{"204 has none", "GET", "HTTP/1.1 204 No Content\r\n\r\n",
			"HTTP/1.1 204 No Content\r\n\r\n", false, ""},
		{"no reason phrase", "GET", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
			"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", true, ""},
		{"a Server field added", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n",
			"HTTP/1.1 200 OK\r\nX-A: 1\r\nServer: lb\r\nContent-Length: 0\r\n\r\n", false, "lb"},
		{"the backend's Server kept, whatever its case", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nsErVeR: app\r\n\r\n",
			"HTTP/1.1 200 OK\r\nsErVeR: app\r\nContent-Length: 0\r\n\r\n", false, "lb"},
		{"a Connection-listed Server is the backend's hop: ours instead", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: server\r\nServer: app\r\n\r\n",
			"HTTP/1.1 200 OK\r\nServer: lb\r\nContent-Length: 0\r\n\r\n", false, "lb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.raw))
			var h HeadReader
			got := false
			rh, err := ReadFinalHead(br, &h, false, false, &got, nil)
			if err != nil {
				t.Fatal(err)
			}
			body := NewBody(br, &rh, tc.method, &h, nil)
			var out bytes.Buffer
			bw := bufio.NewWriter(&out)
			var server []byte
			if tc.server != "" {
				server = []byte("Server: " + tc.server + "\r\n")
			}
			h.WriteHead(bw, &rh, &body, tc.closing, server)
			bw.Flush()
			if out.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", out.String(), tc.want)
			}
			if _, err := http.ReadResponse(bufio.NewReader(&out), nil); err != nil {
				t.Errorf("net/http cannot read the head: %v", err)
			}
		})
	}
}

func TestWriteTrailers(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Sum: 1\r\nHost: evil\r\nConnection: close\r\nContent-Length: 9\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(raw))
	var h, trailers HeadReader
	got := false
	rh, err := ReadFinalHead(br, &h, false, false, &got, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := NewBody(br, &rh, "GET", &trailers, nil)
	for {
		if _, err := body.Next(); err != nil {
			break
		}
	}
	if !body.Done() {
		t.Fatal("body not done after io.EOF")
	}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	trailers.WriteTrailers(bw)
	bw.Flush()
	if want := "0\r\nX-Sum: 1\r\n\r\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestWriteError(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	WriteError(bw, 502, "502 bad gateway: backend unavailable", true)
	bw.Flush()
	resp, err := http.ReadResponse(bufio.NewReader(&out), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 502 || !resp.Close || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("got %d close %v %v", resp.StatusCode, resp.Close, resp.Header)
	}
	b := new(bytes.Buffer)
	b.ReadFrom(resp.Body)
	if b.String() != "502 bad gateway: backend unavailable\n" {
		t.Errorf("body %q", b)
	}
}
