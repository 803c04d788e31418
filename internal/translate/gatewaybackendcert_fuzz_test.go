package translate

import (
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// FuzzGatewayBackendCert translates the gateway-backend-cert golden case
// with a fuzzed Gateway whose clientCertificateRef has fuzzed group,
// kind, namespace and name, and a Secret with fuzzed type, tls.crt and
// tls.key, and a route of every kind of backendRef to a Service under a
// BackendTLSPolicy. Translation must never panic, must yield a valid
// sorted config and be deterministic, the Gateway must get ResolvedRefs,
// and no problem may quote the key.
func FuzzGatewayBackendCert(f *testing.F) {
	crt, err := os.ReadFile("testdata/gateway-backend-cert/input.yaml")
	if err != nil {
		f.Fatal(err)
	}
	pair := string(crt)
	pair = pair[strings.Index(pair, "metadata: {name: lb-client, namespace: shop}"):] // its Secret
	f.Add("", "Secret", "", "fuzz", string(corev1.SecretTypeTLS), pemBlock(pair, "CERTIFICATE"), pemBlock(pair, "PRIVATE KEY"))
	f.Add("", "Secret", "certs", "cross-client", "", "", "")
	f.Add("", "Secret", "shop", "fuzz", string(corev1.SecretTypeOpaque), pemBlock(pair, "CERTIFICATE"), pemBlock(pair, "PRIVATE KEY"))
	f.Add("gateway.networking.k8s.io", "Secret\r\nX: y", "other", "lb-client", string(corev1.SecretTypeTLS), "-----BEGIN CERTIFICATE-----\n\x00\n", "\xff\xfe")
	f.Add("", "ConfigMap", "", "ca", "", "", "")
	base := fuzzBaseOf(f, "gateway-backend-cert")
	f.Fuzz(func(t *testing.T, group, kind, namespace, name, secretType, tlsCrt, tlsKey string) {
		snap, gw := fuzzedGateway(base, nil)
		gw.Spec.Listeners = []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80}}
		ref := &gatewayv1.SecretObjectReference{Group: ptrTo(gatewayv1.Group(group)), Kind: ptrTo(gatewayv1.Kind(kind)), Name: gatewayv1.ObjectName(name)}
		if namespace != "" {
			ref.Namespace = ptrTo(gatewayv1.Namespace(namespace))
		}
		gw.Spec.TLS = &gatewayv1.GatewayTLSConfig{Backend: &gatewayv1.GatewayBackendTLS{ClientCertificateRef: ref}}
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"},
			Type:       corev1.SecretType(secretType),
			Data:       map[string][]byte{corev1.TLSCertKey: []byte(tlsCrt), corev1.TLSPrivateKeyKey: []byte(tlsKey)},
		}
		web := gatewayv1.BackendObjectReference{Name: "web", Port: ptrTo(gatewayv1.PortNumber(443))}
		r := &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "shop"},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "fuzz"}, {Name: "client"}}},
				Rules: []gatewayv1.HTTPRouteRule{{
					Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: web}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{
						{BackendRef: gatewayv1.BackendRef{BackendObjectReference: web, Weight: ptrTo(int32(1))}},
						{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "plain", Port: ptrTo(gatewayv1.PortNumber(80))}, Weight: ptrTo(int32(1))}},
					},
				}},
			},
		}
		_ = snap.Add(gw)
		_ = snap.Add(sec)
		_ = snap.Add(r)
		st := translateFuzzed(t, snap, "127.0.1.0/30")
		conds := st.Gateways["shop/fuzz"].Conditions
		if !hasConditionType(conds, string(gatewayv1.GatewayConditionResolvedRefs)) {
			t.Errorf("the fuzzed Gateway has no ResolvedRefs condition: %+v", conds)
		}
		_, problems := Ingresses(snap, goldenOptions)
		for _, p := range problems {
			if len(tlsKey) > 8 && strings.Contains(p.Message, tlsKey) {
				t.Errorf("a problem quotes the key: %s", p.Message)
			}
		}
	})
}

// pemBlock is the first PEM block of type typ in s, as written there.
func pemBlock(s, typ string) string {
	begin, end := "-----BEGIN "+typ+"-----", "-----END "+typ+"-----"
	i := strings.Index(s, begin)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return ""
	}
	lines := strings.Split(s[i:j+len(end)], "\n")
	for k := range lines {
		lines[k] = strings.TrimSpace(lines[k])
	}
	return strings.Join(lines, "\n") + "\n"
}

func hasConditionType(conds []metav1.Condition, typ string) bool {
	for _, c := range conds {
		if c.Type == typ {
			return true
		}
	}
	return false
}
