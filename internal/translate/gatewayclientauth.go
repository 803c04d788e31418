package translate

import (
	"bytes"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// Gateway API's frontend client certificate validation
// (spec.tls.frontend): the validation of a port's perPort entry, else the
// default, applies to every HTTPS listener of that port, so the virtual
// hosts of one lbconfig listener all authenticate alike. Its
// caCertificateRefs name ConfigMaps with the CA bundle under ca.crt, of
// the Gateway's namespace or of one whose ReferenceGrant lets Gateways of
// this namespace use them. A ref that is no ConfigMap, or one that is
// missing, holds no usable ca.crt or is not granted, makes the listener's
// ResolvedRefs False (InvalidCACertificateKind, InvalidCACertificateRef,
// RefNotPermitted); the CAs of the others are served. With none left the
// listener is not accepted (NoValidCACertificate) and not served: serving
// it without the check would let in every client. AllowValidOnly is
// lbconfig.ClientAuthRequired; AllowInsecureFallback is OptionalNoCA,
// with the outcome of the check and the certificate passed to the backend
// in headers, which now decides.

// ConfigMapCAKey is the key of the CA bundle in a ConfigMap that Gateway
// API's caCertificateRefs name.
const ConfigMapCAKey = "ca.crt"

// frontendValidation returns the validation that applies to HTTPS
// listeners on port, and the field it is at; nil when none.
func frontendValidation(gw *gatewayv1.Gateway, port gatewayv1.PortNumber) (*gatewayv1.FrontendTLSValidation, string) {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return nil, ""
	}
	fe := gw.Spec.TLS.Frontend
	for i, p := range fe.PerPort {
		if p.Port == port {
			return p.TLS.Validation, fmt.Sprintf("spec.tls.frontend.perPort[%d].tls.validation", i)
		}
	}
	return fe.Default.Validation, "spec.tls.frontend.default.validation"
}

// readClientAuth reads the client certificate validation of an HTTPS
// listener that has its certificate.
func (g *gatewayAPI) readClientAuth(st *gatewayState, ls *listenerState) {
	v, f := frontendValidation(st.gw, ls.l.Port)
	if v == nil || !ls.accepted || ls.badCert {
		return
	}
	var bundle []byte
	for i, ref := range v.CACertificateRefs {
		ca, reason, msg := g.caBundle(st, ref)
		if reason != "" {
			rf := fmt.Sprintf("%s.caCertificateRefs[%d]", f, i)
			if ls.resolved {
				ls.resolved, ls.resolvedReason, ls.resolvedMessage = false, reason, msg
			}
			g.t.problems.add(st.ref, rf, string(reason), "%s", msg)
			continue
		}
		bundle = append(bundle, ca...)
		bundle = append(bundle, '\n')
	}
	if _, err := lbconfig.CAPool(bundle); err != nil || len(bundle) == 0 {
		ls.accepted = false
		ls.acceptedReason = gatewayv1.ListenerReasonNoValidCACertificate
		ls.acceptedMessage = "no caCertificateRef of " + f + " is usable"
		if err != nil && len(bundle) > 0 {
			ls.acceptedMessage += ": " + err.Error()
		}
		g.t.problems.add(st.ref, f, string(ls.acceptedReason), "%s; the listener is not served", ls.acceptedMessage)
		return
	}
	mode := lbconfig.ClientAuthRequired
	if v.Mode == gatewayv1.AllowInsecureFallback {
		mode = lbconfig.ClientAuthOptionalNoCA
	}
	ls.clientAuth = &lbconfig.ClientAuth{CAPEM: bundle, Mode: mode, PassCertificate: mode == lbconfig.ClientAuthOptionalNoCA}
}

// caBundle returns the CA bundle a caCertificateRef names, or the reason
// and message of the listener condition that says why there is none.
func (g *gatewayAPI) caBundle(st *gatewayState, ref gatewayv1.ObjectReference) ([]byte, gatewayv1.ListenerConditionReason, string) {
	if ref.Group != "" || ref.Kind != "ConfigMap" {
		return nil, gatewayv1.ListenerReasonInvalidCACertificateKind,
			fmt.Sprintf("a caCertificateRef of group %q and kind %q is not supported, only ConfigMaps (group \"\", kind ConfigMap)", ref.Group, ref.Kind)
	}
	ns := st.gw.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	if !g.granted(kindGateway, st.gw.Namespace, "", "ConfigMap", ns, string(ref.Name)) {
		return nil, gatewayv1.ListenerReasonRefNotPermitted,
			fmt.Sprintf("no ReferenceGrant in namespace %q lets Gateways of namespace %q use ConfigMap %q", ns, st.gw.Namespace, ref.Name)
	}
	cm := g.configMap(ns, string(ref.Name))
	if cm == nil {
		return nil, gatewayv1.ListenerReasonInvalidCACertificateRef, fmt.Sprintf("ConfigMap %s/%s does not exist", ns, ref.Name)
	}
	ca, ok := cm.Data[ConfigMapCAKey]
	if !ok {
		return nil, gatewayv1.ListenerReasonInvalidCACertificateRef, fmt.Sprintf("ConfigMap %s/%s has no %s", ns, ref.Name, ConfigMapCAKey)
	}
	if _, err := lbconfig.CAPool([]byte(ca)); err != nil {
		return nil, gatewayv1.ListenerReasonInvalidCACertificateRef, fmt.Sprintf("ConfigMap %s/%s: %s: %v", ns, ref.Name, ConfigMapCAKey, err)
	}
	return bytes.TrimSpace([]byte(ca)), "", ""
}

// configMap finds a ConfigMap of the snapshot.
func (g *gatewayAPI) configMap(ns, name string) *corev1.ConfigMap {
	for _, cm := range g.snap.ConfigMaps {
		if cm != nil && cm.Namespace == ns && cm.Name == name {
			return cm
		}
	}
	return nil
}

// insecureFrontend reports whether a Gateway lets clients in whose
// certificates fail validation (the InsecureFrontendValidationMode
// condition).
func insecureFrontend(gw *gatewayv1.Gateway) bool {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return false
	}
	fe := gw.Spec.TLS.Frontend
	if v := fe.Default.Validation; v != nil && v.Mode == gatewayv1.AllowInsecureFallback {
		return true
	}
	for _, p := range fe.PerPort {
		if v := p.TLS.Validation; v != nil && v.Mode == gatewayv1.AllowInsecureFallback {
			return true
		}
	}
	return false
}
