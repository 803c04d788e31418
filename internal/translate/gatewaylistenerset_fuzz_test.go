package translate

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// FuzzListenerSets translates the gateway-listenerset golden case with a
// fuzzed ListenerSet, the newest, for Gateway shop/shop (which allows
// ListenerSets of its namespace), with a fuzzed listener hostname and an
// HTTPRoute attached to it. Besides what FuzzGateways checks, the
// ListenerSet must get a status, and no listener of the Gateway or of the
// older ListenerSet blog may lose its place to it: they stay served,
// never Conflicted.
func FuzzListenerSets(f *testing.F) {
	f.Add([]byte("spec: {listeners: [{name: a, protocol: HTTP, port: 80, hostname: shop.example.com}]}"), "blog.example.com", "fuzz")
	f.Add([]byte("spec: {listeners: [{name: a, protocol: TCP, port: 80}, {name: b, protocol: UDP, port: 443}, {name: c, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: shop-tls, namespace: shop}]}}]}"),
		"*.example.com", "c")
	f.Add([]byte("spec: {listeners: [{name: a, protocol: HTTPS, port: 0, hostname: \"A..B\", tls: {mode: Passthrough, certificateRefs: [{group: x, kind: ConfigMap, name: y}]}}], parentRef: {name: closed}}"),
		"v\r\nX-Injected: 1", "\x00")
	f.Add([]byte("spec: {listeners: [{name: a, protocol: TLS, port: 443, tls: {mode: Passthrough}, allowedRoutes: {kinds: [{kind: HTTPRoute}, {group: evil, kind: TLSRoute}]}}], parentRef: {name: shop, kind: Gateway, group: other}}"),
		"*", "")
	base := fuzzBaseOf(f, "gateway-listenerset")
	f.Fuzz(func(t *testing.T, setYAML []byte, listenerHost, sectionName string) {
		snap := &Snapshot{}
		for _, o := range base.Objects() {
			_ = snap.Add(o)
		}
		set := &gatewayv1.ListenerSet{}
		_ = yaml.Unmarshal(setYAML, set)
		set.ObjectMeta = metav1.ObjectMeta{Name: "fuzz", Namespace: "shop", CreationTimestamp: metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}
		if set.Spec.ParentRef.Name == "" {
			set.Spec.ParentRef.Name = "shop"
		}
		set.Spec.Listeners = append(set.Spec.Listeners,
			gatewayv1.ListenerEntry{Name: "fuzz", Protocol: gatewayv1.HTTPProtocolType, Port: 80, Hostname: ptrTo(gatewayv1.Hostname(listenerHost))})
		r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"}}
		r.Spec.ParentRefs = []gatewayv1.ParentReference{{Kind: ptrTo(gatewayv1.Kind(kindListenerSet)), Name: "fuzz", SectionName: ptrTo(gatewayv1.SectionName(sectionName))}}
		r.Spec.Rules = []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: "app", Port: ptrTo(gatewayv1.PortNumber(80))},
		}}}}}
		_ = snap.Add(set)
		_ = snap.Add(r)
		st := translateFuzzed(t, snap, "127.0.1.0/30")
		if _, ok := st.ListenerSets["shop/fuzz"]; !ok && set.Spec.ParentRef.Name == "shop" && set.Spec.ParentRef.Group == nil && set.Spec.ParentRef.Kind == nil {
			t.Error("no status for the fuzzed ListenerSet")
		}
		for _, l := range st.Gateways["shop/shop"].Listeners {
			if !conditionTrue(l.Conditions, gatewayv1.ListenerConditionProgrammed) {
				t.Errorf("the Gateway's listener %s lost its place: %+v", l.Name, l.Conditions)
			}
		}
		for _, l := range st.ListenerSets["shop/blog"].Listeners {
			if !conditionTrue(l.Conditions, gatewayv1.ListenerConditionProgrammed) {
				t.Errorf("the older ListenerSet's listener %s lost its place: %+v", l.Name, l.Conditions)
			}
		}
	})
}
