package translate

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// BackendTLSPolicies (GEP-1897) say how HTTPRoutes and GRPCRoutes speak
// TLS to the Service ports they target (lbconfig.BackendTLS):
//
//   - A targetRef with a sectionName is the Service port of that name; one
//     without is every port of the Service, and gives way to one with.
//   - Of policies with the same target, the oldest (then the first by
//     name) applies there; the others are Accepted False (Conflicted).
//   - validation.caCertificateRefs are ConfigMaps of the policy's
//     namespace whose ca.crt is a PEM bundle; the certificate is checked
//     against validation.subjectAltNames if any, else against
//     validation.hostname, which is always sent as SNI.
//   - A policy none of whose CA references resolves (or that asks for
//     the system's CAs, which we do not read) is Accepted False, and
//     the backends it targets answer 500 rather than be spoken to
//     unverified.
//
// Backends under a policy have names of their own (backendTLSSuffix), so
// that what the policy asks never reaches routes it does not target.
// Status is written per ancestor: each of our Gateways with a route to a
// targeted Service.

// backendTLSSuffix ends the name of a backend spoken to under a
// BackendTLSPolicy, and backendTLSInvalidSuffix that of the answer of
// 500 that takes its place when the policy is not valid.
const (
	backendTLSSuffix        = "!tls"
	backendTLSInvalidSuffix = "!tls" + InvalidBackendSuffix
)

// kindBackendTLSPolicy and kindConfigMap as references name them.
const (
	kindBackendTLSPolicy = "BackendTLSPolicy"
	kindConfigMap        = "ConfigMap"
)

// tlsPolicyState is one BackendTLSPolicy being translated.
type tlsPolicyState struct {
	p   *gatewayv1.BackendTLSPolicy
	ref lbconfig.ObjectRef
	// tls is what backends under it get; nil when it is not valid.
	tls *lbconfig.BackendTLS
	// accepted* and resolved* are the reasons and messages of its
	// conditions; "" reasons are true.
	acceptedReason gatewayv1.PolicyConditionReason
	acceptedMsg    string
	resolvedReason gatewayv1.PolicyConditionReason
	resolvedMsg    string
	// services are the "<namespace>/<name>" of the Services it targets.
	services []string
}

// readBackendTLSPolicies reads the policies of snap, oldest first, and
// gives each target to the first that claims it.
func (g *gatewayAPI) readBackendTLSPolicies(snap *Snapshot) {
	g.tlsTargets = map[string]*tlsPolicyState{}
	g.serviceParents = map[string][]*routeCommon{}
	for _, p := range snap.BackendTLSPolicies {
		if p != nil {
			g.tlsPolicies = append(g.tlsPolicies, &tlsPolicyState{p: p, ref: lbconfig.ObjectRef{Kind: kindBackendTLSPolicy, Namespace: p.Namespace, Name: p.Name}})
		}
	}
	slices.SortFunc(g.tlsPolicies, func(a, b *tlsPolicyState) int { return byAge(a.p, b.p) })
	g.tlsPolicies = slices.CompactFunc(g.tlsPolicies, func(a, b *tlsPolicyState) bool { return a.ref == b.ref })
	for _, ps := range g.tlsPolicies {
		g.readBackendTLSPolicy(ps)
	}
}

// readBackendTLSPolicy reads one policy and claims its targets.
func (g *gatewayAPI) readBackendTLSPolicy(ps *tlsPolicyState) {
	p := ps.p
	for i, tr := range p.Spec.TargetRefs {
		if tr.Group != "" || tr.Kind != kindService {
			ps.reject(gatewayv1.PolicyReasonInvalid, fmt.Sprintf("spec.targetRefs[%d]: only Services are targets, not %s of group %q", i, tr.Kind, tr.Group))
			continue
		}
		svc := p.Namespace + "/" + string(tr.Name)
		if !slices.Contains(ps.services, svc) {
			ps.services = append(ps.services, svc)
		}
		key := svc + "/"
		if tr.SectionName != nil {
			key += string(*tr.SectionName)
		}
		if first := g.tlsTargets[key]; first != nil && first != ps {
			ps.reject(gatewayv1.PolicyReasonConflicted, fmt.Sprintf("the older BackendTLSPolicy %q targets the same Service port", first.p.Name))
			continue
		}
		g.tlsTargets[key] = ps
	}
	slices.Sort(ps.services)
	ps.tls = g.policyTLS(ps)
	if ps.acceptedReason != "" {
		g.t.problems.add(ps.ref, "spec", string(ps.acceptedReason), "%s", ps.acceptedMsg)
	}
}

// reject sets the Accepted condition false, keeping the first reason.
func (ps *tlsPolicyState) reject(reason gatewayv1.PolicyConditionReason, msg string) {
	if ps.acceptedReason == "" {
		ps.acceptedReason, ps.acceptedMsg = reason, msg
	}
}

// unresolved sets the ResolvedRefs condition false, keeping the first
// reason.
func (ps *tlsPolicyState) unresolved(reason gatewayv1.PolicyConditionReason, msg string) {
	if ps.resolvedReason == "" {
		ps.resolvedReason, ps.resolvedMsg = reason, msg
	}
}

// policyTLS is the backend TLS ps asks for, or nil when it cannot be
// honoured.
func (g *gatewayAPI) policyTLS(ps *tlsPolicyState) *lbconfig.BackendTLS {
	v := ps.p.Spec.Validation
	host := strings.ToLower(string(v.Hostname))
	out := &lbconfig.BackendTLS{Verify: true, SNI: true, ServerName: host}
	valid := true
	if err := lbconfig.CheckServerName(host); err != nil {
		ps.reject(gatewayv1.PolicyReasonInvalid, "spec.validation.hostname: "+err.Error())
		valid = false
	}
	for i, san := range v.SubjectAltNames {
		s := lbconfig.SubjectAltName{DNS: strings.ToLower(string(san.Hostname)), URI: string(san.URI)}
		if san.Type == gatewayv1.HostnameSubjectAltNameType {
			s.URI = ""
		} else {
			s.DNS = ""
		}
		if err := lbconfig.CheckSubjectAltName(s); err != nil {
			ps.reject(gatewayv1.PolicyReasonInvalid, fmt.Sprintf("spec.validation.subjectAltNames[%d]: %v", i, err))
			valid = false
		}
		out.SubjectAltNames = append(out.SubjectAltNames, s)
	}
	if len(out.SubjectAltNames) > lbconfig.MaxSubjectAltNames {
		ps.reject(gatewayv1.PolicyReasonInvalid, fmt.Sprintf("spec.validation.subjectAltNames: more than %d", lbconfig.MaxSubjectAltNames))
		valid = false
	}
	if v.WellKnownCACertificates != nil {
		ps.reject(gatewayv1.PolicyReasonInvalid, "spec.validation.wellKnownCACertificates: the system's CAs are not supported; name ConfigMaps in caCertificateRefs")
		valid = false
	}
	out.CAPEM = g.policyCAs(ps)
	if out.CAPEM == nil && v.WellKnownCACertificates == nil {
		ps.reject(gatewayv1.BackendTLSPolicyReasonNoValidCACertificate, "no caCertificateRef names a ConfigMap with a valid CA bundle in "+ConfigMapCAKey)
		valid = false
	}
	if !valid {
		return nil
	}
	return out
}

// policyCAs is the CA bundle of ps's caCertificateRefs that resolve, nil
// when none does.
func (g *gatewayAPI) policyCAs(ps *tlsPolicyState) []byte {
	var out []byte
	for i, ref := range ps.p.Spec.Validation.CACertificateRefs {
		f := fmt.Sprintf("spec.validation.caCertificateRefs[%d]", i)
		if ref.Group != "" || ref.Kind != kindConfigMap {
			ps.unresolved(gatewayv1.BackendTLSPolicyReasonInvalidKind, fmt.Sprintf("%s: only ConfigMaps hold CA certificates, not %s of group %q", f, ref.Kind, ref.Group))
			continue
		}
		cm := g.configMap(ps.p.Namespace, string(ref.Name))
		if cm == nil {
			ps.unresolved(gatewayv1.BackendTLSPolicyReasonInvalidCACertificateRef, fmt.Sprintf("%s: ConfigMap %q not found", f, ref.Name))
			continue
		}
		pem := []byte(cm.Data[ConfigMapCAKey])
		if _, err := lbconfig.CAPool(pem); err != nil {
			ps.unresolved(gatewayv1.BackendTLSPolicyReasonInvalidCACertificateRef, fmt.Sprintf("%s: ConfigMap %q: %s: %v", f, ref.Name, ConfigMapCAKey, err))
			continue
		}
		out = append(out, bytes.TrimSpace(pem)...)
		out = append(out, '\n')
	}
	if len(out) > lbconfig.MaxBackendCAPEMBytes {
		ps.unresolved(gatewayv1.BackendTLSPolicyReasonInvalidCACertificateRef, fmt.Sprintf("the CA bundles add up to more than %d bytes", lbconfig.MaxBackendCAPEMBytes))
		return nil
	}
	return out
}

// tlsPolicyOf returns the policy that applies to port of Service svc in
// namespace ns (its name, then the whole Service), or nil; r is
// recorded as using the Service, for the policies' ancestors.
func (g *gatewayAPI) tlsPolicyOf(r *routeCommon, ns, svc string, port int32) *tlsPolicyState {
	key := ns + "/" + svc
	if !slices.Contains(g.serviceParents[key], r) {
		g.serviceParents[key] = append(g.serviceParents[key], r)
	}
	if name := g.portName(ns, svc, port); name != "" {
		if ps := g.tlsTargets[key+"/"+name]; ps != nil {
			return ps
		}
	}
	return g.tlsTargets[key+"/"]
}

// portName is the name of port of Service svc in namespace ns, "" when
// it has none or is not known.
func (g *gatewayAPI) portName(ns, svc string, port int32) string {
	for _, s := range g.snap.Services {
		if s == nil || s.Namespace != ns || s.Name != svc {
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.Port == port {
				return p.Name
			}
		}
	}
	return ""
}

// underPolicy returns the name of the backend base, of protocol proto,
// as ps has it spoken to, making it on first use from rb: an HTTPS or
// GRPCS copy of it with ps's TLS, or an answer of 500 when ps is not
// valid.
func (g *gatewayAPI) underPolicy(ps *tlsPolicyState, base string, rb *resolvedBackend) string {
	if ps.tls == nil {
		name := base + backendTLSInvalidSuffix
		if g.t.shared.backends[name] == nil {
			g.t.shared.backends[name] = &resolvedBackend{backend: lbconfig.Backend{Name: name, Status: http.StatusInternalServerError}}
		}
		return name
	}
	name := base + backendTLSSuffix
	if g.t.shared.backends[name] == nil {
		b := rb.backend
		b.Name = name
		b.Endpoints = slices.Clone(b.Endpoints)
		switch b.Protocol {
		case lbconfig.BackendGRPC:
			b.Protocol = lbconfig.BackendGRPCS
		default:
			b.Protocol = lbconfig.BackendHTTPS
		}
		t := *ps.tls
		t.CAPEM = slices.Clone(t.CAPEM)
		t.SubjectAltNames = slices.Clone(t.SubjectAltNames)
		b.TLS = &t
		g.t.shared.backends[name] = &resolvedBackend{backend: b, issue: rb.issue}
	}
	return name
}

// tlsPolicyStatuses are the statuses of the policies, by
// "<namespace>/<name>": one ancestor per Gateway of ours that a route to
// a targeted Service is accepted by.
func (g *gatewayAPI) tlsPolicyStatuses() map[string][]gatewayv1.PolicyAncestorStatus {
	out := map[string][]gatewayv1.PolicyAncestorStatus{}
	for _, ps := range g.tlsPolicies {
		var gateways []*gatewayState
		for _, svc := range ps.services {
			for _, r := range g.serviceParents[svc] {
				for _, parent := range r.parents {
					if parent.accepted && !slices.Contains(gateways, parent.gw) {
						gateways = append(gateways, parent.gw)
					}
				}
			}
		}
		if len(gateways) == 0 {
			continue
		}
		slices.SortFunc(gateways, func(a, b *gatewayState) int {
			return cmp.Or(cmp.Compare(a.ref.Namespace, b.ref.Namespace), cmp.Compare(a.ref.Name, b.ref.Name))
		})
		conds := ps.conditions()
		var ancestors []gatewayv1.PolicyAncestorStatus
		for _, st := range gateways {
			ancestors = append(ancestors, gatewayv1.PolicyAncestorStatus{
				AncestorRef: gatewayv1.ParentReference{
					Group:     ptrTo(gatewayv1.Group(gatewayGroup)),
					Kind:      ptrTo(gatewayv1.Kind(kindGateway)),
					Namespace: ptrTo(gatewayv1.Namespace(st.ref.Namespace)),
					Name:      gatewayv1.ObjectName(st.ref.Name),
				},
				ControllerName: GatewayControllerName,
				Conditions:     slices.Clone(conds),
			})
		}
		out[ps.ref.Namespace+"/"+ps.ref.Name] = ancestors
	}
	return out
}

// conditions are ps's Accepted and ResolvedRefs conditions.
func (ps *tlsPolicyState) conditions() []metav1.Condition {
	gen := ps.p.Generation
	acc, accReason, accMsg := true, string(gatewayv1.PolicyReasonAccepted), "accepted"
	if ps.acceptedReason != "" {
		acc, accReason, accMsg = false, string(ps.acceptedReason), ps.acceptedMsg
	}
	res, resReason, resMsg := true, string(gatewayv1.BackendTLSPolicyReasonResolvedRefs), "resolved"
	if ps.resolvedReason != "" {
		res, resReason, resMsg = false, string(ps.resolvedReason), ps.resolvedMsg
	}
	return []metav1.Condition{
		condition(string(gatewayv1.PolicyConditionAccepted), acc, accReason, accMsg, gen),
		condition(string(gatewayv1.BackendTLSPolicyConditionResolvedRefs), res, resReason, resMsg, gen),
	}
}
