package providertest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// Faulty backends: a backend may be buggy (or hostile) and send more, less
// or other than one well-framed response. Whatever it sends, no byte of one
// exchange may reach another client, and the connection it came on must
// not carry the rest into the next exchange.

// forged is a complete response that a faulty backend sends where none was
// asked for. A client that gets it got bytes of another exchange.
const forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Forged: 1\r\n\r\nFORGED"

// fault is one way for a backend to answer badly.
type fault struct {
	name   string
	method string
	// answer is written in one write; late, if set, follows once the
	// proxy has had the answer for a moment, as a second write.
	answer, late string
	// broken: the client must not get a complete 200 (a 502, or a body
	// cut off, is right).
	broken bool
	// hangUp closes the connection right after the answer.
	hangUp bool
}

var faults = []fault{
	{name: "body on a response to HEAD", method: http.MethodHead,
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n" + "FORGED" + forged},
	{name: "body on a 204", method: http.MethodGet,
		answer: "HTTP/1.1 204 No Content\r\n\r\n" + forged},
	{name: "body on a 304", method: http.MethodGet,
		answer: "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n" + forged},
	{name: "Content-Length shorter than the body", method: http.MethodGet,
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + forged},
	{name: "bytes after a complete response", method: http.MethodGet,
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", late: forged},
	{name: "bytes after a response to HEAD", method: http.MethodHead,
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", late: forged},
	{name: "conflicting Content-Length fields", method: http.MethodGet,
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 48\r\n\r\nok" + forged, broken: true},
	// RFC 9112, section 6.3: an intermediary may refuse this (the builtin
	// answers 502) or drop Content-Length and read the chunks (HAProxy);
	// what it may not do is read the forged response from the rest.
	{name: "Content-Length and Transfer-Encoding", method: http.MethodGet,
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + forged},
	{name: "truncated chunked body", method: http.MethodGet,
		answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", broken: true, hangUp: true},
	{name: "close mid-response", method: http.MethodGet,
		answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", broken: true, hangUp: true},
}

// faultyBackend answers /fault/<i> with faults[i], and any other request
// with a well-framed 200 whose body names the request's X-Client and
// cookie.
type faultyBackend struct {
	endpoint lbconfig.Endpoint
	// wrote gets a value once a fault's bytes, late ones included, are
	// all written.
	wrote chan struct{}

	mu   sync.Mutex
	seen []string // X-Client of every good request received
}

func (l *lab) startFaultyBackend() *faultyBackend {
	l.t.Helper()
	fb := &faultyBackend{wrote: make(chan struct{}, 16)}
	fb.endpoint = nettest.ServeRaw(l.t, fb.serve)
	return fb
}

func (fb *faultyBackend) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		if i, ok := strings.CutPrefix(r.URL.Path, "/fault/"); ok {
			n, _ := strconv.Atoi(i)
			f := faults[n]
			_, _ = io.WriteString(c, f.answer)
			if f.late != "" {
				// The proxy has the response; the rest comes once it
				// may have put the connection back in its pool.
				time.Sleep(30 * time.Millisecond)
				_, _ = io.WriteString(c, f.late)
			}
			fb.wrote <- struct{}{}
			if f.hangUp {
				return
			}
			// Keep the connection open: a proxy that pooled it must find
			// out by itself that the bytes on it are no response.
			_, _ = io.Copy(io.Discard, br)
			return
		}
		client := r.Header.Get("X-Client")
		fb.mu.Lock()
		fb.seen = append(fb.seen, client)
		fb.mu.Unlock()
		cookie := ""
		if ck, err := r.Cookie("session"); err == nil {
			cookie = ck.Value
		}
		body := "client=" + client + " cookie=" + cookie
		resp := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nX-Client: " + client + "\r\n\r\n" + body
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
	}
}

func (fb *faultyBackend) received(client string) bool {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	for _, c := range fb.seen {
		if c == client {
			return true
		}
	}
	return false
}

// oneShotClient sends every request on a connection of its own, as
// separate clients would.
func oneShotClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DisableCompression: true},
		Timeout:   10 * time.Second,
	}
}

func (s *Suite) testFaultyBackends(t *testing.T) {
	l := s.start(t)
	fb := l.startFaultyBackend()
	ref := "test/faulty:80"
	port := l.freePort()
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: ref}),
		lbconfig.Backend{Name: ref, Endpoints: []lbconfig.Endpoint{fb.endpoint}}))
	base := "http://" + net.JoinHostPort(l.addr, strconv.Itoa(int(port)))
	c := oneShotClient()

	good := func(client string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/ok", nil)
		req.Header.Set("X-Client", client)
		req.AddCookie(&http.Cookie{Name: "session", Value: "secret-of-" + client})
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("client %s: %v", client, err)
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "client=" + client + " cookie=secret-of-" + client
		if err != nil || resp.StatusCode != http.StatusOK || string(body) != want {
			t.Errorf("client %s got another exchange's answer: %d %q (X-Forged %q), error %v; want 200 %q",
				client, resp.StatusCode, body, resp.Header.Get("X-Forged"), err, want)
		}
		if !fb.received(client) {
			t.Errorf("client %s: the backend never got its request", client)
		}
	}
	good("warm-up")
	l.eventually("the faulty backend to answer", func() (bool, string) {
		return fb.received("warm-up"), ""
	})

	for i, f := range faults {
		for round := range 5 {
			failed := t.Failed()
			req, _ := http.NewRequest(f.method, base+"/fault/"+strconv.Itoa(i), nil)
			resp, err := c.Do(req)
			if err == nil {
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				complete := rerr == nil && resp.StatusCode == http.StatusOK
				switch {
				case resp.Header.Get("X-Forged") != "" || strings.Contains(string(body), "FORGED") && f.method != http.MethodHead:
					t.Errorf("%s, round %d: the client got the forged bytes: %d %q", f.name, round, resp.StatusCode, body)
				case f.broken && complete:
					t.Errorf("%s, round %d: the client got a complete 200 %q from a broken response", f.name, round, body)
				}
			}
			select {
			case <-fb.wrote:
			case <-time.After(converge):
				t.Fatalf("%s: the backend never finished answering", f.name)
			}
			// Three clients after it, each on a connection of its own:
			// each gets its own answer, none the forged one.
			for n := range 3 {
				good(fmt.Sprintf("%d.%d.%d", i, round, n))
			}
			if !failed && t.Failed() {
				break // one round shows it; the others would time out alike
			}
		}
	}
}

// testInformational checks that 1xx informational responses (103 Early
// Hints) reach the client before the final response, with their fields.
func (s *Suite) testInformational(t *testing.T) {
	l := s.start(t)
	hints := nettest.ServeRaw(t, func(conn net.Conn) {
		br := bufio.NewReader(conn)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(conn, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	ref := "test/hints:80"
	port := l.freePort()
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: ref}),
		lbconfig.Backend{Name: ref, Endpoints: []lbconfig.Endpoint{hints}}))
	url := "http://" + net.JoinHostPort(l.addr, strconv.Itoa(int(port))) + "/"
	l.eventually("the backend to answer through the load balancer", func() (bool, string) {
		r := l.getURL(l.client, url, "")
		return r.status == http.StatusOK && r.body == "ok", r.String()
	})
	var mu sync.Mutex
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, strconv.Itoa(code)+" "+h.Get("Link"))
		return nil
	}}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), converge)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("final response: %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
	if len(got) != 1 || got[0] != "103 </style.css>; rel=preload" {
		t.Errorf("informational responses seen by the client: %q, want one 103 with its Link field", got)
	}
}

// testNoReplayOfUnsafeRequests checks that a request that may not be
// sent twice (a POST) reaches a backend that closes without answering
// once, not again on a retry: the backend may have acted on it. A GET may
// go again.
func (s *Suite) testNoReplayOfUnsafeRequests(t *testing.T) {
	l := s.start(t)
	var mu sync.Mutex
	seen := map[string]int{}
	hangUp := nettest.ServeRaw(t, func(conn net.Conn) {
		r, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/ready" {
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			return
		}
		mu.Lock()
		seen[r.Method]++
		mu.Unlock()
	})
	ref := "test/hangup:80"
	port := l.freePort()
	l.apply(config(oneLB(port, &lbconfig.BackendRef{Name: ref}),
		lbconfig.Backend{Name: ref, Endpoints: []lbconfig.Endpoint{hangUp}, Policy: lbconfig.Policy{Retries: 2}}))
	base := "http://" + net.JoinHostPort(l.addr, strconv.Itoa(int(port)))
	l.eventually("the backend to answer through the load balancer", func() (bool, string) {
		r := l.getURL(l.client, base+"/ready", "")
		return r.status == http.StatusOK, r.String()
	})
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		req, _ := http.NewRequest(method, base+"/"+method, strings.NewReader("order=1"))
		if method == http.MethodGet {
			req.Body, req.ContentLength = nil, 0
		}
		resp, err := l.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				t.Errorf("%s: got %d from a backend that never answers, want a 5xx", method, resp.StatusCode)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if seen[http.MethodPost] != 1 {
		t.Errorf("the backend got the POST %d times, want once", seen[http.MethodPost])
	}
	if seen[http.MethodGet] < 1 {
		t.Errorf("the backend never got the GET")
	}
}
