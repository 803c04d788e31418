package kubernetes_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// TestStatusOwnAddress: a load balancer on an address of its own
// (lbconfig.LoadBalancer.Addresses, which no Ingress sets yet: the test
// sets it on the translated config) is served there, and its Ingresses'
// status is that address, not --publish-status-address.
func TestStatusOwnAddress(t *testing.T) {
	f := newFixture(t)
	class := "status-own-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	const own = "127.0.0.2"
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns},
		publishAddresses: []string{"198.18.4.250"},
		assign: func(cfg *lbconfig.Config) *lbconfig.Config {
			for i := range cfg.LoadBalancers {
				cfg.LoadBalancers[i].Addresses = []netip.Addr{netip.MustParseAddr(own)}
			}
			return cfg
		}})
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	eventually(t, converge, "web.test served on "+own, func() error {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s:%d/", own, c.port), nil)
		if err != nil {
			return err
		}
		req.Host = "web.test"
		resp, err := proxyClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if got := resp.Header.Get("X-Echo-Server"); resp.StatusCode != http.StatusOK || got != "a" {
			return fmt.Errorf("got %d from %q", resp.StatusCode, got)
		}
		return nil
	})
	if _, err := get(c.port, "web.test", "/"); err == nil {
		t.Errorf("the load balancer on %s also answers on 127.0.0.1", own)
	}
	f.expectStatus("web", []networkingv1.IngressLoadBalancerIngress{{
		IP: own, Ports: []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}},
	}}, statusDeadline)
}
