package nettest

import (
	"net"
	"net/netip"
	"sync"
	"testing"
)

// Network is a set of test hosts, each in a network namespace of its own,
// joined by a bridge in the root namespace: one small L2 segment on which a
// test runs processes that each have a machine to themselves (load-balancer
// hosts with a controller replica each, backends, a client). Linux only;
// elsewhere NewNetwork skips the test.
//
// # Theory of operation
//
// Other test binaries run at the same time and make Networks too, so each
// Network claims a number N in 0..255 machine-wide with an abstract unix
// socket, as FreePortOn claims ports: the kernel drops the claim when the
// process dies, however it dies. Everything the Network makes is named or
// numbered after N and nothing else uses those names: the prefix
// 198.19.N.0/24, the bridge icnNbr holding the gateway 198.19.N.1 in the
// root namespace, the namespaces icnN-<host>, the root ends of the hosts'
// veths icnNh<i> (the other end is eth0 in the host). So whoever claims N
// first deletes whatever carries those names, which only a run that was
// killed before its cleanup can have left; numbers are claimed lowest
// first, so a killed run's number soon comes round again.
//
// No namespace has a default route: a host reaches the other hosts and the
// gateway, over the connected /24, and nothing else, so no test packet
// leaves the machine. A kube-apiserver from kubetest listens on 127.0.0.1
// in the root namespace; Forward makes it (or any such server) reachable
// on the gateway.
type Network struct {
	num   int
	claim net.Listener // holds N; closed after everything is deleted

	mu     sync.Mutex
	hosts  int // added so far; the next one gets address .hosts+2
	closed bool
}

// Host is a network namespace on a Network.
type Host struct {
	// Name is the name given to AddHost.
	Name string
	// Namespace is the network namespace's name, for `ip netns exec` and
	// `ip -n`.
	Namespace string
	// Addr is the host's address on the Network, on its interface eth0.
	Addr netip.Addr

	network *Network
}

// Prefix is the Network's /24, 198.19.N.0/24.
func (n *Network) Prefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(n.num), 0}), 24)
}

// Gateway is the root namespace's address on the bridge, 198.19.N.1: where
// hosts reach the root namespace. It is no default route.
func (n *Network) Gateway() netip.Addr {
	return netip.AddrFrom4([4]byte{198, 19, byte(n.num), 1})
}

// Forward forwards TCP connections to the Gateway to target, a host:port
// the root namespace reaches (the apiserver on 127.0.0.1), until the test
// ends, and returns the address to connect to, on a port of the Gateway.
func (n *Network) Forward(t testing.TB, target string) string {
	t.Helper()
	return forward(t, netip.AddrPortFrom(n.Gateway(), 0).String(), target)
}
