package builtin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// echoedHeaders parses the header lines an echo backend returns for
// "X-Echo-Headers: 1".
func echoedHeaders(body string) map[string][]string {
	h := map[string][]string{}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		h[k] = append(h[k], v)
	}
	return h
}

func TestForwardedHeaders(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("echo", nettest.EchoEndpoint(t, "echo"))}, &lbconfig.BackendRef{Name: "echo"}))
	c := testClient(t)
	hostHeader := "App.Example.com:" + strconv.Itoa(int(port))

	a := get(t, c, port, hostHeader, "/h", "X-Echo-Headers", "1",
		"X-Forwarded-Proto", "https", "X-Forwarded-Port", "1", "X-Forwarded-Host", "evil.test", "X-Real-IP", "203.0.113.9")
	got := echoedHeaders(a.body)
	want := map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  hostHeader,
		"X-Forwarded-Port":  strconv.Itoa(int(port)),
		"X-Real-Ip":         "127.0.0.1",
	}
	for k, v := range want {
		if len(got[k]) != 1 || got[k][0] != v {
			t.Errorf("backend saw %s: %q, want %q", k, got[k], v)
		}
	}
	if h := a.header.Get("X-Echo-Host"); h != hostHeader {
		t.Errorf("backend saw Host %q, want %q", h, hostHeader)
	}
	if ua := got["User-Agent"]; len(ua) != 1 || !strings.HasPrefix(ua[0], "Go-http-client") {
		t.Errorf("backend saw User-Agent %q, want the client's", ua)
	}

	// X-Forwarded-For is appended to, over several header lines too.
	a = get(t, c, port, "x.test", "/h", "X-Echo-Headers", "1", "X-Forwarded-For", "203.0.113.7, 198.51.100.1", "X-Forwarded-For", "192.0.2.1")
	if xff := echoedHeaders(a.body)["X-Forwarded-For"]; len(xff) != 1 || xff[0] != "203.0.113.7, 198.51.100.1, 192.0.2.1, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", xff)
	}

	// A client without User-Agent does not get the Go transport's.
	a = get(t, c, port, "x.test", "/h", "X-Echo-Headers", "1", "User-Agent", "")
	if ua, ok := echoedHeaders(a.body)["User-Agent"]; ok {
		t.Errorf("backend saw User-Agent %q, want none", ua)
	}
}

func TestHopByHopHeaders(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	hopResponse := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Connection", "X-Resp-Hop, keep-alive")
		h.Set("X-Resp-Hop", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("Upgrade", "foo")
		h.Set("X-End-To-End", "1")
		_, _ = io.WriteString(w, "ok")
	}))
	mustApply(t, p, oneListener(port, []lbconfig.Backend{
		backendOf("echo", nettest.EchoEndpoint(t, "echo")),
		backendOf("hop", hopResponse),
	}, &lbconfig.BackendRef{Name: "echo"}, vh("", prefix("/hop", "hop"))))
	c := testClient(t)

	a := get(t, c, port, "x.test", "/", "X-Echo-Headers", "1",
		"Connection", "X-Custom-Hop, x-other-hop",
		"X-Custom-Hop", "1",
		"X-Other-Hop", "1",
		"Keep-Alive", "timeout=5",
		"Proxy-Connection", "keep-alive",
		"Proxy-Authorization", "Basic Zm9vOmJhcg==",
		"Te", "trailers",
		"Trailer", "X-Foo",
		"X-End-To-End", "1",
	)
	got := echoedHeaders(a.body)
	for _, k := range []string{"Connection", "X-Custom-Hop", "X-Other-Hop", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Trailer", "Upgrade"} {
		if v, ok := got[k]; ok {
			t.Errorf("backend saw hop-by-hop request header %s: %q", k, v)
		}
	}
	if got["X-End-To-End"] == nil {
		t.Errorf("backend did not see X-End-To-End; saw %v", got)
	}

	a = get(t, c, port, "x.test", "/hop")
	if a.status != http.StatusOK || a.body != "ok" {
		t.Fatalf("got %d %q", a.status, a.body)
	}
	for _, k := range []string{"X-Resp-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
		if v := a.header.Values(k); len(v) > 0 {
			t.Errorf("client saw hop-by-hop response header %s: %q", k, v)
		}
	}
	if c := a.header.Values("Connection"); len(c) > 0 {
		t.Errorf("client saw Connection %q", c)
	}
	if a.header.Get("X-End-To-End") != "1" {
		t.Errorf("client did not see X-End-To-End")
	}
}

// TestRequestBodyStreamed sends a few MB and holds back most of it until
// the backend has started reading: only a streaming proxy gets there.
func TestRequestBodyStreamed(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	started := make(chan struct{})
	var once sync.Once
	sink := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		buf := make([]byte, 64<<10)
		var n int64
		for {
			m, err := r.Body.Read(buf)
			h.Write(buf[:m])
			n += int64(m)
			if n > 0 {
				once.Do(func() { close(started) })
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		fmt.Fprintf(w, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
	}))
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("sink", sink)}, &lbconfig.BackendRef{Name: "sink"}))

	payload := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16) // 4 MiB
	sum := sha256.Sum256(payload)
	pr, pw := io.Pipe()
	go func() {
		if _, err := pw.Write(payload[:1<<20]); err != nil {
			pw.CloseWithError(err)
			return
		}
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			pw.CloseWithError(fmt.Errorf("backend saw nothing of the body after 1 MiB was sent"))
			return
		}
		_, err := pw.Write(payload[1<<20:])
		pw.CloseWithError(err)
	}()
	a := do(t, testClient(t), "POST", port, "x.test", "/upload", pr) // chunked: length unknown
	if want := fmt.Sprintf("%d %x", len(payload), sum); a.status != http.StatusOK || a.body != want {
		t.Errorf("got %d %q, want %q", a.status, a.body, want)
	}

	// And with a known length.
	a = do(t, testClient(t), "PUT", port, "x.test", "/upload", bytes.NewReader(payload))
	if want := fmt.Sprintf("%d %x", len(payload), sum); a.status != http.StatusOK || a.body != want {
		t.Errorf("got %d %q, want %q", a.status, a.body, want)
	}
}

func TestResponseBody(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	payload := bytes.Repeat([]byte("fedcba9876543210"), 3<<20/16)
	big := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sized" {
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		}
		if r.URL.Path == "/trailer" {
			w.Header().Set("Trailer", "X-Checksum")
		}
		_, _ = w.Write(payload)
		if r.URL.Path == "/trailer" {
			w.Header().Set("X-Checksum", "abc")
		}
	}))
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("big", big)}, &lbconfig.BackendRef{Name: "big"}))
	c := testClient(t)
	for _, path := range []string{"/sized", "/chunked", "/trailer"} {
		a := get(t, c, port, "x.test", path)
		if a.status != http.StatusOK || a.body != string(payload) {
			t.Errorf("%s: got %d and %d bytes, want 200 and %d bytes", path, a.status, len(a.body), len(payload))
		}
	}
	// Trailers are only visible after the body is read, so check by hand.
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/trailer", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := resp.Trailer.Get("X-Checksum"); got != "abc" {
		t.Errorf("trailer X-Checksum = %q, want abc", got)
	}
	// HEAD keeps the backend's Content-Length and sends no body.
	req, _ = http.NewRequest("HEAD", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/sized", nil)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength != int64(len(payload)) {
		t.Errorf("HEAD Content-Length = %d, want %d", resp.ContentLength, len(payload))
	}
}

// TestBackendBreaksOffBody checks that a response body the backend breaks
// off is not passed on as if it were complete.
func TestBackendBreaksOffBody(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	broken := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nonly a little")
		_ = bw.Flush()
	}))
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("broken", broken)}, &lbconfig.BackendRef{Name: "broken"}))
	resp, err := testClient(t).Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/")
	if err != nil {
		return // refused outright: also not passed on as complete
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("client read a complete body of %d bytes from a broken backend response", len(b))
	}
}

// TestStreamingResponseFlushed: server-sent events reach the client as the
// backend sends them, not when the response ends.
func TestStreamingResponseFlushed(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	next := make(chan struct{})
	sse := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("sse", sse)}, &lbconfig.BackendRef{Name: "sse"}))
	resp, err := testClient(t).Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		// The backend sends event i+1 only after we read event i.
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: event %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		next <- struct{}{}
	}
}

// TestMalformedClientBodyIs400: a request body that breaks its framing
// halfway is the client's fault: 400, not the 502 of a failed backend.
func TestMalformedClientBodyIs400(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", nettest.EchoEndpoint(t, "b"))}, &lbconfig.BackendRef{Name: "b"}))
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a chunked body with an invalid chunk size: %d, want 400", resp.StatusCode)
	}
}
