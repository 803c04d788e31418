package kubernetes_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/rest"
)

// reconnect bounds how long the informers take to notice the API server
// is back: they retry with a backoff of up to several seconds.
const reconnect = 30 * time.Second

// TestAPIServerOutage cuts the controller off the API server, then stops
// the API server for 10 s under load: the proxy keeps serving the last
// config with no failed request, and changes made while the controller was
// disconnected, or after the server returned, are picked up.
func TestAPIServerOutage(t *testing.T) {
	f := newFixture(t)
	class := "outage-" + f.ns
	addrs, port := startBackends(t, "a", "b", "c")
	for _, name := range []string{"a", "b", "c"} {
		f.service("web-"+name, "http", 80, port)
		f.slice("web-"+name+"-1", "web-"+name, "http", port, addrs[name])
	}
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web-a", port: "http"}))
	r := startRelay(t, cluster.Config.Host)
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Host = "https://" + r.addr()
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}, config: cfg})
	expect(t, c.port, "web.test", "/", ok("a"))

	setBackend := func(service string) {
		f.updateIngress("web", func(ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].HTTP.Paths[0].Backend = serviceBackend(service, "http")
		})
	}

	// Disconnected while the API server lives on: a change made meanwhile
	// arrives when the connection is back.
	r.cut()
	setBackend("web-b")
	if got, err := get(c.port, "web.test", "/"); err != nil || got != ok("a") {
		t.Fatalf("while disconnected: %v, %v; want the last config (a) serving", got, err)
	}
	r.restore()
	took := eventually(t, reconnect, "change made while disconnected served", func() error { return served(c.port, "b") })
	t.Logf("a change made while disconnected was served %s after reconnecting", took.Round(time.Millisecond))

	// The API server goes away for 10 s under load.
	l := startLoad(t, c.port, "web.test", 4)
	t.Cleanup(func() {
		// Whatever happens, leave the API server running for the other tests.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cluster.StartAPIServer(ctx); err != nil && !strings.Contains(err.Error(), "already running") {
			t.Errorf("restarting the API server: %v", err)
		}
	})
	// Cut the controller's connections first: kube-apiserver waits for
	// open watch streams on SIGTERM (kubetest sets no
	// --shutdown-watch-termination-grace-period), which would take kubetest's
	// full 20 s grace and a SIGKILL. For the controller it is the same
	// outage: its connections drop and new ones fail.
	r.cut()
	stopping := time.Now()
	if err := cluster.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	r.restore()
	down := time.Now()
	t.Logf("API server stopped in %s", down.Sub(stopping).Round(time.Millisecond))
	before := l.requests()
	for time.Since(down) < 10*time.Second {
		if failed := l.failed(); len(failed) > 0 {
			t.Fatalf("request failed while the API server was down: %s", failed[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	during := l.requests() - before
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("API server down for %s; %d requests meanwhile", time.Since(down).Round(time.Millisecond), during)
	total, failed := l.stop()
	if len(failed) > 0 {
		t.Errorf("%d of %d requests failed around the outage; first: %s", len(failed), total, failed[0])
	}
	if during < 50 {
		t.Errorf("only %d requests while the API server was down", during)
	}

	// Back: a change made now is picked up.
	setBackend("web-c")
	took = eventually(t, reconnect, "change after the API server returned served", func() error { return served(c.port, "c") })
	t.Logf("a change made after the API server returned was served within %s", took.Round(time.Millisecond))
}

func served(port int, backend string) error {
	got, err := get(port, "web.test", "/")
	if err != nil {
		return err
	}
	if got != ok(backend) {
		return errors.New("got " + got.String())
	}
	return nil
}

// relay forwards TCP connections to the API server, and can cut them all
// and refuse new ones to disconnect a client from a live server.
type relay struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startRelay(t *testing.T, server string) *relay {
	t.Helper()
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	r.wg.Go(r.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		r.cut()
		r.wg.Wait()
	})
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			continue
		}
		r.wg.Go(func() { r.forward(c) })
	}
}

func (r *relay) forward(c net.Conn) {
	defer r.forget(c)
	up, err := net.DialTimeout("tcp", r.target, 5*time.Second)
	if err != nil {
		return
	}
	if !r.track(up) {
		return
	}
	defer r.forget(up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// track records c to be closed by cut, or closes it while the relay is
// cut.
func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		_ = c.Close()
		return false
	}
	r.conns[c] = true
	return true
}

func (r *relay) forget(c net.Conn) {
	_ = c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// cut closes every connection and refuses new ones until restore.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = true
	for c := range r.conns {
		_ = c.Close()
	}
}

func (r *relay) restore() {
	r.mu.Lock()
	r.down = false
	r.mu.Unlock()
}
