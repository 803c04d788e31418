package translate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// FuzzTLSRoutes translates the gateway-tls golden case with a fuzzed TLS
// listener and TLSRoute: fuzzed YAML, and fuzzed strings where users
// write the hostnames, the TLS mode and the backend's name and port.
// Translation must never panic, must yield a valid sorted config and be
// deterministic, and the route must get a status.
func FuzzTLSRoutes(f *testing.F) {
	f.Add([]byte("spec: {listeners: [{name: x, protocol: TLS, port: 443, tls: {mode: Passthrough}}]}"),
		[]byte("spec: {rules: [{backendRefs: [{name: db, port: 5432}, {name: vault, port: 8200}]}]}"),
		"*.example.com", "a.example.com", "Passthrough", "db", int32(5432))
	f.Add([]byte("spec: {listeners: [{name: y, protocol: HTTPS, port: 443}]}"),
		[]byte("spec: {hostnames: [\"*\", \"..\"], rules: [{backendRefs: [{name: \"a\\r\\nb\", port: 0, weight: -1}]}]}"),
		"", "*.*", "Terminate", "", int32(-1))
	f.Add([]byte("{}"), []byte("spec: {parentRefs: [{name: tls, sectionName: db, port: 443}], rules: []}"),
		"DB.Example.COM", "db.example.com.", "passthrough", "nope", int32(70000))
	base := fuzzBaseOf(f, "gateway-tls")
	f.Fuzz(func(t *testing.T, gatewayYAML, routeYAML []byte, listenerHost, routeHost, mode, service string, port int32) {
		snap, gw := fuzzedGateway(base, gatewayYAML)
		gw.Spec.Listeners = append(gw.Spec.Listeners, gatewayv1.Listener{
			Name: "fuzz", Protocol: gatewayv1.TLSProtocolType, Port: 443, Hostname: ptrTo(gatewayv1.Hostname(listenerHost)),
			TLS: &gatewayv1.ListenerTLSConfig{Mode: ptrTo(gatewayv1.TLSModeType(mode))},
		})
		r := &gatewayv1.TLSRoute{}
		_ = yaml.Unmarshal(routeYAML, r)
		r.ObjectMeta = metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"}
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, gatewayv1.ParentReference{Name: "fuzz"}, gatewayv1.ParentReference{Name: "tls"})
		r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(routeHost))
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.TLSRouteRule{BackendRefs: []gatewayv1.BackendRef{{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(service), Port: ptrTo(gatewayv1.PortNumber(port))},
		}}})
		_ = snap.Add(gw)
		_ = snap.Add(r)
		if st := translateFuzzed(t, snap, "127.0.1.0/30"); len(st.TLSRoutes["shop/fuzz"]) < 2 {
			t.Errorf("status of the fuzzed TLSRoute: %d parents, want at least 2", len(st.TLSRoutes["shop/fuzz"]))
		}
	})
}
