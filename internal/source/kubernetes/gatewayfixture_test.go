package kubernetes_test

import (
	"context"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"ingress-controller/internal/translate"
)

// The Gateway API objects of the tests: a fixture that creates them in
// its namespace, and small builders of the objects the tests share.

// gatewayCRDs installs the Gateway API CRDs once for the package's tests.
var gatewayCRDs = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return cluster.InstallGatewayCRDs(ctx)
})

// gatewayFixture creates Gateway API objects in a test namespace.
type gatewayFixture struct {
	*fixture
	gw gatewayclient.Interface
}

func newGatewayFixture(t *testing.T) *gatewayFixture {
	t.Helper()
	if err := gatewayCRDs(); err != nil {
		t.Fatalf("installing the Gateway API CRDs: %v", err)
	}
	gw, err := gatewayclient.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &gatewayFixture{fixture: newFixture(t), gw: gw}
}

// gatewayClass creates the GatewayClass name of our controller, deleted
// when the test ends.
func (f *gatewayFixture) gatewayClass(name string) {
	f.t.Helper()
	if _, err := f.gw.GatewayV1().GatewayClasses().Create(f.ctx, &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: translate.GatewayControllerName},
	}, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("create GatewayClass %s: %v", name, err)
	}
	f.t.Cleanup(func() {
		_ = f.gw.GatewayV1().GatewayClasses().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// gateway creates gw in the fixture's namespace and returns it as
// created.
func (f *gatewayFixture) gateway(gw *gatewayv1.Gateway) *gatewayv1.Gateway {
	f.t.Helper()
	created, err := f.gw.GatewayV1().Gateways(f.ns).Create(f.ctx, gw, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatalf("create Gateway %s: %v", gw.Name, err)
	}
	return created
}

// updateGateway changes the Gateway name, retrying on conflicts with the
// status writer.
func (f *gatewayFixture) updateGateway(name string, change func(*gatewayv1.Gateway)) *gatewayv1.Gateway {
	f.t.Helper()
	var out *gatewayv1.Gateway
	eventually(f.t, converge, "update Gateway "+name, func() error {
		gw, err := f.gw.GatewayV1().Gateways(f.ns).Get(f.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(gw)
		out, err = f.gw.GatewayV1().Gateways(f.ns).Update(f.ctx, gw, metav1.UpdateOptions{})
		return err
	})
	return out
}

// route creates r in the fixture's namespace.
func (f *gatewayFixture) route(r *gatewayv1.HTTPRoute) {
	f.t.Helper()
	r.Namespace = f.ns
	if _, err := f.gw.GatewayV1().HTTPRoutes(f.ns).Create(f.ctx, r, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("create HTTPRoute %s: %v", r.Name, err)
	}
}

// listenerSet creates s in the fixture's namespace.
func (f *gatewayFixture) listenerSet(s *gatewayv1.ListenerSet) {
	f.t.Helper()
	if _, err := f.gw.GatewayV1().ListenerSets(f.ns).Create(f.ctx, s, metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("create ListenerSet %s: %v", s.Name, err)
	}
}

// backendTLSPolicy creates p in the fixture's namespace and returns it as
// created.
func (f *gatewayFixture) backendTLSPolicy(p *gatewayv1.BackendTLSPolicy) *gatewayv1.BackendTLSPolicy {
	f.t.Helper()
	created, err := f.gw.GatewayV1().BackendTLSPolicies(f.ns).Create(f.ctx, p, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatalf("create BackendTLSPolicy %s: %v", p.Name, err)
	}
	return created
}

// newGateway returns the Gateway name of class with listeners.
func newGateway(name, class string, listeners ...gatewayv1.Listener) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: gatewayv1.ObjectName(class), Listeners: listeners},
	}
}

// httpListener returns the HTTP listener name on port.
func httpListener(name string, port int32) gatewayv1.Listener {
	return gatewayv1.Listener{Name: gatewayv1.SectionName(name), Protocol: gatewayv1.HTTPProtocolType, Port: port}
}

// ipAddresses returns Gateway addresses of type IPAddress.
func ipAddresses(addrs ...string) []gatewayv1.GatewaySpecAddress {
	out := make([]gatewayv1.GatewaySpecAddress, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, gatewayv1.GatewaySpecAddress{Type: ptr.To(gatewayv1.IPAddressType), Value: a})
	}
	return out
}

// newHTTPRoute returns the HTTPRoute name of parents with rules.
func newHTTPRoute(name string, parents []gatewayv1.ParentReference, rules ...gatewayv1.HTTPRouteRule) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents},
			Rules:           rules,
		},
	}
}

// backendRule returns a rule that forwards every request to backends.
func backendRule(backends ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRouteRule {
	return gatewayv1.HTTPRouteRule{BackendRefs: backends}
}

// backendRef returns a reference to port of the Service name.
func backendRef(name string, port int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To(port)},
	}}
}

// newListenerSet returns the ListenerSet name of the Gateway parent with
// listeners.
func newListenerSet(name string, parent gatewayv1.ParentGatewayReference, listeners ...gatewayv1.ListenerEntry) *gatewayv1.ListenerSet {
	return &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gatewayv1.ListenerSetSpec{ParentRef: parent, Listeners: listeners},
	}
}

// newBackendTLSPolicy returns the BackendTLSPolicy name that has the
// Service service verified against the ca.crt of the ConfigMap ca and
// hostname.
func newBackendTLSPolicy(name, service, ca, hostname string) *gatewayv1.BackendTLSPolicy {
	return &gatewayv1.BackendTLSPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: gatewayv1.BackendTLSPolicySpec{
			TargetRefs: []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{
				LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: gatewayv1.ObjectName(service)},
			}},
			Validation: gatewayv1.BackendTLSPolicyValidation{
				CACertificateRefs: []gatewayv1.LocalObjectReference{{Kind: "ConfigMap", Name: gatewayv1.ObjectName(ca)}},
				Hostname:          gatewayv1.PreciseHostname(hostname),
			},
		},
	}
}
