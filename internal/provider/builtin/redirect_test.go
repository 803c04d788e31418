package builtin

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"

	"ingress-controller/pkg/lbconfig"
)

func TestRedirectToLocation(t *testing.T) {
	http80 := lbconfig.Listener{Port: 80, Protocol: lbconfig.ProtocolHTTP}
	http8080 := lbconfig.Listener{Port: 8080, Protocol: lbconfig.ProtocolHTTP}
	for _, tc := range []struct {
		rd         lbconfig.Redirect
		vhost, pfx string
		l          lbconfig.Listener
		path, uri  string
		want       string
	}{
		{lbconfig.Redirect{URL: "https://a.example/x"}, "h.example", "", http80, "/p", "/p?q=1", "https://a.example/x"},
		{lbconfig.Redirect{Scheme: "https"}, "h.example", "", http80, "/p", "/p?q=1", "https://h.example/p?q=1"},
		{lbconfig.Redirect{Scheme: "https"}, "h.example", "", http80, "/p", "/p?", "https://h.example/p?"},
		{lbconfig.Redirect{Hostname: "o.example"}, "h.example", "", http8080, "/a/b", "/a//b", "http://o.example:8080/a/b"},
		{lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: "/new"}}, "h.example", "/old", http80, "/old/x", "/old/x?y", "http://h.example/new/x?y"},
		{lbconfig.Redirect{Path: &lbconfig.RedirectPath{Type: lbconfig.ReplaceFullPath, Value: "/home"}}, "*.w.example", "", http80, "/deep", "/deep", "/home"},
		// The absolute form's host is never used: the configured one is.
		{lbconfig.Redirect{Scheme: "https"}, "h.example", "", http80, "/p", "http://evil.example/p?q", "https://h.example/p?q"},
	} {
		rd := compileRedirectTo(&tc.rd, tc.vhost, tc.pfx, tc.l)
		if got, _ := rd.location(tc.path, tc.uri, ""); got != tc.want {
			t.Errorf("%+v on %q: location(%q, %q) = %q, want %q", tc.rd, tc.vhost, tc.path, tc.uri, got, tc.want)
		}
	}
}

// TestFastPathRedirectAllocatesNothing: a redirect answered on the fast
// path, its Location built from the path and query, costs no heap
// allocation, and the backend sees nothing.
func TestFastPathRedirectAllocatesNothing(t *testing.T) {
	var served atomic.Int64
	backend := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	route := prefix("/api", "b")
	route.Redirect = &lbconfig.Redirect{Scheme: "https", Path: &lbconfig.RedirectPath{Type: lbconfig.ReplacePrefixMatch, Value: "/v2"}, StatusCode: 308}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", backend)}, nil, vh("bench.example.com", route)))

	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	request := []byte("GET /api/v1/items?id=42 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: bench\r\n\r\n")
	want := []byte("HTTP/1.1 308 Permanent Redirect\r\nLocation: https://bench.example.com/v2/v1/items?id=42\r\nContent-Length: 0\r\n\r\n")
	buf := make([]byte, 4096)
	var failed error
	n := 0
	roundTrip := func() {
		if _, err := c.Write(request); err != nil {
			failed = err
			return
		}
		n = 0
		for !bytes.HasSuffix(buf[:n], []byte("\r\n\r\n")) {
			m, err := c.Read(buf[n:])
			if err != nil {
				failed = err
				return
			}
			n += m
		}
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	for range 100 {
		roundTrip()
	}
	allocs := testing.AllocsPerRun(2000, roundTrip)
	if failed != nil {
		t.Fatal(failed)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("got %q, want %q", buf[:n], want)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per redirect, want 0", allocs)
	}
	if got := served.Load(); got != 0 {
		t.Errorf("the backend saw %d requests, want none", got)
	}
}
