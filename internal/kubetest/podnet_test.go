package kubetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ingress-controller/internal/nettest"
)

// A killed run leaves its bridge, veths and namespaces behind; the next
// owner of the number deletes them before making its own.
func TestPodNetworkRemovesLeftovers(t *testing.T) {
	n, err := newPodNetwork()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := n.close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if links := ownLinks(t, n.num); len(links) > 0 {
			t.Errorf("links left after close: %v", links)
		}
		if names := ownNamespaces(t, n.num); len(names) > 0 {
			t.Errorf("namespaces left after close: %v", names)
		}
	}()
	pod, err := n.addPod()
	if err != nil {
		t.Fatal(err)
	}
	// As a killed run would leave them: a pod, a stray namespace and a
	// stray link under the number, and the bridge.
	stray := fmt.Sprintf("icp%d-999", n.num)
	strayLink := fmt.Sprintf("icp%dv999", n.num)
	if err := nettest.RunIP([]string{"netns", "add", stray}, []string{"link", "add", strayLink, "type", "bridge"}); err != nil {
		t.Fatal(err)
	}
	// Another number's names are not ours, even with our number as prefix.
	other := fmt.Sprintf("icp%d0br", n.num)
	if n.num < 12 && !linkExists(other) {
		if err := nettest.RunIP([]string{"link", "add", other, "type", "bridge"}); err != nil {
			t.Fatal(err)
		}
		defer nettest.RunIP([]string{"link", "del", other})
	}
	again := &podNetwork{num: n.num, claim: n.claim}
	if err := again.create(); err != nil {
		t.Fatalf("create over leftovers: %v", err)
	}
	for _, name := range []string{pod.veth, strayLink} {
		if linkExists(name) {
			t.Errorf("link %s survived", name)
		}
	}
	for _, ns := range []string{pod.Namespace, stray} {
		if _, err := os.Stat(netnsDir + "/" + ns); err == nil {
			t.Errorf("namespace %s survived", ns)
		}
	}
	if !linkExists(n.bridge()) {
		t.Errorf("bridge %s not made again", n.bridge())
	}
	if n.num < 12 && !linkExists(other) {
		t.Errorf("link %s of another number was deleted", other)
	}
}

// A pod routes to 198.18.0.0/15 through the node and nowhere else, and
// the node reaches it over the bridge; a full network says so.
func TestPodNetworkRoutes(t *testing.T) {
	n, err := newPodNetwork()
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	pod, err := n.addPod()
	if err != nil {
		t.Fatal(err)
	}
	if !n.prefix().Contains(pod.Addr) || pod.Addr == n.gateway() {
		t.Errorf("pod address %s, want one in %s other than %s", pod.Addr, n.prefix(), n.gateway())
	}
	out, err := exec.Command("ip", "-n", pod.Namespace, "route", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route: %v: %s", err, out)
	}
	routes := strings.TrimSpace(string(out))
	if strings.Contains(routes, "default") || !strings.Contains(routes, "198.18.0.0/15 via "+n.gateway().String()) {
		t.Errorf("pod routes:\n%s\nwant 198.18.0.0/15 via %s and no default", routes, n.gateway())
	}
	out, err = exec.Command("ip", "netns", "exec", pod.Namespace, "ip", "route", "get", "10.0.0.1").CombinedOutput()
	if err == nil {
		t.Errorf("pod has a route to 10.0.0.1: %s", out)
	}
	// The node reaches the pod: a listener in the pod's namespace
	// answers a dial from the root namespace.
	ln := listenIn(t, pod.Namespace, "tcp", pod.Addr.String()+":0")
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial pod at %s from the node: %v", ln.Addr(), err)
	}
	conn.Close()

	n.mu.Lock()
	for i := range n.used {
		n.used[i] = true
	}
	n.mu.Unlock()
	if _, err := n.addPod(); err == nil || !strings.Contains(err.Error(), "full") {
		t.Errorf("addPod on a full network: %v", err)
	}
	if err := n.removePod(pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(netnsDir + "/" + pod.Namespace); err == nil {
		t.Errorf("namespace %s left after removePod", pod.Namespace)
	}
}

// listenIn listens from a thread that enters the namespace and is never
// unlocked: the runtime ends it with the goroutine, so no other goroutine
// ever runs in the pod's namespace. The socket stays there.
func listenIn(t *testing.T, ns, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(netnsDir + "/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		ln, err = net.Listen(network, addr)
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("listen in %s: %v", ns, err)
	}
	return ln
}

func ownLinks(t *testing.T, num int) []string {
	t.Helper()
	links, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	own := fmt.Sprintf("icp%d", num)
	var names []string
	for _, l := range links {
		if rest, ok := strings.CutPrefix(l.Name, own); ok && rest != "" && rest[0] >= 'a' && rest[0] <= 'z' {
			names = append(names, l.Name)
		}
	}
	return names
}

func ownNamespaces(t *testing.T, num int) []string {
	t.Helper()
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), fmt.Sprintf("icp%d-", num)) {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestPodAddressesNotReusedAtOnce: a removed pod's address goes to
// another pod only after the other addresses.
func TestPodAddressesNotReusedAtOnce(t *testing.T) {
	n, err := newPodNetwork()
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	first, err := n.addPod()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.removePod(first); err != nil {
		t.Fatal(err)
	}
	second, err := n.addPod()
	if err != nil {
		t.Fatal(err)
	}
	defer n.removePod(second)
	if second.Addr == first.Addr {
		t.Errorf("the next pod got %s again, the address just freed", second.Addr)
	}
	n.mu.Lock()
	for i := range n.used {
		n.used[i] = i != first.host
	}
	n.mu.Unlock()
	third, err := n.addPod()
	if err != nil {
		t.Fatal(err)
	}
	defer n.removePod(third)
	if third.Addr != first.Addr {
		t.Errorf("with only %s free, a pod got %s", first.Addr, third.Addr)
	}
}
