package nettest

import (
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// claims holds the sockets that claim ports for this process: closed
// (and so released) only when it exits.
var claims struct {
	mu sync.Mutex
	ln []net.Listener
}

// claimPort claims port for this process machine-wide with a unix socket
// in the abstract namespace: it leaves no file behind, and the kernel
// releases it when the process exits, however it exits.
func claimPort(port int32) bool {
	ln, err := net.Listen("unix", "@ingress-controller-test-port-"+strconv.Itoa(int(port)))
	if err != nil {
		return false
	}
	claims.mu.Lock()
	claims.ln = append(claims.ln, ln)
	claims.mu.Unlock()
	return true
}

// claimRange returns the 16384 ports, or as many as there are above
// 1024, below the kernel's ephemeral port range.
func claimRange() (lo, hi int32, ok bool) {
	r := portRange()
	return r[0], r[1], r[1] > r[0]
}

var portRange = sync.OnceValue(func() [2]int32 {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return [2]int32{}
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\t")
	n, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || n <= 2048 {
		return [2]int32{}
	}
	return [2]int32{int32(max(1024, n-16384)), int32(n)}
})
