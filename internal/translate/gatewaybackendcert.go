package translate

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// A Gateway's backend client certificate (spec.tls.backend
// .clientCertificateRef) is presented to the backends it speaks TLS to,
// those under a BackendTLSPolicy (gatewaybackendtls.go). The ref names
// a kubernetes.io/tls Secret of the Gateway's namespace, or of another
// one whose ReferenceGrant lets Gateways of this namespace use it, as a
// listener's certificateRefs do.
//
// Backends are shared by the Gateways whose routes use them, so the
// Gateway's backends under a policy are copies of their own, named after
// the Secret (backendCertInfix): a connection made with one certificate
// never carries the requests of a Gateway with another, or with none.
//
// A ref that does not resolve makes the Gateway's ResolvedRefs False
// (InvalidClientCertificateRef; RefNotPermitted when not granted); its
// backends under a policy then answer 500, as under a policy that is not
// valid, and mirrors to them are dropped, rather than be spoken to
// without the certificate their endpoints expect. Its other backends are
// served as they are.

// backendCertInfix follows backendTLSSuffix in the name of a backend
// spoken to with a client certificate; the Secret's "<namespace>/<name>"
// follows it.
const backendCertInfix = "!client="

// backendCertField is where a Gateway names its client certificate.
const backendCertField = "spec.tls.backend.clientCertificateRef"

// backendCertRef is the client certificate reference of gw, or nil.
func backendCertRef(gw *gatewayv1.Gateway) *gatewayv1.SecretObjectReference {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Backend == nil {
		return nil
	}
	return gw.Spec.TLS.Backend.ClientCertificateRef
}

// readBackendCert reads the client certificate of st, if it names one.
func (g *gatewayAPI) readBackendCert(st *gatewayState) {
	ref := backendCertRef(st.gw)
	if ref == nil {
		return
	}
	cert, reason, msg := g.clientCertificate(st, *ref)
	if reason != "" {
		st.backendCertReason, st.backendCertMessage = reason, msg
		g.t.problems.add(st.ref, backendCertField, string(reason),
			"%s; the Gateway's backends under a BackendTLSPolicy answer 500, and mirrors to them are dropped, rather than be spoken to without it", msg)
		return
	}
	st.backendCert = cert
}

// clientCertificate returns the certificate ref names for st, or the
// reason and message of the ResolvedRefs condition that says why not.
func (g *gatewayAPI) clientCertificate(st *gatewayState, ref gatewayv1.SecretObjectReference) (*lbconfig.Certificate, gatewayv1.GatewayConditionReason, string) {
	group, kind := "", kindSecret
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	if group != "" || kind != kindSecret {
		return nil, gatewayv1.GatewayReasonInvalidClientCertificateRef,
			fmt.Sprintf("a clientCertificateRef of group %q and kind %q is not supported, only Secrets (group \"\", kind Secret)", group, kind)
	}
	ns := st.gw.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	if !g.granted(kindGateway, st.gw.Namespace, "", kindSecret, ns, string(ref.Name)) {
		return nil, gatewayv1.GatewayReasonRefNotPermitted,
			fmt.Sprintf("no ReferenceGrant in namespace %q lets Gateways of namespace %q use Secret %q", ns, st.gw.Namespace, ref.Name)
	}
	r := g.t.shared.newBuilder().secret(ns, string(ref.Name))
	if r.cert == nil {
		return nil, gatewayv1.GatewayReasonInvalidClientCertificateRef, r.msg
	}
	if err := lbconfig.CheckClientCertificate(r.cert.ChainPEM, r.cert.KeyPEM); err != nil {
		return nil, gatewayv1.GatewayReasonInvalidClientCertificateRef, fmt.Sprintf("Secret %q: %v", r.cert.Name, err)
	}
	return r.cert, "", ""
}

// withBackendCert returns route as st serves it: its backends under a
// BackendTLSPolicy (Backend, Backends, Mirrors) those of st's client
// certificate, or answers of 500 (its mirrors dropped) when st's
// reference does not resolve. The route is shared by every Gateway it
// attaches to, so what changes is a copy.
func (g *gatewayAPI) withBackendCert(st *gatewayState, route lbconfig.Route) lbconfig.Route {
	if backendCertRef(st.gw) == nil {
		return route
	}
	route.Backend.Name = g.certBackend(st, route.Backend.Name)
	route.Backends = slices.Clone(route.Backends)
	for i := range route.Backends {
		route.Backends[i].Name = g.certBackend(st, route.Backends[i].Name)
	}
	var mirrors []lbconfig.Mirror
	for _, m := range route.Mirrors {
		m.Name = g.certBackend(st, m.Name)
		if !strings.HasSuffix(m.Name, InvalidBackendSuffix) { // an answer takes no copies
			mirrors = append(mirrors, m)
		}
	}
	route.Mirrors = mirrors
	return route
}

// certBackend returns the name of backend name as st speaks to it: name
// itself unless it is under a valid BackendTLSPolicy, else its copy with
// st's client certificate, made on first use, or, when st's reference
// does not resolve, the policy's answer of 500.
func (g *gatewayAPI) certBackend(st *gatewayState, name string) string {
	if !strings.HasSuffix(name, backendTLSSuffix) {
		return name
	}
	if st.backendCert == nil {
		invalid := strings.TrimSuffix(name, backendTLSSuffix) + backendTLSInvalidSuffix
		if g.t.shared.backends[invalid] == nil {
			g.t.shared.backends[invalid] = &resolvedBackend{backend: lbconfig.Backend{Name: invalid, Status: http.StatusInternalServerError}}
		}
		return invalid
	}
	out := name + backendCertInfix + st.backendCert.Name
	if g.t.shared.backends[out] != nil {
		return out
	}
	rb := g.t.shared.backends[name]
	b := rb.backend
	b.Name = out
	b.Endpoints = slices.Clone(b.Endpoints)
	t := *b.TLS
	t.CAPEM = slices.Clone(t.CAPEM)
	t.SubjectAltNames = slices.Clone(t.SubjectAltNames)
	t.ClientCertificatePEM = slices.Clone(st.backendCert.ChainPEM)
	t.ClientKeyPEM = slices.Clone(st.backendCert.KeyPEM)
	b.TLS = &t
	g.t.shared.backends[out] = &resolvedBackend{backend: b, issue: rb.issue}
	return out
}

// gatewayResolvedRefs is the Gateway's ResolvedRefs condition: False for
// its client certificate, else when a listener's references do not
// resolve (ListenersNotResolved), else True.
func gatewayResolvedRefs(st *gatewayState, gen int64) metav1.Condition {
	typ := string(gatewayv1.GatewayConditionResolvedRefs)
	if st.backendCertReason != "" {
		return condition(typ, false, string(st.backendCertReason), st.backendCertMessage, gen)
	}
	for _, ls := range st.listeners {
		if !ls.resolved {
			return condition(typ, false, string(gatewayv1.GatewayReasonListenersNotResolved), fmt.Sprintf("listener %q: %s", ls.l.Name, ls.resolvedMessage), gen)
		}
	}
	return condition(typ, true, string(gatewayv1.GatewayReasonResolvedRefs), "resolved", gen)
}
