package haproxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// testLogger logs to the test at warn level and above (debug with -v and
// HAPROXY_TEST_DEBUG=1).
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("HAPROXY_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return nettest.LoggerAt(t, level)
}

// runtimeDir returns a short temporary directory (unix socket paths are
// limited), removed after the test.
func runtimeDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// newProvider builds a provider on dir and runs it until the test ends;
// cleanup stops HAProxy, and kills it (by pid) if it is still there.
func newProvider(t testing.TB, dir string, mutate func(*Options)) *Provider {
	t.Helper()
	opts := Options{
		Options: provider.Options{ListenAddress: "127.0.0.1", ShutdownGrace: 2 * time.Second},
		Binary:  haproxyBinary(t),
		Dir:     dir,
		Logger:  testLogger(t),
	}
	if mutate != nil {
		mutate(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, make(chan provider.Result, 1)) }()
	t.Cleanup(func() {
		pid := p.PID()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30s of its context ending")
		}
		killPID(pid)
	})
	return p
}

// killPID kills a master this test started, and its workers.
func killPID(pid int) {
	if pid > 0 && alive(pid) {
		killGroup(&process{pid: pid})
		for deadline := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func apply(t testing.TB, p *Provider, cfg *lbconfig.Config) provider.Result {
	t.Helper()
	cfg.Sort()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := p.Apply(ctx, cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// response is what a request through the load balancer got.
type response struct {
	status int
	server string // X-Echo-Server
	body   string
	err    error
}

func get(c *http.Client, port int32, host, path string, header ...string) response {
	req, err := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+path, nil)
	if err != nil {
		return response{err: err}
	}
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, server: resp.Header.Get("X-Echo-Server"), body: string(b), err: err}
}

func newClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// load sends requests from a few goroutines, half on keep-alive
// connections and half on a new connection each, until stop is called or
// maxRequests were sent, and counts failures.
type load struct {
	stop     func() (ok, failed int, errs []string)
	requests func() int
}

func startLoad(t testing.TB, port int32, host, path string, workers int, maxDuration time.Duration) *load {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), maxDuration)
	var (
		mu     sync.Mutex
		ok     int
		failed int
		errs   []string
		wg     sync.WaitGroup
	)
	const maxRequests = 200000
	for w := range workers {
		tr := &http.Transport{MaxIdleConnsPerHost: 1}
		if w%2 == 1 {
			tr.DisableKeepAlives = true
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			for i := 0; i < maxRequests/workers && ctx.Err() == nil; i++ {
				r := get(c, port, host, path)
				mu.Lock()
				if r.err == nil && r.status == 200 {
					ok++
				} else {
					failed++
					if len(errs) < 10 {
						errs = append(errs, fmt.Sprintf("status %d err %v body %q", r.status, r.err, r.body))
					}
				}
				mu.Unlock()
			}
		})
	}
	l := &load{}
	l.stop = func() (int, int, []string) {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return ok, failed, errs
	}
	l.requests = func() int {
		mu.Lock()
		defer mu.Unlock()
		return ok + failed
	}
	t.Cleanup(func() { l.stop() })
	return l
}

// simpleConfig routes everything on port to backend "default/echo:80".
func simpleConfig(port int32, eps ...lbconfig.Endpoint) *lbconfig.Config {
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{
			Name: "default",
			Listeners: []lbconfig.Listener{{
				Port: port, Protocol: lbconfig.ProtocolHTTP,
				VirtualHosts: []lbconfig.VirtualHost{{Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/echo:80")}}}},
			}},
		}},
		Backends: []lbconfig.Backend{{Name: "default/echo:80", Endpoints: eps}},
	}
}

// kill sends SIGKILL to pid, a master this test started.
func kill(t testing.TB, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
}

func testOptions() provider.Options {
	return provider.Options{ListenAddress: "127.0.0.1", ShutdownGrace: 2 * time.Second}
}

// listenOn holds a loopback port, as another program would.
func listenOn(t testing.TB, port int32) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// slowBackend answers every request after delay; inFlight counts the
// requests it is holding.
func slowBackend(t testing.TB, delay time.Duration) (lbconfig.Endpoint, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inFlight := &atomic.Int32{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		time.Sleep(delay)
		w.Header().Set("X-Echo-Server", "slow")
		_, _ = io.WriteString(w, "slow\n")
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return lbconfig.Endpoint{Address: "127.0.0.1", Port: int32(ln.Addr().(*net.TCPAddr).Port), Ready: true, Serving: true}, inFlight
}
