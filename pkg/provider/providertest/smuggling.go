package providertest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// anyBody, as the body a smuggling request must reach the backend with,
// stands for any body: the framing is faulty (RFC 9112, section 6.1), and
// what matters is only that nothing in it becomes a request.
const anyBody = "\x00any body"

// smuggleWait bounds how long the suite waits, on a raw connection, for
// the next response or for the load balancer to close it.
const smuggleWait = 5 * time.Second

// A smuggling request is one whose framing two parsers might read in
// different ways, so that bytes one of them takes for a body the other
// takes for the next request (RFC 9112, section 11.2). Each one is sent on
// a fresh connection with a plain "GET /second" pipelined behind it.
//
// The case asserts the safety property, not one answer: providers differ
// legitimately (HAProxy answers 400 where Go's net/http answers 501, and
// takes "Content-Length: 5, 5" as 5 where net/http refuses it; the builtin
// closes after every chunked HTTP/1.1 request, HAProxy only after one that
// also had Content-Length). What must hold for every provider:
//   - either the load balancer refuses the request itself (a 4xx or 5xx
//     that no backend sent) and closes the connection, having sent the
//     backend nothing complete;
//   - or the backend gets the request with exactly the body the client
//     framed (or a body that fails to read, when the client's framing
//     breaks after the head went out), and the client gets its answer;
//   - the backend never gets a request hidden in a body ("/smuggled"),
//     nor a body that is not the client's;
//   - where the RFC says the connection must close after the response
//     (Content-Length with Transfer-Encoding, Transfer-Encoding in
//     HTTP/1.0, broken framing), "GET /second" is never answered on that
//     connection and never reaches the backend.
func (s *Suite) testSmuggling(t *testing.T) {
	l := s.start(t)
	rec := l.startRecorder("rec", nil)
	port := l.freePort()
	l.apply(config(oneLB(port, rec.defaultTo()), rec.pool()))
	l.expect(at(port, "app.example", "/", want{status: http.StatusOK, backends: []string{rec.name}}))
	rec.take()

	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: app.example\r\n\r\n"
	chunk := func(data string) string { return strconv.FormatInt(int64(len(data)), 16) + "\r\n" + data + "\r\n" }
	post := "POST / HTTP/1.1\r\nHost: app.example\r\n"
	for _, tc := range []struct {
		name string
		req  string
		// body is what the backend must read as the body of "POST /"
		// if the load balancer forwards it complete, or anyBody.
		body string
		// mustClose: "GET /second" must never be served after it.
		mustClose bool
	}{
		// CL.TE: a receiver that honours Content-Length sees one request;
		// one that honours Transfer-Encoding (as RFC 9112 says) sees an
		// empty body and then /smuggled, which it must never serve: it
		// must close after responding, or refuse (section 6.1).
		{"Content-Length and chunked", post + "Content-Length: " + strconv.Itoa(len("0\r\n\r\n"+smuggled)) +
			"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, "", true},
		// TE.CL: Transfer-Encoding wins, the hidden request is body.
		{"chunked and Content-Length", post + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" +
			chunk(smuggled) + "0\r\n\r\n", smuggled, true},
		{"two different Content-Lengths", post + "Content-Length: 5\r\nContent-Length: " +
			strconv.Itoa(5+len(smuggled)) + "\r\n\r\nhello" + smuggled, "hello", true},
		// A list of equal values may be taken as one (RFC 9110, 8.6).
		{"Content-Length: 5, 5", post + "Content-Length: 5, 5\r\n\r\nhello", "hello", false},
		{"Content-Length: +5", post + "Content-Length: +5\r\n\r\nhello", "hello", true},
		{"chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n" + chunk(smuggled) + "0\r\n\r\n", smuggled, true},
		{"two chunked fields", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunk(smuggled) + "0\r\n\r\n", smuggled, true},
		{"xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n" + chunk(smuggled) + "0\r\n\r\n", "", true},
		{"xchunked and Content-Length", post + "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled, "hello", true},
		// Go's net/http drops Transfer-Encoding of HTTP/1.0 requests
		// before a handler sees it and reads the chunks as the next
		// request; RFC 9112 section 6.1 says close after such a message.
		// HAProxy forwards it chunked, in HTTP/1.0; the builtin cannot
		// see the field and sends no body.
		{"chunked in HTTP/1.0 keep-alive", "POST / HTTP/1.0\r\nHost: app.example\r\nConnection: keep-alive\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n" + chunk(smuggled) + "0\r\n\r\n", anyBody, true},
		{"chunked and Content-Length in HTTP/1.0", "POST / HTTP/1.0\r\nHost: app.example\r\nConnection: keep-alive\r\n" +
			"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunk(smuggled) + "0\r\n\r\n", anyBody, true},
		// Obsolete line folding: the folded line is part of X-A, not a
		// Transfer-Encoding field.
		{"obs-fold", post + "X-A: b\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", "hello", false},
		// Bare LF ends a line for both providers: a CRLF-only parser
		// would see no Transfer-Encoding field here.
		{"bare LF", "POST / HTTP/1.1\nHost: app.example\nX-A: b\nTransfer-Encoding: chunked\nContent-Length: " +
			strconv.Itoa(len(chunk(smuggled)+"0\r\n\r\n")) + "\n\n" + chunk(smuggled) + "0\r\n\r\n", smuggled, true},
		{"chunk size -1", post + "Transfer-Encoding: chunked\r\n\r\n-1\r\n" + smuggled + "\r\n0\r\n\r\n", "", true},
		{"chunk size 0x10", post + "Transfer-Encoding: chunked\r\n\r\n0x10\r\n0123456789abcdef\r\n0\r\n\r\n", "", true},
		{"chunk size overflow", post + "Transfer-Encoding: chunked\r\n\r\n1000000000000002d\r\n" + smuggled + "\r\n0\r\n\r\n", "", true},
		{"chunk extension with LF", post + "Transfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n", "", true},
		// A NUL in a chunk extension: both providers drop extensions.
		{"chunk extension with NUL", post + "Transfer-Encoding: chunked\r\n\r\n5;\x00\r\nhello\r\n0\r\n\r\n", "hello", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, closed, err := pipeline(l.addr, port, tc.req, "GET /second HTTP/1.1\r\nHost: app.example\r\n\r\n")
			// The backend may still be reading what the load balancer
			// sent when the client's side closes.
			time.Sleep(100 * time.Millisecond)
			reqs, raw := rec.take()
			report := func(format string, args ...any) {
				t.Helper()
				t.Errorf("%s: %s\nclient got: %s (closed: %v, error: %v)\nbackend read: %q",
					l.p.Name(), fmt.Sprintf(format, args...), got, closed, err, raw)
			}
			for _, r := range reqs {
				if r.path == "/smuggled" {
					report("the backend got the request hidden in the body")
				}
			}
			if len(got) == 0 {
				report("no response")
				return
			}
			first := got[0]
			if first.server == "" {
				// Refused by the load balancer: nothing complete went on.
				if first.status < 400 {
					report("the load balancer answered %d itself, want a refusal (4xx/5xx) or the backend's answer", first.status)
				}
				for _, r := range reqs {
					if r.bodyErr == nil {
						report("refused, yet the backend got %s %s complete", r.method, r.path)
					}
				}
				if len(got) > 1 || !closed {
					report("after the refusal the connection must close")
				}
				return
			}
			if first.status != http.StatusOK || len(reqs) == 0 || reqs[0].path != "/" {
				report("the backend's answer came without the backend getting POST /")
				return
			}
			if r := reqs[0]; r.bodyErr == nil && tc.body != anyBody && r.body != tc.body {
				report("the backend got body %q, want %q", r.body, tc.body)
			}
			switch {
			case len(got) == 1 && closed:
				// Answered, then closed: /second never served.
				if len(reqs) > 1 {
					report("/second reached the backend but was never answered")
				}
			case len(got) == 1:
				report("the connection stayed open without answering /second")
			case tc.mustClose:
				report("/second was answered on a connection that must close after the first response")
			case len(reqs) != 2 || reqs[1].path != "/second" || got[1].server != rec.name:
				report("the second answer is not the backend's answer to /second")
			}
		})
	}
}

// pipelined is one response read from a raw connection.
type pipelined struct {
	status int
	server string // X-Echo-Server, or "" for the load balancer's own
	header http.Header
}

func (p pipelined) String() string {
	if p.server == "" {
		return strconv.Itoa(p.status) + " from the load balancer"
	}
	return fmt.Sprintf("%d from backend %q", p.status, p.server)
}

// testUnreadBodies: a request the load balancer answers itself, without
// reading its body (no route: 404; refused by an access rule: 403; no
// endpoint: 503), never lets that body be read as the next request: a
// request hidden in it never reaches a backend.
func (s *Suite) testUnreadBodies(t *testing.T) {
	l := s.start(t)
	rec := l.startRecorder("rec", nil)
	port := l.freePort()
	guarded := route("/guarded", lbconfig.MatchPrefix, rec.ref)
	guarded.Access = &lbconfig.Access{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	l.apply(config(oneLB(port, nil, vhost("app.example",
		route("/", lbconfig.MatchPrefix, rec.ref), guarded, route("/empty", lbconfig.MatchPrefix, "empty"),
	)), rec.pool(), lbconfig.Backend{Name: "empty"}))
	l.expect(at(port, "app.example", "/", want{status: http.StatusOK, backends: []string{rec.name}}))
	rec.take()

	const hidden = "GET /smuggled HTTP/1.1\r\nHost: app.example\r\n\r\n"
	for _, tc := range []struct{ name, host, path string }{
		{"no route (404)", "other.example", "/"},
		{"refused (403)", "app.example", "/guarded"},
		{"no endpoint (503)", "app.example", "/empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := "POST " + tc.path + " HTTP/1.1\r\nHost: " + tc.host + "\r\nContent-Length: " + strconv.Itoa(len(hidden)) + "\r\n\r\n" + hidden
			got, closed, err := pipeline(l.addr, port, req)
			time.Sleep(100 * time.Millisecond)
			reqs, raw := rec.take()
			for _, r := range reqs {
				if r.path == "/smuggled" {
					t.Errorf("%s: the backend got the request hidden in the body of a request answered %v (closed: %v, error: %v)\nbackend read: %q",
						l.p.Name(), got, closed, err, raw)
				}
			}
			if len(got) == 0 || got[0].status < 400 || got[0].server != "" {
				t.Errorf("%s: got %v (error %v), want the load balancer's own 4xx or 5xx", l.p.Name(), got, err)
			}
		})
	}
}

// pipeline writes reqs back to back on one new connection to port and
// reads responses until there is one for each, the connection closes, one
// fails to parse, or smuggleWait passes without one. closed says the load balancer closed
// the connection; err is the read error that ended it otherwise.
func pipeline(addr string, port int32, reqs ...string) (got []pipelined, closed bool, err error) {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(int(port))), smuggleWait)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, strings.Join(reqs, "")); err != nil {
		return nil, false, err
	}
	br := bufio.NewReader(conn)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(smuggleWait))
		if _, err := br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return got, true, nil
			}
			return got, false, err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return got, false, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got = append(got, pipelined{status: resp.StatusCode, server: resp.Header.Get("X-Echo-Server"), header: resp.Header})
		if err != nil || len(got) == len(reqs) {
			return got, false, err
		}
	}
}

// isReset reports whether err is the peer resetting the connection, which
// a load balancer that closes with unread bytes does.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
