package kubernetes_test

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/selfsigned"
)

// startTLSBackend starts the echo backend "tls" serving HTTPS with a
// certificate for dnsName, on a loopback address of its own, as the
// port "https" (443) of the Service "web" of f's namespace. It returns
// the CA that issued the certificate and another that did not.
func startTLSBackend(t *testing.T, f *fixture, dnsName string) (ca, other *selfsigned.Certificate) {
	t.Helper()
	ca, err := selfsigned.NewCA("cluster ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err = selfsigned.NewCA("other ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("web", time.Hour, selfsigned.ServerAuth, dnsName)
	if err != nil {
		t.Fatal(err)
	}
	n := nextBackendAddress.Add(1)
	addr := nettest.LoopbackAddress(t, fmt.Sprintf("198.18.4.%d", n)).String()
	echo, err := nettest.StartTLSEcho("tls", net.JoinHostPort(addr, "0"), cert.TLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = echo.Close() })
	_, portText, _ := net.SplitHostPort(echo.Addr)
	port, _ := strconv.Atoi(portText)
	f.service("web", "https", 443, int32(port))
	f.slice("web-1", "web", "https", int32(port), addr)
	return ca, other
}
