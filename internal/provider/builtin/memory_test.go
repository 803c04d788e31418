package builtin

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestMemoryAfterManyConnections opens and closes 10,000 client
// connections through the proxy, in batches, and checks that the proxy
// gives back what they took: once they are all closed the goroutines and
// the live heap return to where they were before, give or take the
// backend connections the pool keeps (at most maxIdlePerEndpoint), so that
// a goroutine or a buffer left behind per connection fails the test. The
// connections are a mix: most send one request and read the answer on a
// kept-alive connection, some close in the middle of a request head or
// body, some close without sending anything.
func TestMemoryAfterManyConnections(t *testing.T) {
	const (
		total    = 10000
		parallel = 50 // connections open at once
		heapRoom = 2 << 20
		// goroutineRoom covers the runtime's and the test's own that come
		// and go (timers, the GC, finalizers).
		goroutineRoom = 10
	)
	var backendConns atomic.Int64
	backend := startCountingBackend(t, &backendConns)
	p := startProxy(t, slog.New(slog.DiscardHandler))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("b", backend)}, nil, vh("mem.example.com", prefix("/", "b"))))
	addr := "127.0.0.1:" + strconv.Itoa(int(port))

	// The same mix first, so that the pool, the buffers and the runtime's
	// caches are at their working size before the baseline is taken.
	churnConnections(t, addr, 1000, parallel)
	baseGoroutines := settledGoroutines(t)
	baseHeap := liveHeap()
	baseBackend := backendConns.Load()
	t.Logf("baseline: %d goroutines, %d KiB live heap, %d backend connections", baseGoroutines, baseHeap>>10, baseBackend)

	start := time.Now()
	churnConnections(t, addr, total, parallel)
	if t.Failed() {
		return
	}
	t.Logf("%d connections in %v", total, time.Since(start).Round(time.Millisecond))

	// Each backend connection the pool keeps holds a goroutine of the
	// backend's server; no more of them than the pool's bound.
	var goroutines, backendNow int64
	var heap uint64
	deadline := time.Now().Add(5 * time.Second)
	for {
		backendNow = backendConns.Load()
		goroutines = int64(runtime.NumGoroutine())
		extra := max(0, backendNow-baseBackend)
		if goroutines <= int64(baseGoroutines)+extra+goroutineRoom {
			heap = liveHeap()
			if heap <= baseHeap+heapRoom {
				break
			}
		}
		if time.Now().After(deadline) {
			heap = liveHeap()
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("after %d connections closed: %d goroutines (baseline %d, backend connections %d, were %d), %d KiB live heap (baseline %d KiB, room %d KiB)\nsome goroutines:\n%s",
				total, goroutines, baseGoroutines, backendNow, baseBackend, heap>>10, baseHeap>>10, heapRoom>>10, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if backendNow > maxIdlePerEndpoint {
		t.Errorf("%d backend connections open with no request in flight; the pool keeps at most %d", backendNow, maxIdlePerEndpoint)
	}
	t.Logf("after: %d goroutines, %d KiB live heap, %d backend connections", goroutines, heap>>10, backendNow)
}

// startCountingBackend is a backend that reads the request body and
// answers 200 with a short body; open counts its open connections.
func startCountingBackend(t *testing.T, open *atomic.Int64) lbconfig.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, "ok")
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return nettest.Endpoint(t, ln.Addr().String())
}

// churnConnections opens n connections to addr, parallel at a time, each
// doing one of the things clients do (see
// TestMemoryAfterManyConnections), and closes them. It stops at the first
// failed request.
func churnConnections(t *testing.T, addr string, n, parallel int) {
	t.Helper()
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for !failed.Load() {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := oneConnection(addr, int(i)); err != nil {
					if failed.CompareAndSwap(false, true) {
						t.Errorf("connection %d: %v", i, err)
					}
					return
				}
			}
		})
	}
	wg.Wait()
}

// oneConnection is the i-th client: seven in ten send a request and read
// the answer, leaving the connection kept alive until they close it; one
// closes in the middle of a request head, one in the middle of a body, one
// without a request.
func oneConnection(addr string, i int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	switch i % 10 {
	case 7:
		_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: mem.example.com\r\n")
		return err
	case 8:
		_, err = io.WriteString(c, "POST / HTTP/1.1\r\nHost: mem.example.com\r\nContent-Length: 1000\r\n\r\n"+string(make([]byte, 100)))
		return err
	case 9:
		return nil
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: mem.example.com\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		return &unexpectedAnswer{resp.StatusCode, string(body)}
	}
	return nil
}

type unexpectedAnswer struct {
	status int
	body   string
}

func (a *unexpectedAnswer) Error() string {
	return "answer " + strconv.Itoa(a.status) + " " + strconv.Quote(a.body) + ", want 200 \"ok\""
}

// settledGoroutines waits until the number of goroutines has stayed the
// same for a tenth of a second, up to 5 seconds, and returns it.
func settledGoroutines(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	n, same := runtime.NumGoroutine(), 0
	for same < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

// liveHeap is the bytes of live heap objects after a full collection
// (two: the first leaves what sync.Pools held for the second).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
