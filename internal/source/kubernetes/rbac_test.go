package kubernetes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/nettest"
	kubesource "ingress-controller/internal/source/kubernetes"
)

// TestRestrictedRBAC runs the controller binary as the ServiceAccount of
// deploy/rbac.yaml, with nothing but the ClusterRole and Role granted
// there, watching all namespaces with the Gateway API on: it serves,
// writes status (of Ingresses, a BackendTLSPolicy and a ListenerSet) and
// Events, keeps a Gateway's Service and EndpointSlice and holds its Lease,
// and is refused what it has no business doing.
func TestRestrictedRBAC(t *testing.T) {
	cfg := applyDeploy(t)
	gf := newGatewayFixture(t)
	f := gf.fixture
	class := "rbac-" + f.ns
	addrs, port := startBackends(t, "a")
	f.service("web", "http", 80, port)
	f.slice("web-1", "web", "http", port, addrs["a"])
	f.createIngress(ingress("web", &class, route{host: "web.test", path: "/", service: "web", port: "http"}))
	f.createIngress(ingress("broken", &class, route{host: "broken.test", path: "/", service: "missing", port: "http"}))

	p := startBinary(t, "controller", cfg,
		"--ingress-class="+class,
		"--election-namespace="+deployNamespace,
		"--election-id=rbac-"+f.ns,
		"--publish-status-address=198.18.4.252",
		// ConfigMaps are watched for custom-headers.
		"--nginx-compat", "--nginx-ingress-class=nginx-"+f.ns, "--nginx-allowed-response-headers=X-Team",
		"--gateway-api",
	)
	rbacBackendTLSPolicy(t, gf)
	rbacGatewayService(t, gf)
	rbacListenerSet(t, gf)
	expect(t, p.port, "web.test", "/", ok("a"))
	expect(t, p.port, "broken.test", "/", unavailable)
	f.expectStatus("web", []networkingv1.IngressLoadBalancerIngress{{
		IP: "198.18.4.252", Ports: []networkingv1.IngressPortStatus{{Port: int32(p.port), Protocol: corev1.ProtocolTCP}},
	}}, statusDeadline)
	f.expectEvents("Ingress", "web", kubesource.ReasonSync, 1)
	f.expectEvents("Ingress", "broken", "ServiceNotFound", 1)
	eventually(t, converge, "Lease held", func() error {
		lease, err := f.client.CoordinationV1().Leases(deployNamespace).Get(f.ctx, "rbac-"+f.ns, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := ptr.Deref(lease.Spec.HolderIdentity, ""); got != p.identity {
			return fmt.Errorf("holder %q, want %q", got, p.identity)
		}
		return nil
	})

	eventually(t, converge, "replica listed", func() error {
		replicas, err := kubesource.ListReplicas(f.ctx, f.client, deployNamespace, "rbac-"+f.ns, time.Now())
		if err != nil {
			return err
		}
		if len(replicas) != 1 || replicas[0].Name != "controller" || !replicas[0].Serving["default"] {
			return fmt.Errorf("replicas %+v, want controller serving default", replicas)
		}
		return nil
	})

	// What it must not do.
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ing, err := client.NetworkingV1().Ingresses(f.ns).Get(f.ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get ingress as %s: %v", serviceAccount, err)
	}
	ing.Spec.Rules[0].Host = "hijacked.test"
	if _, err := client.NetworkingV1().Ingresses(f.ns).Update(f.ctx, ing, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("update ingress spec as %s: %v, want Forbidden", serviceAccount, err)
	}
	if _, err := client.CoreV1().Secrets(f.ns).Create(f.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "planted"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create secret as %s: %v, want Forbidden", serviceAccount, err)
	}
	if _, err := client.CoreV1().ConfigMaps(f.ns).Create(f.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "planted"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create configmap as %s: %v, want Forbidden", serviceAccount, err)
	}
	if _, err := client.CoordinationV1().Leases(f.ns).List(f.ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list leases outside %s as %s: %v, want Forbidden", deployNamespace, serviceAccount, err)
	}

	// Nothing it needed was refused.
	p.terminate(t)
	if _, err := f.client.CoordinationV1().Leases(deployNamespace).Get(f.ctx, kubesource.ReplicaLeaseName("rbac-"+f.ns, "controller"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("replica Lease after the controller stopped: %v, want NotFound", err)
	}
	if out := p.out.String(); strings.Contains(strings.ToLower(out), "forbidden") || strings.Contains(out, "does not serve this kind") {
		t.Errorf("the controller was refused something it needs:\n%s", out)
	}
}

// rbacBackendTLSPolicy makes a Gateway of a class of ours with a route to
// a Service that a BackendTLSPolicy targets, and waits for the policy's
// status, which only its status subresource lets the controller write.
func rbacBackendTLSPolicy(t *testing.T, f *gatewayFixture) {
	t.Helper()
	class := "rbac-gw-" + f.ns
	f.gatewayClass(class)
	f.gateway(newGateway("gw", class, httpListener("http", nettest.FreePort(t))))
	f.route(newHTTPRoute("tls", []gatewayv1.ParentReference{{Name: "gw"}}, backendRule(backendRef("web", 80))))
	f.backendTLSPolicy(newBackendTLSPolicy("web", "web", "no-such-ca", "web.test"))
	eventually(t, statusDeadline, "BackendTLSPolicy status", func() error {
		p, err := f.gw.GatewayV1().BackendTLSPolicies(f.ns).Get(f.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(p.Status.Ancestors) != 1 {
			return fmt.Errorf("ancestors %v, want one", p.Status.Ancestors)
		}
		return hasCondition(p.Status.Ancestors[0].Conditions, "Accepted", metav1.ConditionFalse, "NoValidCACertificate", p.Generation)
	})
}

// rbacGatewayService makes a Gateway of a class of ours on an address an
// EndpointSlice may hold, and waits for its Service and EndpointSlice.
func rbacGatewayService(t *testing.T, f *gatewayFixture) {
	t.Helper()
	class := "rbac-svc-" + f.ns
	f.gatewayClass(class)
	addr := nettest.LoopbackAddress(t, "198.18.94.2").String()
	gw := newGateway("svc", class, httpListener("http", nettest.FreePort(t)))
	gw.Spec.Addresses = ipAddresses(addr)
	gw.Spec.Infrastructure = &gatewayv1.GatewayInfrastructure{Labels: map[gatewayv1.LabelKey]gatewayv1.LabelValue{"team": "edge"}}
	f.gateway(gw)
	name := "svc-" + class
	eventually(t, statusDeadline, "the Gateway's Service and EndpointSlice", func() error {
		svc, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if svc.Labels["team"] != "edge" {
			return fmt.Errorf("Service labels %v", svc.Labels)
		}
		es, err := f.client.DiscoveryV1().EndpointSlices(f.ns).Get(f.ctx, name+"-ipv4", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(es.Endpoints) != 1 || es.Endpoints[0].Addresses[0] != addr {
			return fmt.Errorf("EndpointSlice endpoints %v, want %s", es.Endpoints, addr)
		}
		return nil
	})
}

// rbacListenerSet makes a ListenerSet for the Gateway of
// rbacBackendTLSPolicy, which allows none, and waits for its status
// (NotAllowed), which the controller reads only by listing ListenerSets
// and writes only through their status subresource.
func rbacListenerSet(t *testing.T, f *gatewayFixture) {
	t.Helper()
	f.listenerSet(newListenerSet("extra", gatewayv1.ParentGatewayReference{Name: "gw"},
		gatewayv1.ListenerEntry{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: nettest.FreePort(t)}))
	eventually(t, statusDeadline, "ListenerSet status", func() error {
		s, err := f.gw.GatewayV1().ListenerSets(f.ns).Get(f.ctx, "extra", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return hasCondition(s.Status.Conditions, "Accepted", metav1.ConditionFalse, "NotAllowed", s.Generation)
	})
}
