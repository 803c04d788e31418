package builtin

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// startWebsocketEcho serves a websocket endpoint that answers every
// message with "<name>: <message>".
func startWebsocketEcho(t testing.TB, name string) lbconfig.Endpoint {
	t.Helper()
	return startBackend(t, websocket.Handler(func(ws *websocket.Conn) {
		for {
			var msg string
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(ws, name+": "+msg); err != nil {
				return
			}
		}
	}))
}

// dialWebsocket opens a websocket through the proxy port with Host host.
func dialWebsocket(t testing.TB, port int32, host string) *websocket.Conn {
	t.Helper()
	cfg, err := websocket.NewConfig("ws://"+host+"/ws", "http://"+host+"/")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		conn.Close()
		t.Fatalf("websocket handshake through the proxy: %v", err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// roundTrip sends msg and returns the answer, with a deadline so that a
// cut tunnel fails rather than hangs.
func roundTrip(ws *websocket.Conn, msg string) (string, error) {
	_ = ws.SetDeadline(time.Now().Add(5 * time.Second))
	if err := websocket.Message.Send(ws, msg); err != nil {
		return "", err
	}
	var got string
	err := websocket.Message.Receive(ws, &got)
	return got, err
}

func TestWebsocketThroughProxy(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("ws", startWebsocketEcho(t, "a"))}, &lbconfig.BackendRef{Name: "ws"}))
	ws := dialWebsocket(t, port, "chat.test")
	for i := range 5 {
		msg := "hello " + strconv.Itoa(i)
		got, err := roundTrip(ws, msg)
		if err != nil || got != "a: "+msg {
			t.Fatalf("message %d: got %q, %v; want %q", i, got, err, "a: "+msg)
		}
	}
	// Ordinary requests on the same listener are unaffected.
	if a := get(t, testClient(t), port, "chat.test", "/"); a.status == http.StatusSwitchingProtocols {
		t.Errorf("a plain GET got %d", a.status)
	}
}

// TestWebsocketSurvivesConfigChanges: a websocket to an endpoint that stays
// is never cut by config changes, here 20 of them that add routes, move
// other backends' endpoints and change the listener's default backend.
func TestWebsocketSurvivesConfigChanges(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	wsEP := startWebsocketEcho(t, "a")
	other := []lbconfig.Endpoint{nettest.EchoEndpoint(t, "x"), nettest.EchoEndpoint(t, "y")}
	cfg := func(i int) *lbconfig.Config {
		def := "ws"
		if i%2 == 1 {
			def = "other"
		}
		vhosts := []lbconfig.VirtualHost{vh("chat.test", prefix("/", "ws"))}
		for j := range i {
			vhosts = append(vhosts, vh(fmt.Sprintf("h%02d.test", j), prefix("/", "other")))
		}
		return oneListener(port, []lbconfig.Backend{
			backendOf("ws", wsEP),
			backendOf("other", other[i%2]),
		}, &lbconfig.BackendRef{Name: def}, vhosts...)
	}
	mustApply(t, p, cfg(0))
	ws := dialWebsocket(t, port, "chat.test")
	for i := 1; i <= 20; i++ {
		mustApply(t, p, cfg(i))
		msg := "after change " + strconv.Itoa(i)
		if got, err := roundTrip(ws, msg); err != nil || got != "a: "+msg {
			t.Fatalf("after config change %d: got %q, %v", i, got, err)
		}
	}
}

// TestWebsocketDrainedWhenEndpointLeaves: a websocket to an endpoint that
// leaves the config keeps working for the drain timeout, then is closed;
// new websockets go to the endpoint that replaced it.
func TestWebsocketDrainedWhenEndpointLeaves(t *testing.T) {
	const drain = time.Second
	p := New(provider.Options{ListenAddress: "127.0.0.1", DrainTimeout: drain}, nettest.Logger(t))
	runProvider(t, p)
	port := nettest.FreePort(t)
	a, b := startWebsocketEcho(t, "a"), startWebsocketEcho(t, "b")
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("ws", a)}, &lbconfig.BackendRef{Name: "ws"}))
	old := dialWebsocket(t, port, "chat.test")
	if got, err := roundTrip(old, "1"); err != nil || got != "a: 1" {
		t.Fatalf("before the change: %q, %v", got, err)
	}

	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("ws", b)}, &lbconfig.BackendRef{Name: "ws"}))
	removed := time.Now()
	// Within the drain timeout the old tunnel still works (a generous
	// margin: it only has to answer once, right after the change).
	if got, err := roundTrip(old, "2"); err != nil || got != "a: 2" {
		t.Errorf("right after its endpoint left: %q, %v; want the tunnel still open", got, err)
	}
	if got, err := roundTrip(dialWebsocket(t, port, "chat.test"), "3"); err != nil || got != "b: 3" {
		t.Errorf("a new websocket: %q, %v; want it on the new endpoint", got, err)
	}
	// Then it is closed: a read ends without an answer.
	_ = old.SetDeadline(time.Now().Add(10 * time.Second))
	var msg string
	err := websocket.Message.Receive(old, &msg)
	closed := time.Since(removed)
	if err == nil {
		t.Fatalf("the old tunnel delivered %q; want it closed after the drain timeout", msg)
	}
	if closed < drain {
		t.Errorf("the old tunnel closed %s after its endpoint left, before the %s drain timeout", closed, drain)
	}
	if strings.Contains(err.Error(), "timeout") {
		t.Errorf("the old tunnel was not closed within 10s of its endpoint leaving: %v", err)
	}
}

// TestUpgradeRefusedByBackend: a backend that does not switch protocols
// answers as usual, and the answer reaches the client.
func TestUpgradeRefusedByBackend(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	refuse := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Saw-Upgrade", r.Header.Get("Upgrade")+"|"+r.Header.Get("Connection"))
		http.Error(w, "no websockets here", http.StatusForbidden)
	}))
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("refuse", refuse)}, &lbconfig.BackendRef{Name: "refuse"}))
	a := get(t, testClient(t), port, "x.test", "/ws", "Connection", "Upgrade", "Upgrade", "websocket")
	if a.status != http.StatusForbidden || !strings.Contains(a.body, "no websockets here") {
		t.Errorf("got %d %q, want the backend's 403", a.status, a.body)
	}
	if got := a.header.Get("X-Saw-Upgrade"); got != "websocket|Upgrade" {
		t.Errorf("the backend saw Upgrade|Connection %q, want %q", got, "websocket|Upgrade")
	}
	// An h2c upgrade may be ignored: the request is served over HTTP/1.1.
	echo := nettest.EchoEndpoint(t, "echo")
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("echo", echo)}, &lbconfig.BackendRef{Name: "echo"}))
	a = get(t, testClient(t), port, "x.test", "/h2c", "Connection", "Upgrade, HTTP2-Settings", "Upgrade", "h2c", "HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA")
	if a.status != http.StatusOK || a.server() != "echo" {
		t.Errorf("h2c upgrade: got %d from %q, want 200 from echo", a.status, a.server())
	}
}

// TestTunnelsClosedOnShutdown: Run returns once the shutdown grace has
// passed, closing tunnels still open.
func TestTunnelsClosedOnShutdown(t *testing.T) {
	const grace = 300 * time.Millisecond
	p := New(provider.Options{ListenAddress: "127.0.0.1", ShutdownGrace: grace}, nettest.Logger(t))
	stop := runStoppable(t, p)
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("ws", startWebsocketEcho(t, "a"))}, &lbconfig.BackendRef{Name: "ws"}))
	ws := dialWebsocket(t, port, "chat.test")
	if got, err := roundTrip(ws, "1"); err != nil || got != "a: 1" {
		t.Fatalf("%q, %v", got, err)
	}
	stop(20*grace, "a %s shutdown grace, with a websocket open", grace)
	_ = ws.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(ws); err != nil && strings.Contains(err.Error(), "timeout") {
		t.Errorf("the websocket is still open after shutdown: %v", err)
	}
}

// TestDrainingTunnelsClosedOnShutdown: a tunnel still draining from an
// endpoint that left gets the shutdown grace, not the rest of its drain
// timeout, when the provider stops.
func TestDrainingTunnelsClosedOnShutdown(t *testing.T) {
	const grace = 300 * time.Millisecond
	p := New(provider.Options{ListenAddress: "127.0.0.1", ShutdownGrace: grace, DrainTimeout: time.Hour}, nettest.Logger(t))
	stop := runStoppable(t, p)
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("ws", startWebsocketEcho(t, "a"))}, &lbconfig.BackendRef{Name: "ws"}))
	ws := dialWebsocket(t, port, "chat.test")
	if got, err := roundTrip(ws, "1"); err != nil || got != "a: 1" {
		t.Fatalf("%q, %v", got, err)
	}
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("ws", startWebsocketEcho(t, "b"))}, &lbconfig.BackendRef{Name: "ws"}))
	if got, err := roundTrip(ws, "2"); err != nil || got != "a: 2" {
		t.Fatalf("draining tunnel: %q, %v", got, err)
	}
	stop(20*grace, "a %s shutdown grace, with a draining websocket open", grace)
}

// runStoppable runs p; stop ends Run and fails t unless it returns, with
// no error, within bound (why says what the bound is for).
func runStoppable(t *testing.T, p *Provider) (stop func(bound time.Duration, why string, args ...any)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, nil) }()
	return func(bound time.Duration, why string, args ...any) {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(bound):
			t.Fatalf("Run did not return within %s of "+why, append([]any{bound}, args...)...)
		}
	}
}
