package kubernetes_test

import (
	"fmt"
	"net"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/internal/nettest"
	"ingress-controller/internal/translate"
)

// TestTCPServiceListener: a Service annotated with a TCP listen port is
// served as a TCP listener (here carrying HTTP to an echo backend, since
// any TCP will do), follows the annotation, and its port stays out of the
// Ingress status, which lists only the ports Ingresses are served on.
func TestTCPServiceListener(t *testing.T) {
	f := newFixture(t)
	class := "tcp-" + f.ns
	addrs, port := startBackends(t, "a", "b")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	c := startController(t, controllerOptions{class: class, namespaces: []string{f.ns}})
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	expect(t, c.port, "web.test", "/", ok("a"))

	tcpPort := int(nettest.FreePort(t))
	db := f.service("db", "pg", 5432, port)
	f.slice("db-1", "db", "pg", port, addrs["b"])
	db.Annotations = map[string]string{
		translate.AnnotationTCPListenPort: strconv.Itoa(tcpPort),
		translate.AnnotationServiceClass:  class,
	}
	if _, err := f.client.CoreV1().Services(f.ns).Update(f.ctx, db, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Any Host: the bytes go to the Service's endpoint as they are.
	expect(t, tcpPort, "anything.test", "/", ok("b"))
	f.expectStatus("web", []networkingv1.IngressLoadBalancerIngress{{
		IP: "127.0.0.1", Ports: []networkingv1.IngressPortStatus{{Port: int32(c.port), Protocol: corev1.ProtocolTCP}},
	}}, statusDeadline)

	// The annotation removed: the listener goes.
	db, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(db.Annotations, translate.AnnotationTCPListenPort)
	if _, err := f.client.CoreV1().Services(f.ns).Update(f.ctx, db, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, converge, "the TCP listener closed", func() error {
		// A new connection: open ones drain for --drain-timeout.
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tcpPort))
		if err == nil {
			c.Close()
			return fmt.Errorf("port %d still accepts", tcpPort)
		}
		return nil
	})
	expect(t, c.port, "web.test", "/", ok("a"))
}
