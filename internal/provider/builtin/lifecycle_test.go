package builtin

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// TestSwapUnderLoad applies 50 changing configs, all of which keep the
// route alive, while clients send requests: none may fail.
func TestSwapUnderLoad(t *testing.T) {
	// Backends first, so that they stop after the proxy.
	a1, a2, b := nettest.EchoEndpoint(t, "a1"), nettest.EchoEndpoint(t, "a2"), nettest.EchoEndpoint(t, "b")
	p := startProxy(t, nettest.Logger(t))
	port, extra := nettest.FreePort(t), nettest.FreePort(t)
	config := func(i int) *lbconfig.Config {
		// The live route moves between backends, endpoints come and go,
		// hosts are added and removed, and a second port opens and closes.
		target := "a"
		if i%2 == 1 {
			target = "b"
		}
		aEndpoints := []lbconfig.Endpoint{a1, a2}
		if i%3 == 0 {
			aEndpoints = []lbconfig.Endpoint{a2}
		}
		cfg := oneListener(port, []lbconfig.Backend{
			backendOf("a", aEndpoints...),
			backendOf("b", b),
		}, nil,
			vh("app.test", prefix("/", target)),
			vh(fmt.Sprintf("h%d.test", i), prefix("/", "b")),
		)
		if i%4 < 2 {
			cfg.LoadBalancers[0].Listeners = append(cfg.LoadBalancers[0].Listeners, lbconfig.Listener{
				Port: extra, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "b"},
			})
		}
		return cfg
	}
	mustApply(t, p, config(0))

	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	c := testClient(t)
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(int(port))+"/x", nil)
				req.Host = "app.test"
				resp, err := c.Do(req)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					t.Logf("request failed: %v", err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), resp.Header.Get("X-Echo-Server")+" ") {
					failed.Add(1)
					t.Logf("bad answer: %d %q %v", resp.StatusCode, body, err)
				}
			}
		})
	}
	for i := 1; i <= 50; i++ {
		// Make sure requests interleave with every swap.
		before := sent.Load()
		waitFor(t, "requests between swaps", func() bool { return sent.Load() > before || time.Now().After(deadline) })
		mustApply(t, p, config(i))
		want := "a"
		if i%2 == 1 {
			want = "b"
		}
		got := get(t, c, port, "app.test", "/")
		if got.status != http.StatusOK || !strings.HasPrefix(got.server(), want) {
			t.Errorf("after apply %d: got %d from %q, want backend %s", i, got.status, got.server(), want)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests during 50 swaps", sent.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during swaps", failed.Load(), sent.Load())
	}
	if sent.Load() < 50 {
		t.Errorf("only %d requests were sent", sent.Load())
	}
}

func TestFailedApplyKeepsOldConfig(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	old, next := nettest.EchoEndpoint(t, "old"), nettest.EchoEndpoint(t, "new")
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("old", old)}, &lbconfig.BackendRef{Name: "old"}))

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	takenPort := int32(taken.Addr().(*net.TCPAddr).Port)
	fresh := nettest.FreePort(t)

	cfg := oneListener(port, []lbconfig.Backend{backendOf("new", next)}, &lbconfig.BackendRef{Name: "new"})
	cfg.LoadBalancers = append(cfg.LoadBalancers, lbconfig.LoadBalancer{
		Name: "other",
		Listeners: []lbconfig.Listener{
			{Port: fresh, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "new"}},
			{Port: takenPort, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "new"}},
		},
	})
	cfg.Sort()
	_, err = p.Apply(context.Background(), cfg)
	if err == nil {
		t.Fatal("Apply succeeded on a port that is taken")
	}
	for _, want := range []string{`load balancer "other"`, "listener", strconv.Itoa(int(takenPort))} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	c := testClient(t)
	if a := get(t, c, port, "x.test", "/"); a.server() != "old" {
		t.Errorf("after failed Apply: got %d from %q, want the old config", a.status, a.server())
	}
	// The port opened for the failed config was closed again.
	if conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(fresh))); err == nil {
		conn.Close()
		t.Errorf("port %d of the failed config accepts connections", fresh)
	}
	if err := p.Healthy(context.Background()); err != nil {
		t.Errorf("Healthy after failed Apply: %v", err)
	}

	// Once the port is free, the same config applies.
	taken.Close()
	mustApply(t, p, cfg)
	if a := get(t, c, takenPort, "x.test", "/"); a.server() != "new" {
		t.Errorf("got %d from %q, want new", a.status, a.server())
	}
}

func TestRemovedPortStopsAccepting(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	keep, drop := nettest.FreePort(t), nettest.FreePort(t)
	echo := nettest.EchoEndpoint(t, "echo")
	both := oneListener(keep, []lbconfig.Backend{backendOf("echo", echo)}, &lbconfig.BackendRef{Name: "echo"})
	both.LoadBalancers[0].Listeners = append(both.LoadBalancers[0].Listeners,
		lbconfig.Listener{Port: drop, Protocol: lbconfig.ProtocolHTTP, DefaultBackend: &lbconfig.BackendRef{Name: "echo"}})
	mustApply(t, p, both)
	c := testClient(t)
	for _, port := range []int32{keep, drop} {
		if a := get(t, c, port, "x.test", "/"); a.status != http.StatusOK {
			t.Fatalf("port %d: got %d", port, a.status)
		}
	}

	res := mustApply(t, p, oneListener(keep, []lbconfig.Backend{backendOf("echo", echo)}, &lbconfig.BackendRef{Name: "echo"}))
	if got := res.Endpoints["default"]; len(got) != 1 || !slices.Equal(got[0].Ports, []int32{keep}) {
		t.Errorf("endpoints after removal: %+v", got)
	}
	// Closed synchronously: no new connection is accepted after Apply.
	if conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(drop))); err == nil {
		conn.Close()
		t.Errorf("removed port %d still accepts connections", drop)
	}
	if a := get(t, c, keep, "x.test", "/"); a.status != http.StatusOK {
		t.Errorf("kept port: got %d", a.status)
	}
	// And it can be opened again at once.
	mustApply(t, p, both)
	if a := get(t, c, drop, "x.test", "/"); a.status != http.StatusOK {
		t.Errorf("re-added port: got %d", a.status)
	}
}

func TestUnsupportedConfigs(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	be := []lbconfig.Backend{backendOf("echo", nettest.EchoEndpoint(t, "echo"))}
	for _, proto := range []lbconfig.Protocol{"QUIC"} {
		cfg := oneListener(port, be, nil)
		cfg.LoadBalancers[0].Listeners[0].Protocol = proto
		_, err := p.Apply(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "not supported") || !strings.Contains(err.Error(), string(proto)) {
			t.Errorf("%s listener: Apply error %v, want 'not supported'", proto, err)
		}
	}

	cfg := oneListener(port, be, &lbconfig.BackendRef{Name: "echo"})
	cfg.LoadBalancers = append(cfg.LoadBalancers, lbconfig.LoadBalancer{
		Name:      "second",
		Listeners: []lbconfig.Listener{{Port: port, Protocol: lbconfig.ProtocolHTTP}},
	})
	cfg.Sort()
	_, err := p.Apply(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), `"second"`) || !strings.Contains(err.Error(), `"default"`) {
		t.Errorf("two load balancers on port %d: Apply error %v", port, err)
	}
	if err := p.Healthy(context.Background()); err == nil {
		t.Errorf("Healthy with no config applied: nil")
	}
}

func TestResultEndpoints(t *testing.T) {
	cfg := &lbconfig.Config{LoadBalancers: []lbconfig.LoadBalancer{
		{Name: "a", Listeners: []lbconfig.Listener{{Port: 80, Protocol: lbconfig.ProtocolHTTP}, {Port: 8080, Protocol: lbconfig.ProtocolHTTP}}},
		{Name: "b", Listeners: []lbconfig.Listener{{Port: 81, Protocol: lbconfig.ProtocolHTTP}}},
	}}
	tab, err := buildTable(cfg, "192.0.2.10", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]lbconfig.Address{
		"a": {{IP: "192.0.2.10", Ports: []int32{80, 8080}}},
		"b": {{IP: "192.0.2.10", Ports: []int32{81}}},
	}
	if fmt.Sprint(tab.endpoints) != fmt.Sprint(want) {
		t.Errorf("endpoints = %v, want %v", tab.endpoints, want)
	}
	tab, err = buildTable(cfg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, lb := range []string{"a", "b"} {
		if got, ok := tab.endpoints[lb]; !ok || got == nil || len(got) != 0 {
			t.Errorf("no listen address: endpoints[%s] = %#v, want an empty list", lb, got)
		}
	}
}

func TestHealthyAndGracefulShutdown(t *testing.T) {
	p := New(provider.Options{ListenAddress: "127.0.0.1"}, nettest.Logger(t))
	if err := p.Healthy(context.Background()); err == nil {
		t.Error("Healthy before Apply: nil")
	}
	entered, release := make(chan struct{}), make(chan struct{})
	slow := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("slow", slow)}, &lbconfig.BackendRef{Name: "slow"}))
	if err := p.Healthy(context.Background()); err != nil {
		t.Errorf("Healthy after Apply: %v", err)
	}

	// Listeners serve before Run starts.
	c := testClient(t)
	answer := make(chan string, 1)
	go func() {
		resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- string(b)
	}()
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, nil) }()
	cancel()
	waitFor(t, "the listener to stop accepting", func() bool {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	select {
	case <-done:
		t.Fatal("Run returned while a request was in flight")
	default:
	}
	close(release)
	if got := <-answer; got != "finished" {
		t.Errorf("request in flight during shutdown: %q", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if err := p.Healthy(context.Background()); err == nil {
		t.Error("Healthy after shutdown: nil")
	}
	if _, err := p.Apply(context.Background(), oneListener(port, nil, nil)); err == nil {
		t.Error("Apply after shutdown succeeded")
	}
}

// TestShutdownGraceBoundsDrain: a request that outlives Options.ShutdownGrace
// is cut when the grace ends, so a stuck backend cannot hold shutdown up.
func TestShutdownGraceBoundsDrain(t *testing.T) {
	const grace = 300 * time.Millisecond
	p := New(provider.Options{ListenAddress: "127.0.0.1", ShutdownGrace: grace}, nettest.Logger(t))
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	stuck := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("stuck", stuck)}, &lbconfig.BackendRef{Name: "stuck"}))
	answer := make(chan error, 1)
	go func() {
		resp, err := testClient(t).Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		answer <- err
	}()
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, nil) }()
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * grace):
		t.Fatalf("Run still draining %s after the context ended, with a %s grace", 20*grace, grace)
	}
	took := time.Since(start)
	if took < grace {
		t.Errorf("Run returned after %s, before the %s grace ended, with a request in flight", took, grace)
	}
	if err := <-answer; err == nil {
		t.Error("the stuck request succeeded; want it cut when the grace ended")
	}
}
