package nettest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	// netnsDir is where `ip netns` keeps its named namespaces.
	netnsDir = "/run/netns"
	// hostIface is each host's interface on the Network.
	hostIface = "eth0"
	// maxHostName keeps namespace names short enough to read in `ip netns`.
	maxHostName = 32
)

// NewNetwork claims a network number, deletes whatever a killed run left
// under it, and makes the bridge with the Gateway address. Everything is
// deleted again when the test ends, failed or not. It needs root; under
// -short (make check, without root) it skips the test.
func NewNetwork(t testing.TB) *Network {
	t.Helper()
	skipShort(t)
	num, claim, err := claimNetwork()
	if err != nil {
		t.Fatalf("nettest: %v", err)
	}
	return newNetwork(t, num, claim)
}

func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: network namespaces need root (runs under make test)")
	}
}

// claimNetwork claims the lowest network number that no live process
// holds, machine-wide, with an abstract unix socket (see claimPort).
// Abstract socket names are per network namespace; the claim is made in
// the root namespace, where every thread is outside inNamespace.
func claimNetwork() (num int, claim net.Listener, err error) {
	for i := range 256 {
		claim, err = net.Listen("unix", fmt.Sprintf("@ingress-controller-test-net-%d", i))
		if err == nil {
			return i, claim, nil
		}
	}
	return 0, nil, fmt.Errorf("every network number is claimed; the last try: %w", err)
}

// newNetwork makes the Network numbered num, whose claim the caller holds
// and hands over.
func newNetwork(t testing.TB, num int, claim net.Listener) *Network {
	t.Helper()
	n := &Network{num: num, claim: claim}
	t.Cleanup(func() {
		if err := n.close(); err != nil {
			t.Errorf("nettest: network %s: %v", n.Prefix(), err)
		}
	})
	if err := removeNamed(num); err != nil {
		t.Fatalf("nettest: network %s: removing what a killed run left: %v", n.Prefix(), err)
	}
	br := n.bridge()
	err := RunIP(
		[]string{"link", "add", br, "type", "bridge"},
		[]string{"addr", "add", netip.PrefixFrom(n.Gateway(), 24).String(), "dev", br},
		[]string{"link", "set", br, "up"},
	)
	if err != nil {
		t.Fatalf("nettest: network %s: %v", n.Prefix(), err)
	}
	return n
}

// Names after the network number; see Network. Every link in the root
// namespace is "icn", the number, then a letter, so that no number's names
// are a prefix of another's.
func (n *Network) bridge() string               { return fmt.Sprintf("icn%dbr", n.num) }
func (n *Network) veth(i int) string            { return fmt.Sprintf("icn%dh%d", n.num, i) }
func (n *Network) namespace(host string) string { return namespacePrefix(n.num) + host }
func namespacePrefix(num int) string            { return fmt.Sprintf("icn%d-", num) }

func ownsLink(num int, name string) bool {
	rest, ok := strings.CutPrefix(name, fmt.Sprintf("icn%d", num))
	return ok && rest != "" && rest[0] >= 'a' && rest[0] <= 'z'
}

// removeNamed deletes every link in the root namespace and every namespace
// named after network number num. Deleting a root end of a veth deletes
// the host's end too, even when a socket still holds the namespace alive.
func removeNamed(num int) error {
	links, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	var errs []error
	for _, l := range links {
		if ownsLink(num, l.Name) {
			errs = append(errs, RunIP([]string{"link", "del", l.Name}))
		}
	}
	namespaces, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, ns := range namespaces {
		if strings.HasPrefix(ns.Name(), namespacePrefix(num)) {
			errs = append(errs, RunIP([]string{"netns", "del", ns.Name()}))
		}
	}
	return errors.Join(errs...)
}

// close deletes the namespaces, their veths and the bridge, then releases
// the number: its next owner must not find them.
func (n *Network) close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	err := removeNamed(n.num)
	n.claim.Close()
	return err
}

func (n *Network) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// AddHost makes a host: a namespace named after name (lower-case letters,
// digits and '-'), with lo up and eth0 on the bridge with the next address
// of the Network (.2, .3, ...). Its only routes are the connected ones.
func (n *Network) AddHost(t testing.TB, name string) *Host {
	t.Helper()
	if !validHostName(name) {
		t.Fatalf("nettest: host name %q: want 1 to %d lower-case letters, digits and '-'", name, maxHostName)
	}
	n.mu.Lock()
	i, closed := n.hosts, n.closed
	n.hosts++
	n.mu.Unlock()
	if closed {
		t.Fatalf("nettest: host %s: network %s is closed", name, n.Prefix())
	}
	if i+2 > 254 {
		t.Fatalf("nettest: host %s: network %s is full", name, n.Prefix())
	}
	h := &Host{
		Name:      name,
		Namespace: n.namespace(name),
		Addr:      netip.AddrFrom4([4]byte{198, 19, byte(n.num), byte(i + 2)}),
		network:   n,
	}
	// Made in one step with its peer already in the namespace, so no half
	// of a veth is ever left in the root namespace under another name.
	veth := n.veth(i)
	inHost := func(args ...string) []string { return append([]string{"-n", h.Namespace}, args...) }
	err := RunIP(
		[]string{"netns", "add", h.Namespace},
		[]string{"link", "add", veth, "type", "veth", "peer", "name", hostIface, "netns", h.Namespace},
		[]string{"link", "set", veth, "master", n.bridge(), "up"},
		inHost("addr", "add", netip.PrefixFrom(h.Addr, 24).String(), "dev", hostIface),
		inHost("link", "set", hostIface, "up"),
		inHost("link", "set", "lo", "up"),
	)
	if err != nil {
		t.Fatalf("nettest: host %s: %v", name, err)
	}
	return h
}

func validHostName(name string) bool {
	if name == "" || len(name) > maxHostName {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// Command is exec.CommandContext for name running in the host's
// namespace, by `ip netns exec`, which execs name: the Cmd's Process is
// name itself, so stopping it by its PID stops the program. Nothing kills
// it if the test binary dies; stop what you start before the test ends.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Namespace, name}, args...)...)
}

// DialContext connects from the host's namespace, for a rest.Config's or
// an http.Transport's Dial. addr must be an IP address and port: a name
// would be resolved by goroutines outside the namespace.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return nil, fmt.Errorf("host %s: dial %s: want an IP address and port: %w", h.Name, addr, err)
	}
	var c net.Conn
	err := h.inNamespace(func() (err error) {
		// One IP address: the dial stays on this goroutine (no parallel
		// fallback dials), so its socket is made in the namespace.
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	return c, nil
}

// Listen listens in the host's namespace. addr is an IP address and port,
// or ":port" for every address of the host. Close the listener before the
// test ends: an open socket keeps the namespace alive after its cleanup.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err == nil && host != "" {
		_, err = netip.ParseAddr(host)
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: listen on %s: want an IP address and port: %w", h.Name, addr, err)
	}
	var ln net.Listener
	err = h.inNamespace(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, err
	}
	return ln, nil
}

// inNamespace runs fn on an OS thread that is in the host's namespace
// while fn runs, and returns fn's error as it is. Sockets stay in the
// namespace they were made in, so what fn opens keeps working from any
// goroutine afterwards. fn runs on a new goroutine rather than the
// caller's, which may have its thread locked for reasons of its own, and
// so that the thread can be thrown away: if it cannot go back to its
// namespace, it stays locked and the runtime ends it with the goroutine,
// so no other goroutine ever runs in the wrong namespace.
func (h *Host) inNamespace(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := runInNamespace(filepath.Join(netnsDir, h.Namespace), fn)
		if restored {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// runInNamespace switches the calling thread, which must be locked, to the
// namespace at path, runs fn and switches back. restored reports whether
// the thread is in its own namespace again.
func runInNamespace(path string, fn func() error) (restored bool, err error) {
	own, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, fmt.Errorf("opening the thread's network namespace: %w", err)
	}
	defer unix.Close(own)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, fmt.Errorf("opening network namespace %s: %w", path, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return true, fmt.Errorf("entering network namespace %s: %w", path, err)
	}
	fnErr := fn()
	if err := unix.Setns(own, unix.CLONE_NEWNET); err != nil {
		return false, errors.Join(fnErr, fmt.Errorf("leaving network namespace %s: %w", path, err))
	}
	return true, fnErr
}

// Partition drops everything the host sends to addr, with a blackhole
// route in its namespace: new connections to addr fail at once (the
// kernel has no route to it, EINVAL), established ones stall as if every
// packet were lost, in both directions for TCP, since the host sends no
// acknowledgements either. heal deletes the route; the test's cleanup does
// too if heal was not called.
func (h *Host) Partition(t testing.TB, addr netip.Addr) (heal func()) {
	t.Helper()
	route := netip.PrefixFrom(addr, addr.BitLen()).String()
	if err := RunIP([]string{"-n", h.Namespace, "route", "add", "blackhole", route}); err != nil {
		t.Fatalf("nettest: partition host %s from %s: %v", h.Name, addr, err)
	}
	var once sync.Once
	heal = func() {
		once.Do(func() {
			if h.network.isClosed() {
				return // the route went with the namespace
			}
			if err := RunIP([]string{"-n", h.Namespace, "route", "del", "blackhole", route}); err != nil {
				t.Errorf("nettest: heal host %s from %s: %v", h.Name, addr, err)
			}
		})
	}
	t.Cleanup(heal)
	return heal
}
