package builtin

import (
	"net/http"
	"regexp"
	"testing"

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
