package builtin

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// failing answers the first fail requests of each path with 503 (after
// delay, if set) and then echoes the body it read; it keeps the bodies.
type failing struct {
	fail  int
	delay time.Duration
	mu    sync.Mutex
	seen  map[string]int
	body  []string
}

func (f *failing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen[r.URL.Path]++
	n := f.seen[r.URL.Path]
	f.body = append(f.body, string(b))
	f.mu.Unlock()
	w.Header().Set("X-Echo-Server", "failing")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if n <= f.fail {
		if strings.HasPrefix(r.URL.Path, "/interim") {
			w.WriteHeader(http.StatusEarlyHints)
		}
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "failed\n")
		return
	}
	w.Write(b)
}

func (f *failing) attempts(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[path]
}

func startFailing(t *testing.T, f *failing, timeouts *lbconfig.RouteTimeouts, backoff time.Duration) int32 {
	t.Helper()
	f.seen = map[string]int{}
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	rt := prefix("/", "failing")
	rt.Retry = &lbconfig.Retry{Attempts: 3, Codes: []int32{503}, Backoff: lbconfig.Duration(backoff)}
	rt.Timeouts = timeouts
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("failing", startBackend(t, f))}, nil, vh("", rt)))
	return port
}

// TestRetryWithinRequestTimeout: the request timeout bounds every
// attempt and backoff together: when the next attempt would start past
// it, the client gets the proxy's 504 at once, not the backend's 503 and
// not at the deadline.
func TestRetryWithinRequestTimeout(t *testing.T) {
	f := &failing{fail: 10}
	port := startFailing(t, f, &lbconfig.RouteTimeouts{Request: lbconfig.Duration(time.Second)}, 400*time.Millisecond)
	start := time.Now()
	a := get(t, testClient(t), port, "", "/x")
	took := time.Since(start)
	if a.status != http.StatusGatewayTimeout || a.server() != "" || took >= time.Second {
		t.Errorf("got %d from %q in %v, want the proxy's 504 before the request timeout", a.status, a.server(), took)
	}
	// Attempts at 0, 400 and 800ms (the third only when each took under
	// 100ms); a fourth would start past the deadline.
	if n := f.attempts("/x"); n < 2 || n > 3 {
		t.Errorf("the backend got %d attempts, want 2 or 3", n)
	}
}

// TestRetryAfterBackendRequestTimeout: an attempt that passes the
// backendRequest timeout goes again, and the next one's answer counts.
func TestRetryAfterBackendRequestTimeout(t *testing.T) {
	f := &failing{fail: 1, delay: time.Second}
	port := startFailing(t, f, &lbconfig.RouteTimeouts{BackendRequest: lbconfig.Duration(300 * time.Millisecond)}, 0)
	a := do(t, testClient(t), "POST", port, "", "/slow", strings.NewReader("payload"))
	if a.status != http.StatusOK || a.body != "payload" {
		t.Errorf("got %d %q, want 200 with the body echoed by the second attempt", a.status, a.body)
	}
}

// TestRetryChunkedBodies: a body without a length is held and sent again
// whole within the bound, and sent once, whole, past it.
func TestRetryChunkedBodies(t *testing.T) {
	f := &failing{fail: 1}
	port := startFailing(t, f, nil, 0)
	c := testClient(t)
	for _, tc := range []struct {
		name   string
		size   int
		status int
		tries  int
	}{
		{"small", 1000, http.StatusOK, 2},
		{"empty", 0, http.StatusOK, 2},
		{"over the bound", retryBodyMax + 1, http.StatusServiceUnavailable, 1},
	} {
		path := "/" + strings.ReplaceAll(tc.name, " ", "-")
		body := strings.Repeat("c", tc.size)
		f.mu.Lock()
		f.body = nil
		f.mu.Unlock()
		// io.MultiReader hides the length: the client sends chunks.
		a := do(t, c, "PUT", port, "", path, io.MultiReader(strings.NewReader(body)))
		if a.status != tc.status || f.attempts(path) != tc.tries {
			t.Errorf("%s: got %d after %d attempts, want %d after %d", tc.name, a.status, f.attempts(path), tc.status, tc.tries)
		}
		f.mu.Lock()
		for i, got := range f.body {
			if got != body {
				t.Errorf("%s: attempt %d got %d bytes, want %d", tc.name, i+1, len(got), len(body))
			}
		}
		f.mu.Unlock()
	}
}

// TestNoRetryAfterInterim: once an informational response reached the
// client, the exchange is not sent again: the client gets the 503.
func TestNoRetryAfterInterim(t *testing.T) {
	f := &failing{fail: 1}
	port := startFailing(t, f, nil, 0)
	a := get(t, testClient(t), port, "", "/interim")
	if a.status != http.StatusServiceUnavailable || f.attempts("/interim") != 1 {
		t.Errorf("got %d after %d attempts, want the 503 of the one attempt", a.status, f.attempts("/interim"))
	}
}

// TestRetryManyClients: 20 clients at once, each retried once with a
// body of its own, each get their own body back, never another's or a
// failed attempt's.
func TestRetryManyClients(t *testing.T) {
	f := &failing{fail: 1}
	port := startFailing(t, f, nil, 0)
	c := testClient(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			path := "/client-" + strconv.Itoa(i)
			body := strings.Repeat(strconv.Itoa(i)+",", 100*(i+1))
			for range 5 {
				req, _ := http.NewRequest("POST", "http://127.0.0.1:"+strconv.Itoa(int(port))+path, strings.NewReader(body))
				resp, err := c.Do(req)
				if err != nil {
					t.Errorf("POST %s: %v", path, err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(got) != body || resp.StatusCode != http.StatusOK {
					t.Errorf("POST %s: got %d with %d bytes (%v), want 200 with its own %d", path, resp.StatusCode, len(got), err, len(body))
				}
				f.mu.Lock()
				f.seen[path] = 0 // the next request fails once again
				f.mu.Unlock()
			}
		})
	}
	wg.Wait()
}
