package haproxy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// metricValue gathers reg and returns the value of the counter name.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s is not registered", name)
	return 0
}

func TestRouting(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	backends := map[string]lbconfig.Endpoint{}
	for _, n := range []string{"exact", "foo", "foobar", "root", "wild", "any", "fallback"} {
		backends[n] = nettest.EchoEndpoint(t, n)
	}
	be := func(n string) lbconfig.Backend {
		return lbconfig.Backend{Name: "default/" + n + ":80", Endpoints: []lbconfig.Endpoint{backends[n]}}
	}
	route := func(path string, m lbconfig.MatchType, n string) lbconfig.Route {
		return lbconfig.Route{Path: path, Match: m, Backend: ref("default/" + n + ":80")}
	}
	config := func(fallback *lbconfig.BackendRef) *lbconfig.Config {
		cfg := &lbconfig.Config{
			LoadBalancers: []lbconfig.LoadBalancer{{
				Name: "default",
				Listeners: []lbconfig.Listener{{
					Port: port, Protocol: lbconfig.ProtocolHTTP,
					DefaultBackend: fallback,
					VirtualHosts: []lbconfig.VirtualHost{
						{Hostname: "foo.example.com", Routes: []lbconfig.Route{
							route("/exact", lbconfig.MatchExact, "exact"),
							route("/foo", lbconfig.MatchPrefix, "foo"),
							route("/foo/bar/", lbconfig.MatchPrefix, "foobar"),
							route("/", lbconfig.MatchPrefix, "root"),
						}},
						{Hostname: "only.example.com", Routes: []lbconfig.Route{route("/api", lbconfig.MatchPrefix, "foo")}},
						{Hostname: "*.example.com", Routes: []lbconfig.Route{route("/", lbconfig.MatchPrefix, "wild")}},
						{Hostname: "", Routes: []lbconfig.Route{route("/any", lbconfig.MatchPrefix, "any")}},
					},
				}},
			}},
			Backends: []lbconfig.Backend{be("exact"), be("foo"), be("foobar"), be("root"), be("wild"), be("any"), be("fallback"), {Name: "default/empty:80"}},
		}
		cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes = append(cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes, route("/empty", lbconfig.MatchExact, "empty"))
		return cfg
	}
	res := apply(t, p, config(&lbconfig.BackendRef{Name: "default/fallback:80"}))
	if want := []lbconfig.Address{{IP: "127.0.0.1", Ports: []int32{port}}}; !slices.EqualFunc(res.Endpoints["default"], want, func(a, b lbconfig.Address) bool {
		return a.IP == b.IP && slices.Equal(a.Ports, b.Ports)
	}) {
		t.Errorf("Result = %+v, want %+v", res.Endpoints, want)
	}
	c := newClient()
	for _, tc := range []struct {
		host, path string
		status     int
		server     string
	}{
		{"foo.example.com", "/exact", 200, "exact"},
		{"foo.example.com", "/exact/", 200, "root"},
		{"FOO.Example.COM:8080", "/exact", 200, "exact"},
		{"foo.example.com.", "/exact", 200, "exact"},
		{"foo.example.com", "/foo", 200, "foo"},
		{"foo.example.com", "/foo/", 200, "foo"},
		{"foo.example.com", "/foo/x", 200, "foo"},
		{"foo.example.com", "/foobar", 200, "root"},
		{"foo.example.com", "/foo/bar", 200, "foobar"},
		{"foo.example.com", "/foo/bar/baz?q=1", 200, "foobar"},
		{"foo.example.com", "/foo/barbaz", 200, "foo"},
		{"foo.example.com", "/empty", 503, ""},
		// A chosen virtual host never falls back to a less specific one.
		{"only.example.com", "/api/v1", 200, "foo"},
		{"only.example.com", "/other", 200, "fallback"},
		{"x.example.com", "/anything", 200, "wild"},
		{"a.b.example.com", "/any", 200, "any"},
		{"example.com", "/any/thing", 200, "any"},
		{"other.test", "/nope", 200, "fallback"},
	} {
		r := get(c, port, tc.host, tc.path)
		if r.err != nil || r.status != tc.status || r.server != tc.server {
			t.Errorf("GET %s%s = %d from %q (%v), want %d from %q", tc.host, tc.path, r.status, r.server, r.err, tc.status, tc.server)
		}
	}

	// Without a default backend, no route is 404. The old worker answers
	// the next request of an idle keep-alive connection, with
	// "Connection: close" (option idle-close-on-response); the one after
	// that reaches the new config.
	apply(t, p, config(nil))
	if r := get(c, port, "other.test", "/nope"); r.err != nil {
		t.Errorf("the first request on a keep-alive connection after a reload failed: %v", r.err)
	}
	if r := get(c, port, "other.test", "/nope"); r.status != 404 || !strings.Contains(r.body, "no route") {
		t.Errorf("GET other.test/nope without default backend = %d %q, want 404", r.status, r.body)
	}

	// Forwarded headers.
	r := get(c, port, "foo.example.com", "/exact", "X-Echo-Headers", "1", "X-Forwarded-For", "192.0.2.7")
	for _, want := range []string{"X-Forwarded-For: 192.0.2.7, 127.0.0.1", "X-Real-Ip: 127.0.0.1", "X-Forwarded-Host: foo.example.com", "X-Forwarded-Proto: http", fmt.Sprintf("X-Forwarded-Port: %d", port)} {
		if !strings.Contains(r.body, want+"\n") {
			t.Errorf("backend did not get %q:\n%s", want, r.body)
		}
	}
	if p.Reloads() != 1 {
		t.Errorf("Reloads = %d, want 1 (one start, one structural change)", p.Reloads())
	}
	if err := p.Healthy(context.Background()); err != nil {
		t.Errorf("Healthy = %v", err)
	}
}

func TestReloadsFailNoRequest(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	a, b := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b")
	cfg := simpleConfig(port, a, b)
	apply(t, p, cfg)
	c := newClient()
	waitFor(t, 5*time.Second, "first response", func() bool { return get(c, port, "x", "/").status == 200 })

	l := startLoad(t, port, "x", "/", 6, 60*time.Second)
	const reloads = 20
	for i := range reloads {
		// A structural change: another virtual host each time.
		next := simpleConfig(port, a, b)
		next.LoadBalancers[0].Listeners[0].VirtualHosts = append(next.LoadBalancers[0].Listeners[0].VirtualHosts,
			lbconfig.VirtualHost{Hostname: fmt.Sprintf("h%d.example.com", i), Routes: []lbconfig.Route{{Path: "/", Match: lbconfig.MatchPrefix, Backend: ref("default/echo:80")}}})
		apply(t, p, next)
	}
	// Let requests run on the last generation too.
	n := l.requests()
	waitFor(t, 10*time.Second, "more requests after the last reload", func() bool { return l.requests() > n+50 })
	ok, failed, errs := l.stop()
	t.Logf("%d reloads under load: %d requests ok, %d failed", p.Reloads(), ok, failed)
	if failed > 0 {
		t.Errorf("%d requests failed across %d reloads, e.g. %v", failed, reloads, errs)
	}
	if p.Reloads() != reloads {
		t.Errorf("Reloads = %d, want %d", p.Reloads(), reloads)
	}
}

func TestEndpointChangesDoNotReload(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := newProvider(t, runtimeDir(t), func(o *Options) { o.Metrics = reg })
	port := nettest.FreePort(t)
	echoes := []lbconfig.Endpoint{nettest.EchoEndpoint(t, "e0"), nettest.EchoEndpoint(t, "e1"), nettest.EchoEndpoint(t, "e2")}
	apply(t, p, simpleConfig(port, echoes[0]))
	c := newClient()

	// 1000 endpoint changes: each Apply swaps which echoes are in and
	// which is not ready.
	const changes = 1000
	for i := range changes {
		eps := []lbconfig.Endpoint{echoes[i%3], echoes[(i+1)%3]}
		if i%2 == 0 {
			eps[1].Ready = false
		}
		apply(t, p, simpleConfig(port, eps...))
	}
	if got := p.Reloads(); got != 0 {
		t.Errorf("%d endpoint changes caused %d reloads, want 0", changes, got)
	}
	t.Logf("%d endpoint changes: %d runtime API server updates, %d reloads", changes, p.RuntimeUpdates(), p.Reloads())
	if got := metricValue(t, reg, "ingress_controller_haproxy_reloads_total"); got != 0 {
		t.Errorf("reloads metric = %v, want 0", got)
	}

	// The last change (i=999): e0 and e1 ready, e2 out.
	seen := map[string]int{}
	for range 20 {
		r := get(c, port, "x", "/")
		if r.status != 200 {
			t.Fatalf("GET = %d %v", r.status, r.err)
		}
		seen[r.server]++
	}
	if seen["e0"] == 0 || seen["e1"] == 0 || seen["e2"] != 0 {
		t.Errorf("answers by backend after the churn = %v, want e0 and e1 only", seen)
	}

	// No ready endpoint: 503.
	none := echoes[0]
	none.Ready = false
	apply(t, p, simpleConfig(port, none))
	if r := get(c, port, "x", "/"); r.status != 503 || !strings.Contains(r.body, "no ready endpoints") {
		t.Errorf("GET with no ready endpoint = %d %q, want 503", r.status, r.body)
	}

	// Outgrowing the four slots reloads once, with more slots.
	var many []lbconfig.Endpoint
	for i := range 6 {
		e := echoes[i%3]
		e.Port += int32(10000 * (i / 3)) // distinct endpoints; only 3 exist
		e.Ready = i < 3
		many = append(many, e)
	}
	apply(t, p, simpleConfig(port, many...))
	if got := p.Reloads(); got != 1 {
		t.Errorf("after outgrowing the slots Reloads = %d, want 1", got)
	}
	if got := metricValue(t, reg, "ingress_controller_haproxy_reloads_total"); got != 1 {
		t.Errorf("reloads metric = %v, want 1", got)
	}
	if got := len(p.layout.Backends["default/echo:80"].Slots); got != 8 {
		t.Errorf("slots after growing = %d, want 8", got)
	}
	if r := get(c, port, "x", "/"); r.status != 200 {
		t.Errorf("GET after growing = %d %v", r.status, r.err)
	}
}

func TestEndpointChangesSurviveReload(t *testing.T) {
	dir := runtimeDir(t)
	p := newProvider(t, dir, nil)
	port := nettest.FreePort(t)
	a, b := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b")
	apply(t, p, simpleConfig(port, a))
	apply(t, p, simpleConfig(port, b)) // runtime API: a out, b in
	if p.Reloads() != 0 {
		t.Fatalf("Reloads = %d", p.Reloads())
	}
	// A structural change reloads; b must still be the one answering.
	next := simpleConfig(port, b)
	next.Backends[0].Policy.Algorithm = lbconfig.LeastRequest
	apply(t, p, next)
	c := newClient()
	for range 5 {
		if r := get(c, port, "x", "/"); r.server != "b" {
			t.Fatalf("after reload GET answered by %q (%d %v), want b", r.server, r.status, r.err)
		}
	}
	state, err := os.ReadFile(filepath.Join(dir, serverStateFile))
	if err != nil {
		t.Fatalf("server state file: %v", err)
	}
	if !strings.Contains(string(state), BackendID("default/echo:80")) {
		t.Errorf("server state file has no line for the backend:\n%s", state)
	}
}

func TestRejectedConfigKeepsServing(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	a := nettest.EchoEndpoint(t, "a")
	apply(t, p, simpleConfig(port, a))
	c := newClient()

	bad := simpleConfig(port, a)
	bad.LoadBalancers[0].Listeners = append(bad.LoadBalancers[0].Listeners, lbconfig.Listener{
		Port: nettest.FreePort(t), Protocol: lbconfig.ProtocolHTTPS,
		VirtualHosts: []lbconfig.VirtualHost{{Hostname: "secure.example.com", TLS: &lbconfig.CertificateRef{Name: "default/broken"}}},
	})
	bad.Certificates = []lbconfig.Certificate{{Name: "default/broken", ChainPEM: []byte("not a certificate"), KeyPEM: []byte("not a key")}}
	bad.Sort()
	if err := p.Validate(context.Background(), bad); err == nil {
		t.Error("Validate accepted a config with a broken certificate")
	}
	_, err := p.Apply(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "previous one keeps serving") || !strings.Contains(err.Error(), "default_broken") {
		t.Errorf("Apply of a broken config = %v, want an error naming the certificate file", err)
	} else {
		t.Logf("rejected: %v", err)
	}
	if r := get(c, port, "x", "/"); r.status != 200 || r.server != "a" {
		t.Errorf("after the rejected config GET = %d from %q (%v), want 200 from a", r.status, r.server, r.err)
	}
	if err := p.Healthy(context.Background()); err != nil {
		t.Errorf("Healthy = %v", err)
	}

	// A port held by another program fails Apply before the reload.
	busy := nettest.FreePort(t)
	ln := listenOn(t, busy)
	defer ln.Close()
	taken := simpleConfig(port, a)
	taken.LoadBalancers[0].Listeners = append(taken.LoadBalancers[0].Listeners, lbconfig.Listener{Port: busy, Protocol: lbconfig.ProtocolHTTP})
	taken.Sort()
	if err := p.Validate(context.Background(), taken); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d", busy)) {
		t.Errorf("Validate with a busy port = %v, want an error naming port %d", err, busy)
	}
	if _, err := p.Apply(context.Background(), taken); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d", busy)) {
		t.Errorf("Apply with a busy port = %v, want an error naming port %d", err, busy)
	}
	if r := get(c, port, "x", "/"); r.status != 200 || r.server != "a" {
		t.Errorf("after the busy port GET = %d from %q (%v), want 200 from a", r.status, r.server, r.err)
	}
	// The next good config still applies as a change from the one in service.
	apply(t, p, simpleConfig(port, a, nettest.EchoEndpoint(t, "b")))
	if p.Reloads() != 0 {
		t.Errorf("Reloads = %d, want 0 (rejected configs never reload)", p.Reloads())
	}
}

func TestMasterKilledIsRestarted(t *testing.T) {
	p := newProvider(t, runtimeDir(t), nil)
	port := nettest.FreePort(t)
	a, b := nettest.EchoEndpoint(t, "a"), nettest.EchoEndpoint(t, "b")
	apply(t, p, simpleConfig(port, a))
	apply(t, p, simpleConfig(port, b)) // through the runtime API only
	c := newClient()
	waitFor(t, 5*time.Second, "b answers", func() bool { return get(c, port, "x", "/").server == "b" })

	fresh := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	pid := p.PID()
	killedAt := time.Now()
	kill(t, pid)
	var back time.Duration
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if p.PID() != 0 && p.PID() != pid {
			if r := get(fresh, port, "x", "/"); r.status == 200 {
				back = time.Since(killedAt)
				if r.server != "b" {
					t.Errorf("after the restart GET answered by %q, want b (the runtime API's last word)", r.server)
				}
				break
			}
		}
	}
	if back == 0 {
		t.Fatal("not serving again 20s after the master was killed")
	}
	t.Logf("serving again %s after the master was killed", back)
	if back > 2*time.Second {
		t.Errorf("serving again only after %s, want under 2s", back)
	}
	waitFor(t, 5*time.Second, "healthy", func() bool { return p.Healthy(context.Background()) == nil })
	if p.Restarts() != 1 {
		t.Errorf("Restarts = %d, want 1", p.Restarts())
	}
}

// TestOutageReflectedInHealth: while the master is dead and cannot be
// restarted (its binary is gone for a while), Healthy says so; once it can,
// it is restarted and healthy again. (The restart itself is so fast that
// watching Healthy across it would be a race.)
func TestOutageReflectedInHealth(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "haproxy")
	if err := os.Symlink(haproxyBinary(t), bin); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, runtimeDir(t), func(o *Options) { o.Binary = bin })
	port := nettest.FreePort(t)
	a := nettest.EchoEndpoint(t, "a")
	apply(t, p, simpleConfig(port, a))
	waitFor(t, 5*time.Second, "healthy", func() bool { return p.Healthy(context.Background()) == nil })

	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	kill(t, p.PID())
	waitFor(t, 10*time.Second, "Healthy to report the dead master", func() bool { return p.Healthy(context.Background()) != nil })
	t.Logf("Healthy while down: %v", p.Healthy(context.Background()))

	if err := os.Symlink(haproxyBinary(t), bin); err != nil {
		t.Fatal(err)
	}
	fresh := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	waitFor(t, 30*time.Second, "serving and healthy again", func() bool {
		return p.Healthy(context.Background()) == nil && get(fresh, port, "x", "/").server == "a"
	})
}

func TestAdoptOnControllerRestart(t *testing.T) {
	dir := runtimeDir(t)
	port := nettest.FreePort(t)
	a := nettest.EchoEndpoint(t, "a")

	ctx, cancel := context.WithCancel(context.Background())
	first, err := New(Options{Options: testOptions(), Binary: haproxyBinary(t), Dir: dir, KeepOnExit: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx, nil) }()
	apply(t, first, simpleConfig(port, a))
	pid := first.PID()
	t.Cleanup(func() { killPID(pid) })

	l := startLoad(t, port, "x", "/", 4, 60*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !alive(pid) {
		t.Fatal("haproxy stopped although KeepOnExit was set")
	}

	second := newProvider(t, dir, nil)
	apply(t, second, simpleConfig(port, a, nettest.EchoEndpoint(t, "b")))
	if got := second.PID(); got != pid {
		t.Errorf("second provider runs master %d, want the adopted %d", got, pid)
	}
	n := l.requests()
	waitFor(t, 10*time.Second, "requests after the adoption", func() bool { return l.requests() > n+50 })
	ok, failed, errs := l.stop()
	t.Logf("controller restart: %d requests ok, %d failed", ok, failed)
	if failed > 0 {
		t.Errorf("%d requests failed across the controller restart, e.g. %v", failed, errs)
	}
}

func TestShutdownLetsRequestsFinish(t *testing.T) {
	dir := runtimeDir(t)
	p, err := New(Options{Options: testOptions(), Binary: haproxyBinary(t), Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, nil) }()
	port := nettest.FreePort(t)
	slow, inFlight := slowBackend(t, 500*time.Millisecond)
	apply(t, p, simpleConfig(port, slow))
	pid := p.PID()
	t.Cleanup(func() { killPID(pid) })

	got := make(chan response, 1)
	go func() { got <- get(newClient(), port, "x", "/") }()
	waitFor(t, 5*time.Second, "the slow request to be in flight", func() bool { return inFlight.Load() > 0 })
	cancel()
	if r := <-got; r.status != 200 {
		t.Errorf("request in flight at shutdown = %d %v, want 200", r.status, r.err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Error("haproxy still runs after Run returned")
	}
	if err := p.Healthy(context.Background()); err == nil {
		t.Error("Healthy = nil after shutdown")
	}
}

func TestNewRejectsThreads(t *testing.T) {
	for _, n := range []int{-1, MaxThreads + 1} {
		_, err := New(Options{Binary: haproxyBinary(t), Dir: t.TempDir(), Threads: n})
		if err == nil || !strings.Contains(err.Error(), "threads is not between 0 and 64") {
			t.Errorf("New with %d threads = %v, want an error", n, err)
		}
	}
}
