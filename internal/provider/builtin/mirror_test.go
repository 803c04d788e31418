package builtin

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMirrorBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		length int64
		max    int64
		copied bool
	}{
		{"none", "", 0, 0, true},
		{"small", "hello", 5, 0, true},
		{"at the bound", strings.Repeat("a", maxMirrorBody), maxMirrorBody, 0, true},
		{"over the bound", strings.Repeat("a", maxMirrorBody+1), maxMirrorBody + 1, 0, false},
		{"unknown length", "chunked", -1, 0, false},
		{"over the backend's limit", "hello", 5, 4, false},
		{"cut short", "hel", 5, 0, false},
	} {
		r := &http.Request{Body: io.NopCloser(strings.NewReader(tc.body)), ContentLength: tc.length}
		if tc.length == 0 {
			r.Body = http.NoBody
		}
		got, ok := mirrorBody(r, tc.max)
		if ok != tc.copied || (ok && string(got) != tc.body[:min(len(tc.body), int(max(tc.length, 0)))]) {
			t.Errorf("%s: copied %v (%d bytes), want %v", tc.name, ok, len(got), tc.copied)
		}
		// The backend reads the body as it came, whatever the mirror got.
		rest, err := io.ReadAll(r.Body)
		if string(rest) != tc.body || err != nil {
			t.Errorf("%s: the backend reads %d bytes, %v; want all %d", tc.name, len(rest), err, len(tc.body))
		}
	}
}

// TestMirrorBodyReadError: a body whose read fails is not copied and the
// backend's read fails too.
func TestMirrorBodyReadError(t *testing.T) {
	boom := errors.New("boom")
	r := &http.Request{Body: io.NopCloser(io.MultiReader(strings.NewReader("ab"), errReader{boom})), ContentLength: 10}
	if _, ok := mirrorBody(r, 0); ok {
		t.Error("a body whose read failed was copied")
	}
	if _, err := io.ReadAll(r.Body); !errors.Is(err, boom) {
		t.Errorf("the backend's read: %v, want %v", err, boom)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestMirrorHeader(t *testing.T) {
	pr := &portRoutes{portValue: []string{"80"}, protoValue: []string{"http"}}
	r := &http.Request{Host: "a.example.com", RemoteAddr: "192.0.2.1:5555", Header: http.Header{
		"Connection":        {"close, X-Secret"},
		"X-Secret":          {"s"},
		"Keep-Alive":        {"timeout=5"},
		"X-Forwarded-For":   {"10.0.0.1"},
		"X-Forwarded-Proto": {"https"},
		"X-Kept":            {"k"},
	}}
	h := mirrorHeader(r, pr)
	for k, want := range map[string]string{
		"X-Secret": "", "Keep-Alive": "", "Connection": "",
		"X-Forwarded-For": "10.0.0.1, 192.0.2.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "a.example.com", "X-Kept": "k",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r.Header.Get("X-Secret") != "s" {
		t.Error("mirrorHeader changed the request's own fields")
	}
}

func TestMirrorDraws(t *testing.T) {
	m := routeMirror{numerator: 1, denominator: 4}
	n := 0
	for range 20000 {
		if m.draws() {
			n++
		}
	}
	if n < 4500 || n > 5500 {
		t.Errorf("1/4 drew %d of 20000", n)
	}
	if always := (routeMirror{}); !always.draws() {
		t.Error("a mirror of every request skipped one")
	}
	if never := (routeMirror{denominator: 3}); never.draws() {
		t.Error("a mirror of 0/3 drew one")
	}
}
