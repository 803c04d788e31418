package translate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// FuzzTCPRoutes translates the gateway-tcp golden case with a fuzzed
// Gateway and TCPRoute of our class: fuzzed listeners, parentRefs,
// rules, and a backendRef with a fuzzed name, namespace, port and
// weight. Translation must never panic, must yield a valid sorted
// config, must be deterministic and must leave its input alone; a TCP
// listener's weights must add up to what lbconfig takes.
func FuzzTCPRoutes(f *testing.F) {
	f.Add([]byte("spec: {listeners: [{name: t, protocol: TCP, port: 9100}]}"), []byte("spec: {parentRefs: [{name: fuzz}]}"), "v1", "shop", int32(3000), int32(1), "t")
	f.Add([]byte("spec: {listeners: [{name: t, protocol: TCP, port: 9000}, {name: u, protocol: TCP, port: 9000, hostname: \"a\\r\\nb\"}]}"),
		[]byte("spec: {rules: [{backendRefs: [{name: v2, port: 3000, weight: 1000000}]}, {}]}"), "v1", "data", int32(0), int32(1000000), "")
	f.Add([]byte("spec: {listeners: [{name: t, protocol: TCP, port: 70000, tls: {}}]}"), []byte("spec: {parentRefs: [{name: tcp, port: 9000}]}"), "../x", "", int32(-1), int32(-5), "db")
	f.Add([]byte("{}"), []byte("spec: {parentRefs: [{name: fuzz, sectionName: t}], rules: [{backendRefs: [{name: v1, port: 3000, weight: 0}]}]}"), "\x00", "shop", int32(65536), int32(0), "t")
	base := fuzzBaseOf(f, "gateway-tcp")
	f.Fuzz(func(t *testing.T, gatewayYAML, routeYAML []byte, name, namespace string, port, weight int32, section string) {
		snap, gw := fuzzedGateway(base, gatewayYAML)
		r := &gatewayv1.TCPRoute{}
		_ = yaml.Unmarshal(routeYAML, r)
		r.ObjectMeta = metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"}
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, gatewayv1.ParentReference{Name: "fuzz", SectionName: ptrTo(gatewayv1.SectionName(section))}, gatewayv1.ParentReference{Name: "tcp"})
		ref := gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptrTo(port)}, Weight: ptrTo(weight)}
		if namespace != "" {
			ref.Namespace = ptrTo(gatewayv1.Namespace(namespace))
		}
		if len(r.Spec.Rules) == 0 {
			r.Spec.Rules = []gatewayv1.TCPRouteRule{{}}
		}
		r.Spec.Rules[0].BackendRefs = append(r.Spec.Rules[0].BackendRefs, ref)
		_ = snap.Add(gw)
		_ = snap.Add(r)
		st := translateFuzzed(t, snap, "127.0.2.0/29")
		if _, ok := st.TCPRoutes["shop/fuzz"]; !ok {
			t.Error("no status for the fuzzed TCPRoute")
		}
	})
}
