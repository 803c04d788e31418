package providertest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"ingress-controller/pkg/lbconfig"
)

// testTCPSplit: a TCP listener's connections spread by weight over its
// TCPBackends, one choice per connection, a backend of weight 0 never
// drawn and one without endpoints refusing its share; an existing
// connection keeps its backend when a change sends new ones elsewhere;
// and clients or backends that stall or half-close hold nothing but
// their own connection.
func (s *Suite) testTCPSplit(t *testing.T) {
	needs(t, s.Capabilities.TCP, "TCP")
	t.Run("Weights", s.testTCPWeights)
	t.Run("ConnectionKeepsBackendAcrossChange", s.testTCPKeepsBackendAcrossChange)
	t.Run("HostilePeers", s.testTCPHostile)
}

// tcpSplitListener is a TCP listener on port spreading over bs by the
// weights given, the first the primary.
func tcpSplitListener(port int32, bs ...lbconfig.WeightedBackend) lbconfig.Listener {
	return lbconfig.Listener{Port: port, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: bs[0].Name}, TCPBackends: bs}
}

func (s *Suite) testTCPWeights(t *testing.T) {
	l := s.start(t)
	a, b, zero := l.startBackend("a"), l.startBackend("b"), l.startBackend("zero")
	dead := lbconfig.Backend{Name: "test/dead:5432"}
	port := l.freePort()
	c := config([]lbconfig.LoadBalancer{loadBalancer("default", tcpSplitListener(port,
		lbconfig.WeightedBackend{Name: a.ref, Weight: 6}, lbconfig.WeightedBackend{Name: b.ref, Weight: 2},
		lbconfig.WeightedBackend{Name: zero.ref, Weight: 0}, lbconfig.WeightedBackend{Name: dead.Name, Weight: 2}))},
		a.pool(), b.pool(), zero.pool(), dead)
	c.Sort()
	l.apply(c)
	l.eventually("the TCP listener to serve", func() (bool, string) {
		r := l.rawHTTP(port, "weights.example")
		return r.err == nil && r.server != "", r.String()
	})
	// 60%, 20%, 0% and 20% refused of n connections; the bounds are more
	// than four standard deviations wide.
	const n = 300
	got := map[string]int{}
	for range n {
		r := l.rawHTTP(port, "weights.example")
		switch {
		case r.err == nil:
			got[r.server]++
		case errors.Is(r.err, io.EOF) || errors.Is(r.err, io.ErrUnexpectedEOF) || isReset(r.err):
			got["refused"]++
		default:
			t.Fatalf("%s: a connection neither served nor refused: %s", l.p.Name(), r)
		}
	}
	for name, want := range map[string][2]int{"a": {140, 220}, "b": {30, 90}, "zero": {0, 0}, "refused": {30, 90}} {
		if got[name] < want[0] || got[name] > want[1] {
			t.Errorf("%s: %d of %d connections went to %s, want %d to %d (6:2:0 and 2 refused); all: %v", l.p.Name(), got[name], n, name, want[0], want[1], got)
		}
	}
}

func (s *Suite) testTCPKeepsBackendAcrossChange(t *testing.T) {
	l := s.start(t)
	a, b := l.startBackend("a"), l.startBackend("b")
	port := l.freePort()
	apply := func(wa, wb int32) {
		c := config([]lbconfig.LoadBalancer{loadBalancer("default", tcpSplitListener(port,
			lbconfig.WeightedBackend{Name: a.ref, Weight: wa}, lbconfig.WeightedBackend{Name: b.ref, Weight: wb}))}, a.pool(), b.pool())
		if wa == 0 {
			c.LoadBalancers[0].Listeners[0].TCP.Name = b.ref
		}
		c.Sort()
		l.apply(c)
	}
	apply(1, 0)
	var conn rawConn
	l.eventually("a keep-alive connection through the TCP listener to a", func() (bool, string) {
		conn = l.dialRaw(port)
		status, server, err := keepAliveGet(conn)
		if err != nil || status != http.StatusOK || server != "a" {
			_ = conn.Close()
			return false, fmt.Sprintf("status %d from %q, %v", status, server, err)
		}
		return true, ""
	})
	apply(0, 1)
	l.eventually("new connections to go to b", func() (bool, string) {
		r := l.rawHTTP(port, "change.example")
		return r.err == nil && r.server == "b", r.String()
	})
	for i := range 3 {
		if status, server, err := keepAliveGet(conn); err != nil || status != http.StatusOK || server != "a" {
			t.Fatalf("%s: request %d on the connection opened before the change: status %d from %q, %v; want 200 from a, which is still in the config", l.p.Name(), i+2, status, server, err)
		}
	}
}

// keepAliveGet sends one keep-alive request on c and reads its answer.
func keepAliveGet(c rawConn) (int, string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: change.example\r\n\r\n"); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Echo-Server"), err
}

func (s *Suite) testTCPHostile(t *testing.T) {
	l := s.start(t)
	a := l.startBackend("a")
	mute := startMuteBackend(t)
	port, mutePort := l.freePort(), l.freePort()
	c := config([]lbconfig.LoadBalancer{loadBalancer("default",
		tcpSplitListener(port, lbconfig.WeightedBackend{Name: a.ref, Weight: 1}),
		tcpSplitListener(mutePort, lbconfig.WeightedBackend{Name: mute.Name, Weight: 1}))}, a.pool(), mute.Backend)
	c.Sort()
	l.apply(c)
	l.eventually("the TCP listener to serve", func() (bool, string) {
		r := l.rawHTTP(port, "hostile.example")
		return r.err == nil && r.server == "a", r.String()
	})

	// Clients that connect and send nothing take no one else's turn.
	for range 50 {
		l.dialRaw(port)
	}
	if r := l.rawHTTP(port, "hostile.example"); r.err != nil || r.server != "a" {
		t.Errorf("%s: with 50 silent connections open: %s; want 200 from a", l.p.Name(), r)
	}

	// A client that half-closes after its request still gets the whole
	// answer.
	hc := l.dialRaw(port)
	_ = hc.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(hc, "GET / HTTP/1.1\r\nHost: hostile.example\r\nConnection: close\r\n\r\n")
	if err := hc.Conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(hc.br, nil); err != nil || resp.Header.Get("X-Echo-Server") != "a" {
		t.Errorf("%s: a request whose client half-closed: %v, %v; want the answer of a", l.p.Name(), resp, err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	// A backend that never answers keeps only its own client waiting,
	// and learns when that client goes.
	mc := l.dialRaw(mutePort)
	_, _ = io.WriteString(mc, "hello?\n")
	var peer net.Conn
	select {
	case peer = <-mute.accepted:
	case <-time.After(converge):
		t.Fatalf("%s: the mute backend got no connection", l.p.Name())
	}
	if r := l.rawHTTP(port, "hostile.example"); r.err != nil || r.server != "a" {
		t.Errorf("%s: while a backend stalls another listener's client: %s; want 200 from a", l.p.Name(), r)
	}
	_ = mc.Close()
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	var err error
	for err == nil {
		_, err = peer.Read(buf)
	}
	if !errors.Is(err, io.EOF) && !isReset(err) {
		t.Errorf("%s: the mute backend's connection after its client closed: %v; want it closed by the load balancer", l.p.Name(), err)
	}
}

// muteBackend accepts connections and never writes; accepted gets each.
type muteBackend struct {
	lbconfig.Backend
	accepted chan net.Conn
}

func startMuteBackend(t *testing.T) *muteBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &muteBackend{
		Backend: lbconfig.Backend{Name: "test/mute:5432", Endpoints: []lbconfig.Endpoint{{
			Address: "127.0.0.1", Port: int32(ln.Addr().(*net.TCPAddr).Port), Ready: true, Serving: true,
		}}},
		accepted: make(chan net.Conn, 16),
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case m.accepted <- c:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return m
}
