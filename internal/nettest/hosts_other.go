//go:build !linux

package nettest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"testing"
)

// Network namespaces are Linux's. Elsewhere NewNetwork skips the test, so
// no Network or Host exists and the methods below, there so that tests
// build, are never reached.

var errNoNamespaces = errors.New("nettest: network namespaces need Linux")

func NewNetwork(t testing.TB) *Network {
	t.Helper()
	t.Skip(errNoNamespaces)
	return nil
}

func (n *Network) AddHost(t testing.TB, name string) *Host {
	t.Helper()
	t.Fatal(errNoNamespaces)
	return nil
}

func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Err = errNoNamespaces // Start fails
	return cmd
}

func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, errNoNamespaces
}

func (h *Host) Listen(network, addr string) (net.Listener, error) {
	return nil, errNoNamespaces
}

func (h *Host) Partition(t testing.TB, addr netip.Addr) (heal func()) {
	t.Helper()
	t.Fatal(errNoNamespaces)
	return nil
}
