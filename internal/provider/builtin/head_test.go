package builtin

import (
	"bufio"
	"io"
	"net/http"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestFastPathHeadAnswerHasNoBody: the proxy's own answers to HEAD (404
// for no route, 503 for no endpoint) are heads alone on the fast path, so
// that the next response on the keep-alive connection is read as itself,
// not after the body the HEAD must not have.
func TestFastPathHeadAnswerHasNoBody(t *testing.T) {
	p := startProxy(t, nil)
	port := nettest.FreePort(t)
	ep := startBackend(t, nettest.Echo{Name: "a"})
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", ep), backendOf("empty")}, nil,
		vh("known.example", prefix("/", "b")), vh("empty.example", prefix("/", "empty"))))
	rc := dialRaw(t, port)
	_, err := rc.c.Write([]byte("HEAD / HTTP/1.1\r\nHost: unknown.example\r\n\r\n" +
		"HEAD / HTTP/1.1\r\nHost: empty.example\r\n\r\n" +
		"GET / HTTP/1.1\r\nHost: known.example\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(rc.c)
	for _, want := range []struct {
		method string
		status int
	}{{"HEAD", 404}, {"HEAD", 503}, {"GET", 200}} {
		resp, err := http.ReadResponse(br, &http.Request{Method: want.method})
		if err != nil {
			t.Fatalf("reading the answer to %s (want %d): %v", want.method, want.status, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want.status {
			t.Errorf("%s: %d, want %d", want.method, resp.StatusCode, want.status)
		}
	}
}
