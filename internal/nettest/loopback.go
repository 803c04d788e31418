package nettest

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
)

// AddLoopbackAddress adds addr as a /32 (or /128) to the loopback interface
// with `ip addr add`, for backends that need an address the API server
// accepts in EndpointSlices (use 198.18.0.0/17, a distinct /24 per test
// package: 198.18.128.0/17 is the conformance cluster's pod networks, see
// kubetest.StartConformance). It needs root. The returned remove deletes the address again,
// but only if this call added it: an address that was already there is
// left alone (and remove does nothing), so concurrent users never pull an
// address from under each other; one left by a killed run stays too.
func AddLoopbackAddress(addr netip.Addr) (remove func() error, err error) {
	prefix := netip.PrefixFrom(addr, addr.BitLen()).String()
	out, err := exec.Command("ip", "addr", "add", prefix, "dev", "lo").CombinedOutput()
	if err != nil {
		if alreadyAssigned(out) {
			return func() error { return nil }, nil
		}
		return nil, fmt.Errorf("ip addr add %s dev lo: %w: %s", prefix, err, strings.TrimSpace(string(out)))
	}
	return func() error {
		out, err := exec.Command("ip", "addr", "del", prefix, "dev", "lo").CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip addr del %s dev lo: %w: %s", prefix, err, strings.TrimSpace(string(out)))
		}
		return nil
	}, nil
}

// alreadyAssigned says whether the output of a failed `ip addr add` means
// the address is on the interface already: older kernels say "File exists"
// (EEXIST), newer ones "Address already assigned".
func alreadyAssigned(out []byte) bool {
	return bytes.Contains(out, []byte("File exists")) || bytes.Contains(out, []byte("Address already assigned"))
}

// LoopbackAddress adds addr to the loopback interface for the rest of the
// test (see AddLoopbackAddress) and returns it; cleanup removes it if the
// test added it. It fails the test if the address cannot be added, and
// skips it under -short (make check), which runs without root.
func LoopbackAddress(t testing.TB, addr string) netip.Addr {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: needs root to add addresses to lo (runs under make test)")
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		t.Fatalf("loopback address: %v", err)
	}
	remove, err := AddLoopbackAddress(a)
	if err != nil {
		t.Fatalf("loopback address: %v", err)
	}
	t.Cleanup(func() {
		if err := remove(); err != nil {
			t.Errorf("loopback address: %v", err)
		}
	})
	return a
}
