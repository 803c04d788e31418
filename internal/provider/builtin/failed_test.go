package builtin

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"ingress-controller/internal/nettest"
	"ingress-controller/pkg/lbconfig"
)

// TestFastPathFailedUploadCloses checks that a request whose backend
// cannot be reached gets 502 and its connection closed before the body,
// which holds what looks like a request, is read as one.
func TestFastPathFailedUploadCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := nettest.Endpoint(t, ln.Addr().String())
	ln.Close()
	p := startProxy(t, nettest.Logger(t))
	port := nettest.FreePort(t)
	mustApply(t, p, oneListener(port, []lbconfig.Backend{backendOf("gone", gone), backendOf("echo", nettest.EchoEndpoint(t, "e"))}, nil,
		vh("x.test", prefix("/", "gone"), prefix("/smuggled", "echo"))))
	inner := "GET /smuggled HTTP/1.1\r\nHost: x.test\r\n\r\n"
	rc := dialRaw(t, port)
	rc.send(fmt.Sprintf("POST /up HTTP/1.1\r\nHost: x.test\r\nContent-Length: %d\r\n\r\n%s", len(inner), inner))
	resp, _ := rc.read("POST")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	if rest, err := io.ReadAll(rc.r); err != nil || len(rest) != 0 {
		t.Fatalf("after the 502: %q, %v; want the connection closed", rest, err)
	}
}
