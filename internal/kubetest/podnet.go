package kubetest

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"ingress-controller/internal/nettest"
)

// The pod network of a node, like nettest's networks but in 198.18.0.0/15,
// where the apiserver accepts the addresses in EndpointSlices: a node claims
// a number N in 0..podNetworks-1 machine-wide with an abstract unix socket
// (the kernel drops the claim when the process dies) and owns everything
// named or numbered after it: the prefix 198.18.(128+N).0/24, the bridge
// icpNbr holding the node's address 198.18.(128+N).1 in the root namespace,
// the pod namespaces icpN-<i> and the root ends of their veths icpNv<i>.
// Whoever claims N deletes whatever carries those names, which only a
// killed run can have left. Other tests put addresses of 198.18.0.0/17 on
// lo; the upper half is left to pod networks.
const (
	podNetworks = 128
	// podNetBase is the third octet of network 0.
	podNetBase = 128
	netnsDir   = "/run/netns"
	podIface   = "eth0"
)

// podRange is every address a pod routes to: test backends and other
// nodes' pods, never a default route, so no pod packet leaves the machine.
var podRange = netip.MustParsePrefix("198.18.0.0/15")

// podNetwork is a node's bridge and the addresses it hands to pods.
type podNetwork struct {
	num   int
	claim net.Listener

	mu      sync.Mutex
	used    [256]bool // host numbers .2 to .254 given to live pods
	last    int       // the host number given last
	nextID  int       // names namespaces and veths; never reused
	closed  bool
	history addressHistory
}

// newPodNetwork claims the lowest free number, removes a killed run's
// leftovers under it and makes the bridge with the node's address.
func newPodNetwork() (*podNetwork, error) {
	var claim net.Listener
	var err error
	for i := range podNetworks {
		claim, err = net.Listen("unix", fmt.Sprintf("@ingress-controller-test-podnet-%d", i))
		if err != nil {
			continue
		}
		n := &podNetwork{num: i, claim: claim, last: 1}
		if err := n.create(); err != nil {
			return nil, errors.Join(err, n.close())
		}
		return n, nil
	}
	return nil, fmt.Errorf("every pod network number is claimed; the last try: %w", err)
}

func (n *podNetwork) create() error {
	if err := n.removeNamed(); err != nil {
		return fmt.Errorf("pod network %s: removing what a killed run left: %w", n.prefix(), err)
	}
	return nettest.RunIP(
		[]string{"link", "add", n.bridge(), "address", macOf(n.gateway()), "type", "bridge"},
		[]string{"addr", "add", netip.PrefixFrom(n.gateway(), 24).String(), "dev", n.bridge()},
		[]string{"link", "set", n.bridge(), "up"},
	)
}

func (n *podNetwork) prefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(podNetBase + n.num), 0}), 24)
}

// gateway is the node's address: its InternalIP, the pods' hostIP, where
// the kubelet port listens.
func (n *podNetwork) gateway() netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, byte(podNetBase + n.num), 1})
}

func (n *podNetwork) bridge() string          { return fmt.Sprintf("icp%dbr", n.num) }
func (n *podNetwork) veth(id int) string      { return fmt.Sprintf("icp%dv%d", n.num, id) }
func (n *podNetwork) namespace(id int) string { return fmt.Sprintf("icp%d-%d", n.num, id) }

// removeNamed deletes every link and namespace named after the number.
// Deleting a veth's root end deletes the pod's end too.
func (n *podNetwork) removeNamed() error {
	links, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	own := fmt.Sprintf("icp%d", n.num)
	var errs []error
	for _, l := range links {
		if rest, ok := strings.CutPrefix(l.Name, own); ok && rest != "" && rest[0] >= 'a' && rest[0] <= 'z' {
			errs = append(errs, nettest.RunIP([]string{"link", "del", l.Name}))
		}
	}
	namespaces, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, ns := range namespaces {
		if strings.HasPrefix(ns.Name(), own+"-") {
			errs = append(errs, nettest.RunIP([]string{"netns", "del", ns.Name()}))
		}
	}
	return errors.Join(errs...)
}

// macOf is the MAC address of the interface holding addr, a locally
// administered one made of the address, as Docker makes its containers':
// the node (and every pod on the bridge) caches a pod's MAC address for
// up to a minute after it last answered, and a pod given a removed pod's
// address must answer at that MAC address, or the SYNs sent to it go to
// no one until the entry expires. The bridge has its gateway's, so that
// it keeps one MAC address whatever ports come and go: by default a
// bridge takes its lowest port's, and pods that cached it lose the node
// when that port goes.
func macOf(addr netip.Addr) string {
	a := addr.As4()
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3])
}

// podSandbox is one pod's network namespace and address.
type podSandbox struct {
	Namespace string
	Addr      netip.Addr
	veth      string
	host      int
}

// addPod makes a namespace with lo up and eth0 on the bridge at a free
// address, routed to podRange through the node and nowhere else.
func (n *podNetwork) addPod() (*podSandbox, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("pod network is closed")
	}
	// The next free number after the last one given: an address comes
	// back only after the others, so that nothing that still knows a
	// removed pod (a neighbour entry, an endpoint not yet updated, a
	// connection) reaches a new one at its address.
	host := 0
	for k := 1; k <= 253; k++ {
		if i := 2 + (n.last-2+k+253)%253; !n.used[i] {
			host = i
			break
		}
	}
	if host == 0 {
		n.mu.Unlock()
		return nil, fmt.Errorf("pod network %s is full", n.prefix())
	}
	n.used[host] = true
	n.last = host
	id := n.nextID
	n.nextID++
	n.history.add(host, "given to "+n.namespace(id))
	n.mu.Unlock()

	s := &podSandbox{
		Namespace: n.namespace(id),
		Addr:      netip.AddrFrom4([4]byte{198, 18, byte(podNetBase + n.num), byte(host)}),
		veth:      n.veth(id),
		host:      host,
	}
	in := func(args ...string) []string { return append([]string{"-n", s.Namespace}, args...) }
	err := nettest.RunIP(
		[]string{"netns", "add", s.Namespace},
		[]string{"link", "add", s.veth, "type", "veth", "peer", "name", podIface, "address", macOf(s.Addr), "netns", s.Namespace},
		[]string{"link", "set", s.veth, "master", n.bridge(), "up"},
		in("addr", "add", netip.PrefixFrom(s.Addr, 24).String(), "dev", podIface),
		in("link", "set", podIface, "up"),
		in("link", "set", "lo", "up"),
		in("route", "add", podRange.String(), "via", n.gateway().String()),
	)
	if err != nil {
		return nil, errors.Join(err, n.removePod(s))
	}
	return s, nil
}

// removePod deletes the pod's veth and namespace and frees its address.
func (n *podNetwork) removePod(s *podSandbox) error {
	var errs []error
	if linkExists(s.veth) {
		errs = append(errs, nettest.RunIP([]string{"link", "del", s.veth}))
	}
	if _, err := os.Stat(netnsDir + "/" + s.Namespace); err == nil {
		errs = append(errs, nettest.RunIP([]string{"netns", "del", s.Namespace}))
	}
	n.mu.Lock()
	n.used[s.host] = false
	n.history.add(s.host, "freed by "+s.Namespace)
	n.mu.Unlock()
	return errors.Join(errs...)
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// close deletes the bridge and every pod's namespace, then releases the
// number: its next owner must not find them.
func (n *podNetwork) close() error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	err := n.removeNamed()
	n.claim.Close()
	return err
}
