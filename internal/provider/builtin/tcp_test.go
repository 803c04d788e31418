package builtin

import (
	"bufio"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// startTCPEcho serves a line protocol: every line comes back as
// "<name>: <line>".
func startTCPEcho(t *testing.T, name string) lbconfig.Endpoint {
	t.Helper()
	return nettest.ServeRaw(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := io.WriteString(c, name+": "+line); err != nil {
				return
			}
		}
	})
}

func tcpConfig(port int32, p lbconfig.Policy, eps ...lbconfig.Endpoint) *lbconfig.Config {
	b := backendOf("tcp", slices.Clone(eps)...)
	b.Policy = p
	return &lbconfig.Config{
		LoadBalancers: []lbconfig.LoadBalancer{{Name: "default", Listeners: []lbconfig.Listener{{
			Port: port, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: "tcp"},
		}}}},
		Backends: []lbconfig.Backend{b},
	}
}

// say sends msg and returns the name of the endpoint that echoed it, or ""
// and the error.
func (tc *rawClient) say(msg string) (string, error) {
	_ = tc.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(tc.c, msg+"\n"); err != nil {
		return "", err
	}
	line, err := tc.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	name, echoed, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
	if echoed != msg {
		return "", io.ErrUnexpectedEOF
	}
	return name, nil
}

func TestTCPListener(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	res := mustApply(t, p, tcpConfig(port, lbconfig.Policy{}, startTCPEcho(t, "a"), startTCPEcho(t, "b")))
	if got := res.Endpoints["default"]; len(got) != 1 || !slices.Equal(got[0].Ports, []int32{port}) {
		t.Errorf("Result endpoints %v, want the TCP port %d", got, port)
	}
	seen := map[string]int{}
	for i := range 6 {
		tc := dialRaw(t, port)
		name, err := tc.say("hello " + strconv.Itoa(i))
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		// The same connection stays on its endpoint.
		if again, err := tc.say("again"); err != nil || again != name {
			t.Fatalf("connection %d moved from %s to %s (%v)", i, name, again, err)
		}
		seen[name]++
	}
	if seen["a"] != 3 || seen["b"] != 3 {
		t.Errorf("6 connections went %v, want 3 each round robin", seen)
	}
}

func TestTCPLeastConnections(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	a, b := startTCPEcho(t, "a"), startTCPEcho(t, "b")
	addrOf := map[string]string{"a": net.JoinHostPort(a.Address, strconv.Itoa(int(a.Port))), "b": net.JoinHostPort(b.Address, strconv.Itoa(int(b.Port)))}
	mustApply(t, p, tcpConfig(port, lbconfig.Policy{Algorithm: lbconfig.LeastRequest}, a, b))
	long := dialRaw(t, port)
	busy, err := long.say("stay")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		tc := dialRaw(t, port)
		name, err := tc.say("x")
		if err != nil {
			t.Fatal(err)
		}
		if name == busy {
			t.Errorf("connection %d went to %s, which has a connection open; want the idle endpoint", i, busy)
		}
		tc.c.Close()
		// Wait until the proxy saw that close, or the next pick would
		// still count it.
		waitFor(t, "the closed connection to leave the count", func() bool {
			return activeOf(p, addrOf[name]) == 0
		})
	}
}

// activeOf is the number of connections in progress to addr.
func activeOf(p *Provider, addr string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cp := p.pools[addr]; cp != nil {
		return cp.active.Load()
	}
	return -1
}

func TestTCPConnectionsAcrossChanges(t *testing.T) {
	const drain = time.Second
	p := New(provider.Options{ListenAddress: "127.0.0.1", DrainTimeout: drain}, nettest.Logger(t))
	runProvider(t, p)
	port, httpPort := nettest.FreePort(t), nettest.FreePort(t)
	a, b := startTCPEcho(t, "a"), startTCPEcho(t, "b")
	withHTTP := func(i int, eps ...lbconfig.Endpoint) *lbconfig.Config {
		cfg := tcpConfig(port, lbconfig.Policy{}, eps...)
		// An HTTP listener beside it whose routes change every time.
		cfg.Backends = append(cfg.Backends, backendOf("web", nettest.EchoEndpoint(t, "web")))
		cfg.LoadBalancers[0].Listeners = append(cfg.LoadBalancers[0].Listeners, lbconfig.Listener{
			Port: httpPort, Protocol: lbconfig.ProtocolHTTP,
			VirtualHosts: []lbconfig.VirtualHost{vh("h"+strconv.Itoa(i)+".test", prefix("/", "web"))},
		})
		return cfg
	}
	mustApply(t, p, withHTTP(0, a))
	tc := dialRaw(t, port)
	if name, err := tc.say("0"); err != nil || name != "a" {
		t.Fatalf("%q %v", name, err)
	}
	for i := 1; i <= 20; i++ {
		mustApply(t, p, withHTTP(i, a, b))
		if name, err := tc.say(strconv.Itoa(i)); err != nil || name != "a" {
			t.Fatalf("after change %d: %q %v; want the connection kept on a", i, name, err)
		}
		if a := get(t, testClient(t), httpPort, "h"+strconv.Itoa(i)+".test", "/"); a.server() != "web" {
			t.Fatalf("HTTP beside TCP after change %d: %+v", i, a)
		}
	}
	// a leaves: the connection works for the drain timeout, then closes.
	mustApply(t, p, withHTTP(21, b))
	removed := time.Now()
	if name, err := tc.say("draining"); err != nil || name != "a" {
		t.Errorf("right after its endpoint left: %q %v; want it still open", name, err)
	}
	if name, err := dialRaw(t, port).say("new"); err != nil || name != "b" {
		t.Errorf("a new connection: %q %v; want b", name, err)
	}
	_ = tc.c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := tc.r.ReadString('\n')
	if took := time.Since(removed); err == nil || took < drain || strings.Contains(err.Error(), "timeout") {
		t.Errorf("the drained connection ended after %s with %v; want it closed after the %s drain timeout", took, err, drain)
	}
}

func TestTCPRetriesAndNoEndpoints(t *testing.T) {
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, tcpConfig(port, lbconfig.Policy{Retries: 1}, deadEndpoint(t), startTCPEcho(t, "live")))
	for i := range 6 {
		if name, err := dialRaw(t, port).say("x"); err != nil || name != "live" {
			t.Fatalf("connection %d with a dead endpoint and a retry: %q %v", i, name, err)
		}
	}
	mustApply(t, p, tcpConfig(port, lbconfig.Policy{}))
	tc := dialRaw(t, port)
	_ = tc.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := tc.r.ReadByte(); err != io.EOF {
		t.Errorf("a TCP listener without endpoints: read %v, want the connection closed (EOF)", err)
	}
}
