package builtin

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// benchConns is the number of keep-alive client connections a benchmark
// keeps busy.
const benchConns = 8

// benchLoad sends n small GET requests to target over benchConns keep-alive
// connections and returns how long they took and how many heap
// allocations the whole process made per request.
func benchLoad(b testing.TB, c *http.Client, target, host string, n int) (time.Duration, float64) {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range benchConns {
		wg.Go(func() {
			req, err := http.NewRequest("GET", target, nil)
			if err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
			req.Host = host
			buf := make([]byte, 4096)
			for next.Add(1) <= int64(n) {
				resp, err := c.Transport.RoundTrip(req)
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				for err == nil {
					_, err = resp.Body.Read(buf)
				}
				resp.Body.Close()
				if err != io.EOF {
					failed.CompareAndSwap(nil, &err)
					return
				}
				if resp.StatusCode != http.StatusOK {
					err := fmt.Errorf("status %d", resp.StatusCode)
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err := failed.Load(); err != nil {
		b.Fatalf("load against %s: %v", target, *err)
	}
	return elapsed, float64(after.Mallocs-before.Mallocs) / float64(n)
}

type benchFixture struct {
	client    *http.Client
	directURL string
	proxyURL  string
	// stdlibURL goes through a plain httputil.ReverseProxy, the reference
	// the builtin proxy must beat clearly.
	stdlibURL string
}

func newBenchFixture(b testing.TB) *benchFixture {
	b.Helper()
	echo := nettest.EchoEndpoint(b, "bench")
	p := startProxy(b, slog.New(slog.DiscardHandler))
	port := nettest.FreePort(b)
	cfg := oneListener(port, []lbconfig.Backend{backendOf("echo", echo)}, nil,
		vh("bench.example.com", exact("/exact", "echo"), prefix("/api", "echo"), prefix("/", "echo")),
		vh("*.example.com", prefix("/", "echo")),
	)
	mustApply(b, p, cfg)

	backendURL := &url.URL{Scheme: "http", Host: net.JoinHostPort(echo.Address, strconv.Itoa(int(echo.Port)))}
	stdlibTransport := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	b.Cleanup(stdlibTransport.CloseIdleConnections)
	stdlib := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(backendURL)
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		Transport: stdlibTransport,
	}
	stdlibAddr := startBackend(b, stdlib)

	tr := &http.Transport{MaxIdleConnsPerHost: benchConns * 2, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	const target = "/api/v1/items?id=42"
	f := &benchFixture{
		client:    &http.Client{Transport: tr},
		directURL: backendURL.String() + target,
		proxyURL:  "http://127.0.0.1:" + strconv.Itoa(int(port)) + target,
		stdlibURL: "http://127.0.0.1:" + strconv.Itoa(int(stdlibAddr.Port)) + target,
	}
	// Warm up the connection pools on every path.
	for _, u := range []string{f.directURL, f.proxyURL, f.stdlibURL} {
		benchLoad(b, f.client, u, "bench.example.com", 200)
	}
	return f
}

// BenchmarkDirect is the reference: the load generator straight at the
// echo backend.
func BenchmarkDirect(b *testing.B) {
	f := newBenchFixture(b)
	b.ResetTimer()
	elapsed, _ := benchLoad(b, f.client, f.directURL, "bench.example.com", b.N)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}

// BenchmarkProxy sends the same load through the builtin proxy and, in the
// same run, straight at the backend and through a plain
// httputil.ReverseProxy, and reports the throughput ratios. The three run
// in interleaved rounds so that load from elsewhere on the machine hits
// them alike. Load generator, proxies and backend share the CPUs, so the
// ratios are regression guards, not the HAProxy comparison.
func BenchmarkProxy(b *testing.B) {
	f := newBenchFixture(b)
	const rounds = 10
	var direct, stdlib, proxied time.Duration
	var directAllocs, proxyAllocs float64
	b.ResetTimer()
	b.StopTimer()
	for i := range rounds {
		n := b.N / rounds
		if i < b.N%rounds {
			n++
		}
		if n == 0 {
			continue
		}
		d, da := benchLoad(b, f.client, f.directURL, "bench.example.com", n)
		s, _ := benchLoad(b, f.client, f.stdlibURL, "bench.example.com", n)
		b.StartTimer()
		p, pa := benchLoad(b, f.client, f.proxyURL, "bench.example.com", n)
		b.StopTimer()
		direct, stdlib, proxied = direct+d, stdlib+s, proxied+p
		directAllocs += da * float64(n)
		proxyAllocs += pa * float64(n)
	}
	b.ReportMetric(float64(b.N)/proxied.Seconds(), "req/s")
	b.ReportMetric(direct.Seconds()/proxied.Seconds(), "x-direct")
	b.ReportMetric(stdlib.Seconds()/proxied.Seconds(), "x-reverseproxy")
	// Allocations of the proxy alone: the load generator and the backend
	// make the same ones on the direct path.
	b.ReportMetric((proxyAllocs-directAllocs)/float64(b.N), "proxy-allocs/req")
}

// TestProxyBenchmarkSetup keeps the benchmark fixture compiling and working
// in ordinary test runs.
func TestProxyBenchmarkSetup(t *testing.T) {
	f := newBenchFixture(t)
	benchLoad(t, f.client, f.proxyURL, "bench.example.com", 50)
}
