package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/testbin"
)

// statusOf is the status of a GET of url on a connection of its own, or 0
// when there is no answer within 2s.
func statusOf(url string) int {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// webBackend is the manifest of Service demo/web, port 80 named http, and
// its EndpointSlice with echo's address.
func webBackend(echo *nettest.EchoServer) string { return echoService("web", echo) }

// echoService is the manifest of Service demo/<name>, port 80 named http,
// and its EndpointSlice with echo's address.
func echoService(name string, echo *nettest.EchoServer) string {
	_, port, _ := net.SplitHostPort(echo.Addr)
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: demo}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s-1, namespace: demo, labels: {kubernetes.io/service-name: %[1]s}}
addressType: IPv4
ports: [{name: http, port: %[2]s}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
`, name, port)
}

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }
