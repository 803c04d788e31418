package nettest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveEchoConns echoes every connection on ln until the test ends.
func serveEchoConns(t *testing.T, ln net.Listener) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// echoes writes msg on c, half-closes it and checks that msg comes back.
// It reads while it writes, so that msg may be larger than the buffers on
// the way.
func echoes(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, msg)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		written <- err
	}()
	got, err := io.ReadAll(c)
	if werr := <-written; werr != nil {
		t.Fatalf("write: %v", werr)
	}
	if err != nil || string(got) != msg {
		t.Fatalf("echo = %d bytes, %v; want the %d written", len(got), err, len(msg))
	}
}

func TestHostsReachEachOtherOnly(t *testing.T) {
	n := NewNetwork(t)
	a, b := n.AddHost(t, "a"), n.AddHost(t, "b")
	if !n.Prefix().Contains(a.Addr) || !n.Prefix().Contains(b.Addr) || a.Addr == b.Addr || a.Addr == n.Gateway() {
		t.Fatalf("addresses a %s, b %s, gateway %s in %s", a.Addr, b.Addr, n.Gateway(), n.Prefix())
	}

	ln, err := a.Listen("tcp", netip.AddrPortFrom(a.Addr, 0).String())
	if err != nil {
		t.Fatalf("listen in a: %v", err)
	}
	accepted := make(chan net.Addr, 1)
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		accepted <- c.RemoteAddr()
		io.Copy(c, c)
	}()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := b.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial a from b: %v", err)
	}
	defer c.Close()
	echoes(t, c, "hello from b")
	// The socket was made in b: it has b's address. If not, stop: the
	// root namespace has a route to 192.0.2.1.
	if from := (<-accepted).(*net.TCPAddr).AddrPort().Addr(); from != b.Addr {
		t.Fatalf("a accepted a connection from %s, want b's %s", from, b.Addr)
	}

	// TEST-NET-1: with no default route, nothing is even sent.
	began := time.Now()
	_, err = b.DialContext(ctx, "tcp", "192.0.2.1:80")
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("dial 192.0.2.1 from b: %v, want network unreachable", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("dial 192.0.2.1 from b failed after %s, want at once", d)
	}
}

func TestNoDefaultRoute(t *testing.T) {
	n := NewNetwork(t)
	h := n.AddHost(t, "lb")
	for _, family := range []string{"-4", "-6"} {
		out, err := h.Command(t.Context(), "ip", family, "route").CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s route in %s: %v: %s", family, h.Namespace, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "default") {
				t.Errorf("ip %s route in %s: %q", family, h.Namespace, line)
			}
		}
		if family == "-4" && !strings.Contains(string(out), n.Prefix().String()+" dev eth0") {
			t.Errorf("ip -4 route in %s: no route to %s on eth0:\n%s", h.Namespace, n.Prefix(), out)
		}
	}
}

func TestCommandRunsInHost(t *testing.T) {
	n := NewNetwork(t)
	h := n.AddHost(t, "client")
	out, err := h.Command(t.Context(), "ip", "-o", "addr").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -o addr: %v: %s", err, out)
	}
	s := string(out)
	for _, want := range []string{"lo    inet 127.0.0.1/8", "eth0    inet " + netip.PrefixFrom(h.Addr, 24).String()} {
		if !strings.Contains(s, want) {
			t.Errorf("ip -o addr in %s lacks %q:\n%s", h.Namespace, want, s)
		}
	}
	if strings.Contains(s, n.Gateway().String()+"/") {
		t.Errorf("ip -o addr in %s shows the root namespace's gateway:\n%s", h.Namespace, s)
	}

	// The Cmd's PID is the program's: ip netns exec execs it.
	cmd := h.Command(t.Context(), "sh", "-c", "echo $$")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("sh: %v", err)
	}
	if got := strings.TrimSpace(stdout.String()); got != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("sh says its PID is %s, Cmd.Process.Pid is %d", got, cmd.Process.Pid)
	}
}

func TestForwardFromHostToRootLoopback(t *testing.T) {
	n := NewNetwork(t)
	h := n.AddHost(t, "lb")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEchoConns(t, ln)
	via := n.Forward(t, ln.Addr().String())
	if ap := netip.MustParseAddrPort(via); ap.Addr() != n.Gateway() {
		t.Errorf("Forward listens on %s, want the gateway %s", via, n.Gateway())
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// The host's own loopback is not the root namespace's.
	if _, err := h.DialContext(ctx, "tcp", ln.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s from the host: %v, want connection refused", ln.Addr(), err)
	}
	for i := range 3 {
		c, err := h.DialContext(ctx, "tcp", via)
		if err != nil {
			t.Fatalf("dial %s from the host: %v", via, err)
		}
		echoes(t, c, strings.Repeat("through the forwarder ", 1+i*10000))
		c.Close()
	}
}

func TestPartition(t *testing.T) {
	n := NewNetwork(t)
	h := n.AddHost(t, "lb")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEchoConns(t, ln)
	via := n.Forward(t, ln.Addr().String())
	dial := func() (net.Conn, error) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		return h.DialContext(ctx, "tcp", via)
	}
	established, err := dial()
	if err != nil {
		t.Fatalf("dial %s before the partition: %v", via, err)
	}
	defer established.Close()

	heal := h.Partition(t, n.Gateway())
	if c, err := dial(); err == nil {
		c.Close()
		t.Fatalf("dial %s during the partition succeeded", via)
	} else {
		t.Logf("dial during the partition: %v", err)
	}
	// What was sent during the partition arrives only after it.
	if _, err := io.WriteString(established, "x"); err != nil {
		t.Fatalf("write during the partition: %v", err)
	}
	established.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := established.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during the partition: %v, want a timeout", err)
	}

	heal()
	c, err := dial()
	if err != nil {
		t.Fatalf("dial %s after heal: %v", via, err)
	}
	echoes(t, c, "healed")
	c.Close()
	established.SetReadDeadline(time.Now().Add(20 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(established, b); err != nil || b[0] != 'x' {
		t.Fatalf("read on the connection from before the partition: %q, %v", b, err)
	}
}

// TestCleanup checks that a Network leaves nothing behind once its test
// has ended, and gives its number back.
func TestCleanup(t *testing.T) {
	skipShort(t)
	var n *Network
	var hosts []*Host
	t.Run("network", func(t *testing.T) {
		n = NewNetwork(t)
		hosts = []*Host{n.AddHost(t, "lb1"), n.AddHost(t, "lb2")}
		hosts[0].Partition(t, hosts[1].Addr)
	})
	if t.Failed() || n == nil {
		return
	}
	list, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, list)
	}
	for _, h := range hosts {
		if strings.Contains(string(list), h.Namespace) {
			t.Errorf("namespace %s still there:\n%s", h.Namespace, list)
		}
	}
	for _, link := range []string{n.bridge(), n.veth(0), n.veth(1)} {
		out, err := exec.Command("ip", "link", "show", link).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "does not exist") {
			t.Errorf("ip link show %s: %v: %s, want it gone", link, err, out)
		}
	}
	if _, err := n.claim.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the claim on network number %d: %v, want it released", n.num, err)
	}
}

// TestLeftoversRemoved plays a run killed before its cleanup: what it made
// under a network number is there when the next Network claims the number.
func TestLeftoversRemoved(t *testing.T) {
	skipShort(t)
	num, claim, err := claimNetwork()
	if err != nil {
		t.Fatal(err)
	}
	n := &Network{num: num}
	ghost := n.namespace("ghost")
	leftovers := [][]string{
		{"netns", "add", ghost},
		{"link", "add", n.bridge(), "type", "bridge"},
		{"addr", "add", netip.PrefixFrom(n.Gateway(), 24).String(), "dev", n.bridge()},
		{"link", "add", n.veth(0), "type", "veth", "peer", "name", "eth0", "netns", ghost},
		{"link", "set", n.veth(0), "master", n.bridge(), "up"},
	}
	if err := RunIP(leftovers...); err != nil {
		removeNamed(num)
		claim.Close()
		t.Fatal(err)
	}

	n = newNetwork(t, num, claim)
	if list, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil || strings.Contains(string(list), ghost) {
		t.Errorf("ip netns list: %v, want no %s:\n%s", err, ghost, list)
	}
	// The new host gets the same veth name as the ghost had.
	h := n.AddHost(t, "lb")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(n.Gateway(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	serveEchoConns(t, ln)
	c, err := h.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial the gateway from a host: %v", err)
	}
	echoes(t, c, "fresh")
	c.Close()
}

func TestOwnsLink(t *testing.T) {
	for _, tc := range []struct {
		num  int
		name string
		want bool
	}{
		{1, "icn1br", true},
		{1, "icn1h12", true},
		{1, "icn12br", false},
		{1, "icn1", false},
		{12, "icn1h2", false},
		{0, "eth0", false},
	} {
		if got := ownsLink(tc.num, tc.name); got != tc.want {
			t.Errorf("ownsLink(%d, %q) = %v, want %v", tc.num, tc.name, got, tc.want)
		}
	}
}

// TestThreadsStayInRootNamespace checks that namespace switches never leak
// into the threads that run the rest of the program.
func TestThreadsStayInRootNamespace(t *testing.T) {
	n := NewNetwork(t)
	h := n.AddHost(t, "lb")
	ln, err := h.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	serveEchoConns(t, ln)
	addr := netip.AddrPortFrom(h.Addr, netip.MustParseAddrPort(ln.Addr().String()).Port()).String()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 50)
	for range cap(errs) {
		go func() {
			c, err := h.DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("dial %s in the host: %v", addr, err)
		}
	}

	root, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		ns, err := os.Readlink("/proc/self/task/" + task.Name() + "/ns/net")
		if err != nil {
			continue // the thread has exited
		}
		if ns != root {
			t.Errorf("thread %s is in %s, the process in %s", task.Name(), ns, root)
		}
	}
	t.Logf("%d threads, all in %s", len(tasks), root)
}
