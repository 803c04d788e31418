package kubernetes_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/nettest"
	kubesource "ingress-controller/internal/source/kubernetes"
)

// TestGatewayServices runs the Gateway API source with a Service per
// Gateway against the real API server: a Gateway with infrastructure
// labels and annotations, on an address of its own and a loopback one,
// gets its headless Service and an EndpointSlice of the address the API
// server takes; a change of the labels follows, an edit of the Service
// is undone and a deleted one comes back; a user's Service of the name
// the next Gateway's would have is left as it is and the Gateway gets a
// Warning; a Gateway naming parameters is not accepted and gets none;
// a deleted Gateway's objects go.
func TestGatewayServices(t *testing.T) {
	f := newGatewayFixture(t)
	class := "infra-" + f.ns
	f.gatewayClass(class)
	// 198.18.94.0/24 is this test's; 127.0.94.0/24 an EndpointSlice may
	// not hold.
	addr := nettest.LoopbackAddress(t, "198.18.94.1").String()
	const loopback = "127.0.94.250"
	userSvc := "clash-" + class // <gateway>-<class>, short enough
	if _, err := f.client.CoreV1().Services(f.ns).Create(f.ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: userSvc, Labels: map[string]string{"app": "mine"}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 9}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := startController(t, controllerOptions{class: "unused-" + f.ns, namespaces: []string{f.ns}, gatewayAPI: true, gatewayServices: true})

	httpPort, otherPort := nettest.FreePort(t), nettest.FreePort(t)
	other := httpListener("other", otherPort)
	other.Hostname = ptr.To(gatewayv1.Hostname("other.test"))
	gw := newGateway("web", class, httpListener("http", httpPort), other)
	gw.Spec.Addresses = ipAddresses(addr, loopback)
	gw.Spec.Infrastructure = &gatewayv1.GatewayInfrastructure{
		Labels:      map[gatewayv1.LabelKey]gatewayv1.LabelValue{"team": "edge"},
		Annotations: map[gatewayv1.AnnotationKey]gatewayv1.AnnotationValue{"example.com/owner": "edge-team"},
	}
	gw = f.gateway(gw)
	svcName := "web-" + class
	wantLabels := map[string]string{
		"team": "edge", "app.kubernetes.io/managed-by": "ingress-controller",
		"gateway.networking.k8s.io/gateway-name": "web", "gateway.networking.k8s.io/gateway-class-name": class,
	}
	f.expectGatewayService(svcName, gw, wantLabels, map[string]string{"example.com/owner": "edge-team"}, []int32{min(httpPort, otherPort), max(httpPort, otherPort)}, []string{addr})
	f.expectUnwritten(c, svcName)
	// The Gateway is served on its address.
	eventually(t, converge, "the Gateway serves", func() error {
		res, _, err := gatewayGet(addr, httpPort, "web.test", "/", nil, nil)
		if err != nil {
			return err
		}
		if res.code != 404 {
			return fmt.Errorf("got %s, want 404 (no routes)", res)
		}
		return nil
	})

	// The labels change: so do the Service's and the EndpointSlice's.
	gw = f.updateGateway("web", func(gw *gatewayv1.Gateway) {
		gw.Spec.Infrastructure.Labels = map[gatewayv1.LabelKey]gatewayv1.LabelValue{"team": "core", "tier": "front"}
		gw.Spec.Infrastructure.Annotations = nil
	})
	delete(wantLabels, "team")
	wantLabels["team"], wantLabels["tier"] = "core", "front"
	f.expectGatewayService(svcName, gw, wantLabels, nil, []int32{min(httpPort, otherPort), max(httpPort, otherPort)}, []string{addr})

	// An edit of ours is undone; ours deleted comes back.
	svc, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, svcName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Labels["team"] = "hijacked"
	if _, err := f.client.CoreV1().Services(f.ns).Update(f.ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.expectGatewayService(svcName, gw, wantLabels, nil, []int32{min(httpPort, otherPort), max(httpPort, otherPort)}, []string{addr})
	if err := f.client.DiscoveryV1().EndpointSlices(f.ns).Delete(f.ctx, svcName+"-ipv4", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.client.CoreV1().Services(f.ns).Delete(f.ctx, svcName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.expectGatewayService(svcName, gw, wantLabels, nil, []int32{min(httpPort, otherPort), max(httpPort, otherPort)}, []string{addr})

	// A user's Service has the name: left alone, and a Warning.
	before, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, userSvc, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clash := newGateway("clash", class, httpListener("http", nettest.FreePort(t)))
	clash.Spec.Infrastructure = &gatewayv1.GatewayInfrastructure{Labels: map[gatewayv1.LabelKey]gatewayv1.LabelValue{"team": "edge"}}
	f.gateway(clash)
	evs := f.expectEvents("Gateway", "clash", kubesource.ReasonServiceNameTaken, 1)
	if msg := evs[0].Message; !strings.Contains(msg, "Service "+f.ns+"/"+userSvc) {
		t.Errorf("Warning %q does not name the Service", msg)
	}
	f.consistentlyEvents("Gateway", "clash", kubesource.ReasonServiceNameTaken, 1)
	after, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, userSvc, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion || !maps.Equal(after.Labels, before.Labels) || len(after.OwnerReferences) != 0 {
		t.Errorf("the user's Service was written: version %s labels %v owners %v, was %s %v", after.ResourceVersion, after.Labels, after.OwnerReferences, before.ResourceVersion, before.Labels)
	}

	// A Gateway naming parameters is not accepted, and has no Service.
	params := newGateway("params", class, httpListener("http", nettest.FreePort(t)))
	params.Spec.Infrastructure = &gatewayv1.GatewayInfrastructure{ParametersRef: &gatewayv1.LocalParametersReference{
		Group: "invalid.io", Kind: "InvalidParameters", Name: "invalid",
	}}
	f.gateway(params)
	eventually(t, statusDeadline, "Gateway params not accepted", func() error {
		g, err := f.gw.GatewayV1().Gateways(f.ns).Get(f.ctx, "params", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return hasCondition(g.Status.Conditions, "Accepted", metav1.ConditionFalse, "InvalidParameters", g.Generation)
	})
	if _, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, "params-"+class, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Service of the Gateway not accepted: %v, want NotFound", err)
	}

	// The Gateway goes: so do its objects, and nothing else.
	if err := f.gw.GatewayV1().Gateways(f.ns).Delete(f.ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, statusDeadline, "the Gateway's objects deleted", func() error {
		if _, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, svcName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Service: %v", err)
		}
		list, err := f.client.DiscoveryV1().EndpointSlices(f.ns).List(f.ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svcName})
		if err != nil {
			return err
		}
		if len(list.Items) != 0 {
			return fmt.Errorf("%d EndpointSlices left", len(list.Items))
		}
		return nil
	})
	if _, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, userSvc, metav1.GetOptions{}); err != nil {
		t.Errorf("the user's Service: %v", err)
	}
}

// expectGatewayService waits for the Service name of gw, headless,
// selectorless, owned by gw, with exactly labels and annotations and TCP
// ports, and its EndpointSlice of IPv4 addresses, with the labels too.
func (f *gatewayFixture) expectGatewayService(name string, gw *gatewayv1.Gateway, labels, annotations map[string]string, ports []int32, addrs []string) {
	f.t.Helper()
	eventually(f.t, statusDeadline, "Service "+name, func() error {
		svc, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !maps.Equal(svc.Labels, labels) || !maps.Equal(svc.Annotations, annotations) {
			return fmt.Errorf("labels %v annotations %v", svc.Labels, svc.Annotations)
		}
		if svc.Spec.ClusterIP != corev1.ClusterIPNone || len(svc.Spec.Selector) != 0 {
			return fmt.Errorf("clusterIP %q selector %v", svc.Spec.ClusterIP, svc.Spec.Selector)
		}
		if owner := metav1.GetControllerOf(svc); owner == nil || owner.UID != gw.UID || owner.Kind != "Gateway" {
			return fmt.Errorf("controller %+v", owner)
		}
		var got []int32
		for _, p := range svc.Spec.Ports {
			got = append(got, p.Port)
		}
		if !slices.Equal(got, ports) {
			return fmt.Errorf("ports %v, want %v", got, ports)
		}
		es, err := f.client.DiscoveryV1().EndpointSlices(f.ns).Get(f.ctx, name+"-ipv4", metav1.GetOptions{})
		if err != nil {
			return err
		}
		var gotAddrs []string
		for _, e := range es.Endpoints {
			gotAddrs = append(gotAddrs, e.Addresses...)
		}
		if !slices.Equal(gotAddrs, addrs) || len(es.Ports) != len(ports) {
			return fmt.Errorf("EndpointSlice addresses %v ports %v, want %v", gotAddrs, es.Ports, addrs)
		}
		for k, v := range labels {
			if es.Labels[k] != v {
				return fmt.Errorf("EndpointSlice labels %v, want %s=%s", es.Labels, k, v)
			}
		}
		if es.Labels[discoveryv1.LabelServiceName] != name || es.Labels[discoveryv1.LabelManagedBy] != "gateway-controller.ingress-controller.io" {
			return fmt.Errorf("EndpointSlice labels %v", es.Labels)
		}
		return nil
	})
}

// expectUnwritten checks for a while, after waking the writer, that it
// writes nothing to the Service name and its EndpointSlice: what the API
// server defaulted must not look like a change, which would be written
// on every wake (the API server keeps the version of an update that
// changes nothing, so the writer's log counts them).
func (f *gatewayFixture) expectUnwritten(c *controller, name string) {
	f.t.Helper()
	writes := func() int { return strings.Count(c.logs.String(), `msg="Gateway object written"`) }
	versions := func() string {
		svc, err := f.client.CoreV1().Services(f.ns).Get(f.ctx, name, metav1.GetOptions{})
		if err != nil {
			f.t.Fatal(err)
		}
		es, err := f.client.DiscoveryV1().EndpointSlices(f.ns).Get(f.ctx, name+"-ipv4", metav1.GetOptions{})
		if err != nil {
			f.t.Fatal(err)
		}
		return svc.ResourceVersion + "/" + es.ResourceVersion
	}
	firstWrites, first := writes(), versions()
	// Wake the writer: a Gateway annotation, which changes nothing of
	// the Service.
	f.updateGateway("web", func(gw *gatewayv1.Gateway) {
		gw.Annotations = map[string]string{"example.com/touched": time.Now().String()}
	})
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if v, w := versions(), writes(); v != first || w != firstWrites {
			f.t.Fatalf("Service %s written with nothing changed: versions %s, then %s; %d writes, then %d", name, first, v, firstWrites, w)
		}
		time.Sleep(pollEvery)
	}
}
