package kubernetes_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/nettest"
)

// TestListenerSet: a ListenerSet read through the source adds a port to
// the Gateway that allows it (from Same) and serves the HTTPRoute
// attached to it by a parentRef of kind ListenerSet; the leader writes its
// status (Accepted, Programmed, a listener's HostnameConflict with the
// Gateway's own), the Gateway's attachedListenerSets and the route's
// parent entry; a ListenerSet of another namespace is NotAllowed, and
// deleting the accepted one takes its port away.
func TestListenerSet(t *testing.T) {
	f := newGatewayFixture(t)
	other := newGatewayFixture(t)
	class := "lset-" + f.ns
	addrs, port := startBackends(t, "v1")
	f.service("svc", "http", 8080, port)
	f.slice("svc-1", "svc", "http", port, addrs["v1"])
	f.gatewayClass(class)
	// 127.0.93.0/24 is this branch's; its top is this test's.
	gwAddr := "127.0.93.250"
	gwPort, lsPort := nettest.FreePort(t), nettest.FreePort(t)
	gwListener := httpListener("http", gwPort)
	gwListener.Hostname = ptr.To(gatewayv1.Hostname("gw.test"))
	gw := newGateway("gw", class, gwListener)
	gw.Spec.Addresses = ipAddresses(gwAddr)
	gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr.To(gatewayv1.NamespacesFromSame)}}
	f.gateway(gw)
	parent := gatewayv1.ParentGatewayReference{Name: "gw", Namespace: ptr.To(gatewayv1.Namespace(f.ns))}
	f.listenerSet(newListenerSet("extra", parent,
		gatewayv1.ListenerEntry{Name: "web", Protocol: gatewayv1.HTTPProtocolType, Port: lsPort, Hostname: ptr.To(gatewayv1.Hostname("ls.test"))},
		gatewayv1.ListenerEntry{Name: "clash", Protocol: gatewayv1.HTTPProtocolType, Port: gwPort, Hostname: ptr.To(gatewayv1.Hostname("gw.test"))},
	))
	other.listenerSet(newListenerSet("denied", parent,
		gatewayv1.ListenerEntry{Name: "web", Protocol: gatewayv1.HTTPProtocolType, Port: lsPort, Hostname: ptr.To(gatewayv1.Hostname("denied.test"))}))
	f.route(newHTTPRoute("to-set", []gatewayv1.ParentReference{{
		Kind: ptr.To(gatewayv1.Kind("ListenerSet")), Name: "extra", SectionName: ptr.To(gatewayv1.SectionName("web")),
	}}, backendRule(backendRef("svc", 8080))))

	startController(t, controllerOptions{class: "lset-ingress-" + f.ns, gatewayAPI: true, addressPool: netip.MustParsePrefix("127.0.93.248/30")})
	expectGet := func(port int32, host string, want response) {
		t.Helper()
		eventually(t, converge, fmt.Sprintf("GET %s:%d/ to answer %s", host, port, want), func() error {
			got, _, err := gatewayGet(gwAddr, port, host, "/", nil, nil)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
	}
	expectGet(lsPort, "ls.test", ok("v1"))
	expectGet(lsPort, "denied.test", response{code: 404})
	expectGet(gwPort, "gw.test", response{code: 404}) // the Gateway's own listener, without routes

	eventually(t, converge, "ListenerSet extra status", func() error {
		s, err := f.gw.GatewayV1().ListenerSets(f.ns).Get(f.ctx, "extra", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := hasCondition(s.Status.Conditions, "Accepted", metav1.ConditionTrue, "Accepted", s.Generation); err != nil {
			return err
		}
		if err := hasCondition(s.Status.Conditions, "Programmed", metav1.ConditionTrue, "Programmed", s.Generation); err != nil {
			return err
		}
		if len(s.Status.Listeners) != 2 {
			return fmt.Errorf("listeners %+v, want web and clash", s.Status.Listeners)
		}
		web, clash := s.Status.Listeners[0], s.Status.Listeners[1]
		if web.AttachedRoutes != 1 {
			return fmt.Errorf("listener web has %d routes, want 1", web.AttachedRoutes)
		}
		if err := hasCondition(web.Conditions, "Programmed", metav1.ConditionTrue, "Programmed", s.Generation); err != nil {
			return fmt.Errorf("listener web: %w", err)
		}
		return hasCondition(clash.Conditions, "Conflicted", metav1.ConditionTrue, "HostnameConflict", s.Generation)
	})
	eventually(t, converge, "ListenerSet denied status", func() error {
		s, err := other.gw.GatewayV1().ListenerSets(other.ns).Get(other.ctx, "denied", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return hasCondition(s.Status.Conditions, "Accepted", metav1.ConditionFalse, "NotAllowed", s.Generation)
	})
	expectAttached := func(want int32) {
		t.Helper()
		eventually(t, converge, fmt.Sprintf("Gateway attachedListenerSets %d", want), func() error {
			gw, err := f.gw.GatewayV1().Gateways(f.ns).Get(f.ctx, "gw", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := ptr.Deref(gw.Status.AttachedListenerSets, -1); got != want {
				return fmt.Errorf("attachedListenerSets %d", got)
			}
			return nil
		})
	}
	expectAttached(1)
	eventually(t, converge, "HTTPRoute to-set parent status", func() error {
		r, err := f.gw.GatewayV1().HTTPRoutes(f.ns).Get(f.ctx, "to-set", metav1.GetOptions{})
		if err != nil {
			return err
		}
		i := slices.IndexFunc(r.Status.Parents, func(p gatewayv1.RouteParentStatus) bool {
			return ptr.Deref(p.ParentRef.Kind, "") == "ListenerSet" && p.ParentRef.Name == "extra"
		})
		if i < 0 {
			return fmt.Errorf("parents %+v, want ListenerSet extra", r.Status.Parents)
		}
		return hasCondition(r.Status.Parents[i].Conditions, "Accepted", metav1.ConditionTrue, "Accepted", r.Generation)
	})

	if err := f.gw.GatewayV1().ListenerSets(f.ns).Delete(f.ctx, "extra", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, converge, "ListenerSet extra's port closed", func() error {
		if got, _, err := gatewayGet(gwAddr, lsPort, "ls.test", "/", nil, nil); err == nil {
			return fmt.Errorf("got %s", got)
		}
		return nil
	})
	expectAttached(0)
}
