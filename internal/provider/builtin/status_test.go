package builtin

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestStatusAllocatesNothing: a route to a backend that answers with a
// status (lbconfig.Backend.Status) is served on the fast path, without
// allocating, keep-alive, and its answer is the proxy's own.
func TestStatusAllocatesNothing(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{{Name: "ns/route!invalid", Status: 500}}, nil,
		vh("bench.example.com", prefix("/", "ns/route!invalid"))))
	request := []byte("GET /api/v1/items?id=42 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	allocs, buf := keepAliveAllocs(t, "127.0.0.1:"+strconv.Itoa(int(port)), request, nil)
	if !bytes.HasPrefix(buf, []byte("HTTP/1.1 500 Internal Server Error\r\n")) || !bytes.Contains(buf, []byte("\r\n\r\n500 internal server error\n")) {
		t.Fatalf("got %q, want the proxy's 500", buf[:120])
	}
	if bytes.Contains(bytes.ToLower(buf[:bytes.Index(buf, []byte("\r\n\r\n"))]), []byte("connection: close")) {
		t.Errorf("the answer closes the connection: %q", buf[:120])
	}
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}

// TestStatusShare: a weighted route (net/http's path) answers the share
// of a status backend with that status and sends the rest on; a request
// with a body to a status backend gets its answer without the body being
// taken for another request, on either path; a HEAD gets the head alone.
func TestStatusShare(t *testing.T) {
	var served atomic.Int64
	echo := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("X-Echo-Server", "echo")
		_, _ = w.Write([]byte("ok"))
	}))
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	half := prefix("/half", "echo")
	half.Backends = []lbconfig.WeightedBackend{{Name: "echo", Weight: 1}, {Name: "gone", Weight: 1}}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("echo", echo), {Name: "gone", Status: 500}, {Name: "missing", Status: 404}}, nil,
		vh("x.test", half, prefix("/none", "missing"))))
	c := testClient(t)
	ok, failed := 0, 0
	for range 200 {
		switch a := get(t, c, port, "x.test", "/half"); {
		case a.status == http.StatusOK && a.server() == "echo":
			ok++
		case a.status == http.StatusInternalServerError && a.body == "500 internal server error\n" && a.server() == "":
			failed++
		default:
			t.Fatalf("GET /half: %d from %q, %.40q; want 200 from echo or the proxy's 500", a.status, a.server(), a.body)
		}
	}
	if ok < 60 || failed < 60 {
		t.Errorf("GET /half with weights 1 and 1: %d served, %d answered 500; want about 100 each", ok, failed)
	}
	before := served.Load()
	for _, path := range []string{"/none", "/half"} {
		for range 20 {
			a := do(t, c, http.MethodPost, port, "x.test", path, strings.NewReader("GET /half HTTP/1.1\r\nHost: x.test\r\n\r\n"))
			if path == "/none" && (a.status != http.StatusNotFound || a.body != "404 not found\n") {
				t.Fatalf("POST /none: %d %.40q, want the proxy's 404", a.status, a.body)
			}
		}
	}
	if a := do(t, c, http.MethodHead, port, "x.test", "/none", nil); a.status != http.StatusNotFound || a.body != "" {
		t.Errorf("HEAD /none: %d %.40q, want 404 without a body", a.status, a.body)
	}
	if got := served.Load() - before; got > 20 {
		t.Errorf("the backend served %d requests, want at most the 20 POSTs to /half", got)
	}
}
