package providertest

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// Loopback addresses other than the listen address that load balancers
// get as their own (lbconfig.LoadBalancer.Addresses); Linux answers on
// all of 127.0.0.0/8 without setup.
var ownAddrs = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}

// onAddrs is a load balancer with addresses of its own.
func onAddrs(lb lbconfig.LoadBalancer, addrs ...string) lbconfig.LoadBalancer {
	for _, a := range addrs {
		lb.Addresses = append(lb.Addresses, netip.MustParseAddr(a))
	}
	return lb
}

// via is p sent to addr.
func via(addr string, p probe) probe {
	p.addr = addr
	return p
}

// testAddresses: load balancers on addresses of their own share a port,
// each serving its own routes; one moves to another address under load
// while the others keep serving without a failed request; an address the
// host does not have is rejected with the old config serving.
func (s *Suite) testAddresses(t *testing.T) {
	if s.ListenAddress != "127.0.0.1" {
		t.Skipf("the cases use 127.0.0.2 to .4 beside the listen address 127.0.0.1, not %s", s.ListenAddress)
	}
	t.Run("SharePort", func(t *testing.T) {
		l := s.start(t)
		a, b, d := l.startBackend("a"), l.startBackend("b"), l.startBackend("d")
		port := l.freePort()
		mk := func() *lbconfig.Config {
			return config([]lbconfig.LoadBalancer{
				loadBalancer("default", listener(port, d.defaultTo(), vhost("app.example", prefix("/", d)))),
				onAddrs(loadBalancer("test/a", listener(port, a.defaultTo(), vhost("app.example", exact("/d", d)))), ownAddrs[0]),
				onAddrs(loadBalancer("test/b", listener(port, b.defaultTo(), vhost("app.example", exact("/only", b)))), ownAddrs[1]),
			}, a.pool(), b.pool(), d.pool())
		}
		res := l.apply(mk())
		l.expect(
			at(port, "app.example", "/", from(d)),
			via(ownAddrs[0], at(port, "app.example", "/", from(a))),
			via(ownAddrs[0], at(port, "app.example", "/d", from(d))),
			via(ownAddrs[0], at(port, "other.example", "/", from(a))),
			via(ownAddrs[1], at(port, "app.example", "/only", from(b))),
			via(ownAddrs[1], at(port, "other.example", "/", from(b))),
		)
		l.checkResult(res, mk(), map[string]*backend{"default": d, "test/a": a, "test/b": b})
		for name, want := range map[string]string{"default": l.addr, "test/a": ownAddrs[0], "test/b": ownAddrs[1]} {
			got := res.Endpoints[name]
			if len(got) != 1 || got[0].IP != want {
				t.Errorf("Result.Endpoints[%q] = %+v, want only %s", name, got, want)
			}
		}
		l.refusedAt(ownAddrs[2], port)
	})
	t.Run("MoveUnderLoad", func(t *testing.T) {
		l := s.start(t)
		a, b, d := l.startBackend("a"), l.startBackend("b"), l.startBackend("d")
		port, other := l.freePort(), l.freePort()
		mk := func(aAddrs ...string) *lbconfig.Config {
			return config([]lbconfig.LoadBalancer{
				loadBalancer("default", listener(port, d.defaultTo())),
				onAddrs(loadBalancer("test/a", listener(port, a.defaultTo()), listener(other, a.defaultTo())), aAddrs...),
				onAddrs(loadBalancer("test/b", listener(port, b.defaultTo())), ownAddrs[1]),
			}, a.pool(), b.pool(), d.pool())
		}
		l.apply(mk(ownAddrs[0]))
		stay := []probe{at(port, "x.example", "/", from(d)), via(ownAddrs[1], at(port, "x.example", "/", from(b)))}
		l.expect(append(stay, via(ownAddrs[0], at(port, "x.example", "/", from(a))))...)
		var loads []*load
		for _, p := range stay {
			ld := l.startLoad(2, p)
			ld.waitSent(10)
			loads = append(loads, ld)
		}
		// To another address, to two, and back to the first.
		for _, move := range [][]string{{ownAddrs[2]}, {ownAddrs[0], ownAddrs[2]}, {ownAddrs[0]}} {
			l.apply(mk(move...))
			for _, addr := range move {
				l.expect(via(addr, at(port, "x.example", "/", from(a))), via(addr, at(other, "x.example", "/", from(a))))
			}
			for _, addr := range ownAddrs {
				if addr != ownAddrs[1] && !slices.Contains(move, addr) {
					l.refusedAt(addr, port)
					l.refusedAt(addr, other)
				}
			}
			for _, ld := range loads {
				ld.waitSent(ld.sent.Load() + 20)
			}
		}
		for _, ld := range loads {
			if n := ld.finish(); n < 60 {
				t.Errorf("only %d requests of load sent while load balancer test/a moved", n)
			}
		}
	})
	t.Run("TCPAndPassthrough", func(t *testing.T) {
		needs(t, s.Capabilities.TCP && s.Capabilities.TLS, "TCP and TLS")
		l := s.start(t)
		tcpA, tcpB := l.startBackend("tcp-a"), l.startBackend("tcp-b")
		cert := nettest.NewCert(t, "backend", "pass.example")
		passA, passB := l.startTLSBackend("pass-a", cert), l.startTLSBackend("pass-b", cert)
		tcpPort, tlsPort := l.freePort(), l.freePort()
		lb := func(name, addr string, tcp, pass *backend) lbconfig.LoadBalancer {
			return onAddrs(loadBalancer(name,
				lbconfig.Listener{Port: tcpPort, Protocol: lbconfig.ProtocolTCP, TCP: tcp.defaultTo()},
				lbconfig.Listener{Port: tlsPort, Protocol: lbconfig.ProtocolTLSPassthrough, VirtualHosts: []lbconfig.VirtualHost{
					{Hostname: "", Passthrough: pass.defaultTo()},
				}},
			), addr)
		}
		l.apply(config([]lbconfig.LoadBalancer{lb("test/a", ownAddrs[0], tcpA, passA), lb("test/b", ownAddrs[1], tcpB, passB)},
			tcpA.pool(), tcpB.pool(), passA.pool(), passB.pool()))
		for addr, want := range map[string][2]string{ownAddrs[0]: {"tcp-a", "pass-a"}, ownAddrs[1]: {"tcp-b", "pass-b"}} {
			l.eventually(fmt.Sprintf("TCP and TLS passthrough on %s", addr), func() (bool, string) {
				r := l.rawHTTPAt(addr, tcpPort, "x.example")
				if r.err != nil || r.server != want[0] {
					return false, "TCP: " + r.String()
				}
				served, r := l.tlsGetAt(addr, tlsPort, "pass.example", "pass.example", "/")
				if r.err != nil || r.server != want[1] || !served.Equal(cert.Leaf) {
					return false, "TLS passthrough: " + r.String()
				}
				return true, ""
			})
		}
		l.refusedAt(l.addr, tcpPort)
		l.refusedAt(l.addr, tlsPort)
	})
	t.Run("AddressNotOnHost", func(t *testing.T) {
		l := s.start(t)
		old, next := l.startBackend("old"), l.startBackend("new")
		port := l.freePort()
		l.apply(config([]lbconfig.LoadBalancer{
			onAddrs(loadBalancer("test/a", listener(port, old.defaultTo())), ownAddrs[0]),
		}, old.pool(), next.pool()))
		// 192.0.2.1 (TEST-NET-1) is on no interface of a test host.
		bad := config([]lbconfig.LoadBalancer{
			onAddrs(loadBalancer("test/a", listener(port, next.defaultTo())), ownAddrs[0], "192.0.2.1"),
		}, old.pool(), next.pool())
		l.expectRejected(bad, "a listener on 192.0.2.1, an address the host does not have",
			via(ownAddrs[0], at(port, "x.example", "/", from(old))))
	})
}

// refusedAt waits until nothing accepts connections on addr and port.
func (l *lab) refusedAt(addr string, port int32) {
	l.t.Helper()
	hp := net.JoinHostPort(addr, strconv.Itoa(int(port)))
	l.eventually(fmt.Sprintf("%s to stop accepting connections", hp), func() (bool, string) {
		conn, err := net.DialTimeout("tcp", hp, time.Second)
		if err != nil {
			return true, ""
		}
		_ = conn.Close()
		return false, hp + " accepts connections"
	})
}
