package builtin

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestRateLimitReleasesHeld: a request in progress holds its client's
// place (Concurrent: 1) until it ends, however it ends: answered, its
// client gone in the middle, its backend down, or an upgraded connection
// closed; on the fast path (HTTP) and net/http's (HTTPS).
func TestRateLimitReleasesHeld(t *testing.T) {
	gate := make(chan struct{})
	var slowSeen, fastSeen atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		slowSeen.Add(1)
		select {
		case <-gate:
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	})
	mux.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) { fastSeen.Add(1) })
	backend := startBackend(t, mux)
	ws := startWebsocketEcho(t, "ws")
	dead := nettest.NewDeadPort(t)
	p := startProxy(t, nettest.Logger(t))
	httpPort, httpsPort := nettest.FreePort(t), nettest.FreePort(t)
	// 429 tells the limit from the 502 and 503 of a backend down.
	limit := &lbconfig.RateLimit{Zone: "ns/held", Concurrent: 1, StatusCode: 429}
	routes := func() []lbconfig.Route {
		slow, fast, sock, down := prefix("/slow", "b"), prefix("/fast", "b"), prefix("/ws", "ws"), prefix("/down", "dead")
		slow.RateLimit, fast.RateLimit, sock.RateLimit, down.RateLimit = limit, limit, limit, limit
		return []lbconfig.Route{slow, fast, sock, down}
	}
	cfg := &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{
			{Port: httpPort, Protocol: lbconfig.ProtocolHTTP, VirtualHosts: []lbconfig.VirtualHost{vh("held.test", routes()...)}},
			{Port: httpsPort, Protocol: lbconfig.ProtocolHTTPS, VirtualHosts: []lbconfig.VirtualHost{vh("held.test", routes()...)}},
		}}},
		Backends: []lbconfig.Backend{backendOf("b", backend), backendOf("ws", ws), backendOf("dead", dead.Endpoint())},
	}
	cfg.Sort()
	mustApply(t, p, cfg)

	for _, tc := range []struct {
		name   string
		scheme string
		port   int32
	}{{"fast path", "http", httpPort}, {"net/http", "https", httpsPort}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}
			t.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			url := tc.scheme + "://127.0.0.1:" + strconv.Itoa(int(tc.port))
			status := func(path string) int {
				req, _ := http.NewRequest("GET", url+path, nil)
				req.Host = "held.test"
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			// Answered: held until the answer.
			done := make(chan int, 1)
			before := slowSeen.Load()
			go func() { done <- status("/slow") }()
			waitFor(t, "the slow request at the backend", func() bool { return slowSeen.Load() > before })
			fast := fastSeen.Load()
			if got := status("/fast"); got != 429 {
				t.Errorf("a second request in progress: %d, want 429", got)
			}
			if fastSeen.Load() != fast {
				t.Error("the refused request reached the backend")
			}
			gate <- struct{}{}
			if got := <-done; got != 200 {
				t.Errorf("slow request: %d", got)
			}
			if got := status("/fast"); got != 200 {
				t.Errorf("after the answer: %d, want 200", got)
			}

			// The backend down: the error answer releases the place.
			for range 3 {
				if got := status("/down"); got == 429 || got < 500 {
					t.Errorf("a request to a backend down: %d, want a 5xx of the proxy, not the limit's 429", got)
				}
			}
			if got := status("/fast"); got != 200 {
				t.Errorf("after requests to a backend down: %d, want 200", got)
			}

			// The client gone in the middle: released once the proxy
			// sees it (or the backend answers; the gate stays shut).
			before = slowSeen.Load()
			var conn net.Conn
			var err error
			if tc.scheme == "https" {
				conn, err = tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(tc.port)), &tls.Config{InsecureSkipVerify: true, ServerName: "held.test"})
			} else {
				conn, err = net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(tc.port)))
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write([]byte("GET /slow HTTP/1.1\r\nHost: held.test\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the abandoned request at the backend", func() bool { return slowSeen.Load() > before })
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0) // a reset
			}
			conn.Close()
			deadline := time.Now().Add(25 * time.Second)
			for status("/fast") != 200 {
				if time.Now().After(deadline) {
					t.Fatal("the place of a client gone in the middle was never released")
				}
				time.Sleep(20 * time.Millisecond)
			}

			// An upgraded connection holds its place until it closes.
			if tc.scheme == "http" {
				sock := dialWebsocket(t, tc.port, "held.test")
				if got, err := roundTrip(sock, "hi"); err != nil || got != "ws: hi" {
					t.Fatalf("websocket: %q, %v", got, err)
				}
				if got := status("/fast"); got != 429 {
					t.Errorf("with a websocket open: %d, want 429", got)
				}
				sock.Close()
				deadline := time.Now().Add(10 * time.Second)
				for status("/fast") != 200 {
					if time.Now().After(deadline) {
						t.Fatal("the place of a closed websocket was never released")
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}
