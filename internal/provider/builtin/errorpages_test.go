package builtin

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestErrorPagesStatuses: every status of the range, at each edge of a
// word of the bit set, is replaced only when listed.
func TestErrorPagesStatuses(t *testing.T) {
	listed := []int32{400, 463, 464, 527, 528, 599}
	pages := &backend{name: "ns/errors:80", policy: compilePolicy(lbconfig.Policy{})}
	app := &backend{name: "ns/app:80", policy: compilePolicy(lbconfig.Policy{})}
	lookup := func(ref *lbconfig.BackendRef) (*backend, error) {
		if ref.Name == pages.name {
			return pages, nil
		}
		return app, nil
	}
	cr := &route{backend: app}
	rt := &lbconfig.Route{ErrorPages: &lbconfig.ErrorPages{Backend: lbconfig.BackendRef{Name: pages.name}, Statuses: listed}}
	if err := cr.compileErrorPages(rt, lookup); err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for _, s := range listed {
		want[int(s)] = true
	}
	for s := -1; s < 1000; s++ {
		if got := cr.pages.handles(s); got != want[s] {
			t.Errorf("handles(%d) = %v, want %v", s, got, want[s])
		}
	}
	for _, s := range []int{400 + 1<<32, -400} {
		if cr.pages.handles(s) {
			t.Errorf("handles(%d) = true", s)
		}
	}
	// A backend with endpoints never falls back: the route stays on the
	// fast path.
	rt.Fallback = &lbconfig.BackendRef{Name: pages.name}
	app.endpoints = []endpoint{{addr: "127.0.0.1:1"}}
	if err := cr.compileErrorPages(rt, lookup); err != nil || cr.fallback != nil {
		t.Errorf("with endpoints: fallback %v, error %v; want none", cr.fallback, err)
	}
	app.endpoints = nil
	if err := cr.compileErrorPages(rt, lookup); err != nil || cr.fallback == nil {
		t.Fatalf("without endpoints: fallback %v, error %v; want one", cr.fallback, err)
	}
	// Pages over another protocol are refused: they are fetched over
	// HTTP/1.1 in the clear.
	pages.protocol = lbconfig.BackendH2C
	if err := cr.compileErrorPages(rt, lookup); err == nil {
		t.Error("an h2c error backend was accepted")
	}
}

// TestFallbackFields: a fallback is told why, and never believes the
// client's own fields.
func TestFallbackFields(t *testing.T) {
	fb := &backend{name: "ns/fallback:80"}
	cr := &route{fallback: &fallback{backend: fb, source: lbconfig.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "web"}}}
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	r.Header.Set("X-Service-Name", "spoofed")
	r.Header.Set("X-Code", "200")
	r.Header.Set("X-Request-Id", "bad\x01id")
	got, fell := cr.fallbackFor(r, &backend{name: "ns/app:http"})
	if !fell || got != fb {
		t.Fatalf("fallbackFor = %v, %v; want the fallback", got, fell)
	}
	for name, want := range map[string]string{"X-Code": "503", "X-Service-Name": "app", "X-Service-Port": "http", "X-Namespace": "ns", "X-Ingress-Name": "web"} {
		if v := r.Header.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if id := r.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("X-Request-Id = %q, want 32 hexadecimal digits instead of the client's control character", id)
	}
	if _, fell := cr.fallbackFor(r, &backend{name: "ns/app:80", endpoints: []endpoint{{}}}); fell {
		t.Error("a backend with endpoints fell back")
	}
}

// TestErrorPagesOfAnH2CBackend: a backend the reverse proxy serves
// (h2c here) has its listed statuses replaced too, its body never
// passed on, and its other answers untouched.
func TestErrorPagesOfAnH2CBackend(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	h2only := startH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Server", "h2c")
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, strings.Repeat("secret ", 100000))
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	pages := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Server", "pages")
		// The harness names backends without a Service: no X-Service-Name.
		_, _ = io.WriteString(w, "page "+r.Header.Get("X-Code")+" "+r.Header.Get("X-Service-Name"))
	}))
	route := prefix("/", "h2c")
	route.ErrorPages = &lbconfig.ErrorPages{Backend: lbconfig.BackendRef{Name: "pages"}, Statuses: []int32{503}}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{
		protoBackend("h2c", lbconfig.BackendH2C, h2only),
		backendOf("pages", pages),
	}, nil, vh("h2c.test", route)))
	c := testClient(t)
	for range 3 {
		a := get(t, c, port, "h2c.test", "/fail")
		if a.status != http.StatusServiceUnavailable || a.server() != "pages" || a.body != "page 503 " {
			t.Errorf("GET /fail: %d from %q, body %.40q; want 503 with the page", a.status, a.server(), a.body)
		}
		if a := get(t, c, port, "h2c.test", "/"); a.status != http.StatusOK || a.body != "ok" {
			t.Errorf("GET /: %d %.40q, want 200 ok", a.status, a.body)
		}
	}
}

// TestUnusedFallbackAllocatesNothing: a route with a Fallback whose own
// backend has endpoints stays on the fast path, without allocating, as
// TestFastPathAllocatesNothing measures a route without one.
func TestUnusedFallbackAllocatesNothing(t *testing.T) {
	backend := preparedBackend(t, new(atomic.Int64))
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	route := prefix("/", "raw")
	route.Fallback = &lbconfig.BackendRef{Name: "fallback"}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("raw", backend), backendOf("fallback", backend)}, nil,
		vh("bench.example.com", route)))
	request := []byte("GET /api/v1/items?id=42 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	allocs, buf := keepAliveAllocs(t, "127.0.0.1:"+strconv.Itoa(int(port)), request, nil)
	if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("got %q, want 200", buf[:40])
	}
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}
