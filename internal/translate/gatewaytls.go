package translate

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// readListenerTLS finds the certificate of an HTTPS listener, whose one
// mode is Terminate (readListenerCertificate).
func (g *gatewayAPI) readListenerTLS(st *gatewayState, ls *listenerState) {
	tls := ls.l.TLS
	if tls == nil {
		g.badCertificate(st, ls, ls.field+".tls", gatewayv1.ListenerReasonInvalidCertificateRef, "an HTTPS listener needs tls.certificateRefs")
		return
	}
	if tls.Mode != nil && *tls.Mode != gatewayv1.TLSModeTerminate {
		ls.accepted = false
		ls.acceptedReason = gatewayv1.ListenerReasonUnsupportedValue
		ls.acceptedMessage = fmt.Sprintf("TLS mode %q is not supported on HTTPS listeners, only Terminate", *tls.Mode)
		g.t.problems.add(ls.owner, ls.field+".tls.mode", string(ls.acceptedReason), "%s; the listener is not served", ls.acceptedMessage)
		return
	}
	g.readListenerCertificate(st, ls, "an HTTPS listener")
}

// readListenerCertificate finds the certificate of a listener that
// terminates TLS, what names: the first of its certificateRefs, a
// kubernetes.io/tls Secret in the namespace of the listener's Gateway or
// ListenerSet, or in another one that a ReferenceGrant opens to its kind
// in that namespace. A listener
// without a usable certificate is not served (ResolvedRefs False):
// serving it with another certificate would only fail the clients'
// checks.
func (g *gatewayAPI) readListenerCertificate(st *gatewayState, ls *listenerState, what string) {
	tls := ls.l.TLS
	if tls == nil || len(tls.CertificateRefs) == 0 {
		g.badCertificate(st, ls, ls.field+".tls.certificateRefs", gatewayv1.ListenerReasonInvalidCertificateRef, what+" needs a certificateRef")
		return
	}
	ref := tls.CertificateRefs[0]
	f := ls.field + ".tls.certificateRefs[0]"
	group, kind := "", kindSecret
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	if group != "" || kind != kindSecret {
		g.badCertificate(st, ls, f, gatewayv1.ListenerReasonInvalidCertificateRef,
			fmt.Sprintf("a certificateRef of group %q and kind %q is not supported, only Secrets (group \"\", kind Secret)", group, kind))
		return
	}
	from := ls.owner // the Gateway or ListenerSet: grants to one are not the other's
	ns := from.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	if !g.granted(from.Kind, from.Namespace, "", kindSecret, ns, string(ref.Name)) {
		g.badCertificate(st, ls, f, gatewayv1.ListenerReasonRefNotPermitted,
			fmt.Sprintf("no ReferenceGrant in namespace %q lets %ss of namespace %q use Secret %q", ns, from.Kind, from.Namespace, ref.Name))
		return
	}
	r := g.t.shared.newBuilder().secret(ns, string(ref.Name))
	if r.cert == nil {
		g.badCertificate(st, ls, f, gatewayv1.ListenerReasonInvalidCertificateRef, r.msg)
		return
	}
	ls.cert = r.cert
}

func (g *gatewayAPI) badCertificate(st *gatewayState, ls *listenerState, field string, reason gatewayv1.ListenerConditionReason, msg string) {
	ls.badCert = true
	ls.resolved = false
	ls.resolvedReason = reason
	ls.resolvedMessage = msg
	g.t.problems.add(ls.owner, field, string(reason), "%s; the listener is not served", msg)
}

// readTLSListener checks a TLS listener. Mode Passthrough routes the
// connections by server name (SNI) to the TLSRoutes attached; its
// certificateRefs are ignored, as the spec says. Terminate, the mode when
// none is set, does the same with the connections' TLS terminated with
// the listener's certificate (readListenerCertificate, as on HTTPS
// listeners) and the decrypted bytes sent on (gatewaytlsroute.go). Both
// modes can share a port (TLSRouteModeMixed): they are one lbconfig TLS
// passthrough listener.
func (g *gatewayAPI) readTLSListener(st *gatewayState, ls *listenerState) {
	switch {
	case ls.terminates():
		g.readListenerCertificate(st, ls, "a TLS listener of mode Terminate")
	case *ls.l.TLS.Mode != gatewayv1.TLSModePassthrough:
		ls.kinds = []gatewayv1.RouteGroupKind{}
		ls.accepted = false
		ls.acceptedReason = gatewayv1.ListenerReasonUnsupportedValue
		ls.acceptedMessage = fmt.Sprintf("TLS mode %q is not supported on TLS listeners, only Terminate and Passthrough", *ls.l.TLS.Mode)
		g.t.problems.add(ls.owner, ls.field+".tls.mode", string(ls.acceptedReason), "%s; the listener is not served", ls.acceptedMessage)
	}
}

// terminates reports whether a TLS listener terminates TLS (mode
// Terminate, the default).
func (ls *listenerState) terminates() bool {
	return ls.l.Protocol == gatewayv1.TLSProtocolType && (ls.l.TLS == nil || ls.l.TLS.Mode == nil || *ls.l.TLS.Mode == gatewayv1.TLSModeTerminate)
}

// listenerProtocol is the lbconfig protocol of a listener of protocol p.
func listenerProtocol(p gatewayv1.ProtocolType) lbconfig.Protocol {
	if p == gatewayv1.TLSProtocolType {
		return lbconfig.ProtocolTLSPassthrough // both modes: routed by SNI
	}
	return lbconfig.Protocol(p) // HTTP and HTTPS are named alike
}
