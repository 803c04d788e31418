//go:build unix

package nettest

import (
	"ingress-controller/pkg/lbconfig"
	"net"
	"os"
	"syscall"
	"testing"
)

// DeadPort is a 127.0.0.1 port where connects are refused until Listen:
// an endpoint that is down. A port that was merely free is not enough:
// while the test runs, another process (the test binaries of other
// packages run at the same time) may start listening on it. DeadPort
// holds a socket bound to the port that does not listen, so no one else
// can take it.
type DeadPort struct {
	Port int32
	fd   int
}

// NewDeadPort reserves a port for the rest of the test.
func NewDeadPort(t testing.TB) *DeadPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("nettest: dead port: %v", err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		_ = syscall.Close(fd)
		t.Fatalf("nettest: dead port: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		_ = syscall.Close(fd)
		t.Fatalf("nettest: dead port: %v", err)
	}
	d := &DeadPort{Port: int32(sa.(*syscall.SockaddrInet4).Port), fd: fd}
	t.Cleanup(func() {
		if d.fd >= 0 {
			_ = syscall.Close(d.fd)
		}
	})
	return d
}

// Endpoint is the port as a ready endpoint.
func (d *DeadPort) Endpoint() lbconfig.Endpoint {
	return lbconfig.Endpoint{Address: "127.0.0.1", Port: d.Port, Ready: true, Serving: true}
}

// Listen brings the port to life: the same socket starts listening, so
// there is no moment when another process could take the port.
func (d *DeadPort) Listen() (net.Listener, error) {
	if err := syscall.Listen(d.fd, 128); err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(d.fd), "nettest-dead-port")
	d.fd = -1
	defer f.Close()
	return net.FileListener(f)
}

// ServeEcho serves Echo{Name: name} on ln until Close.
func ServeEcho(name string, ln net.Listener) *EchoServer { return serveEcho(name, ln) }
