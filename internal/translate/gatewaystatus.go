package translate

import (
	"cmp"
	"net/netip"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// gatewayFeatures are the Gateway API features both providers serve.
// TLSRoute is TLS Passthrough; TLSRouteModeTerminate its listeners of
// mode Terminate, and TLSRouteModeMixed both modes on one port.
// HTTPRouteRetry is served by both for the codes the spec requires
// (HAProxy refuses a backoff and codes its retry-on cannot take), and
// HTTPRouteRetryConnectionError (refused, reset, closed without an
// answer). HTTPRouteDestinationPortMatching is a parentRef's port
// choosing the listeners of that port. ListenerSet adds listeners to a
// Gateway's load balancer (gatewaylistenerset.go), which needs nothing of
// the providers.
var gatewayFeatures = []gatewayv1.FeatureName{
	"BackendTLSPolicy",
	"GRPCRoute",
	"GRPCRouteNamedRouteRule",
	"Gateway",
	"GatewayBackendClientCertificate",
	"GatewayFrontendClientCertificateValidation",
	"GatewayFrontendClientCertificateValidationInsecureFallback",
	"GatewayHTTPListenerIsolation",
	"GatewayHTTPSListenerDetectMisdirectedRequests",
	"GatewayPort8080",
	"HTTPRoute",
	"HTTPRoute303RedirectStatusCode",
	"HTTPRoute307RedirectStatusCode",
	"HTTPRoute308RedirectStatusCode",
	"HTTPRouteBackendProtocolH2C",
	"HTTPRouteBackendProtocolWebSocket",
	"HTTPRouteBackendRequestHeaderModification",
	"HTTPRouteBackendTimeout",
	"HTTPRouteCORS",
	"HTTPRouteDestinationPortMatching",
	"HTTPRouteHostRewrite",
	"HTTPRouteMethodMatching",
	"HTTPRouteNamedRouteRule",
	"HTTPRouteParentRefPort",
	"HTTPRoutePathRedirect",
	"HTTPRoutePathRewrite",
	"HTTPRoutePortRedirect",
	"HTTPRouteQueryParamMatching",
	"HTTPRouteRequestTimeout",
	"HTTPRouteResponseHeaderModification",
	"HTTPRouteRetry",
	"HTTPRouteRetryConnectionError",
	"HTTPRouteSchemeRedirect",
	"ListenerSet",
	"ReferenceGrant",
	"TLSRoute",
	"TLSRouteModeMixed",
	"TLSRouteModeTerminate",
	"TCPRoute",
}

// GatewaySupportedFeatures are the Gateway API features our GatewayClasses
// declare in status.supportedFeatures with opts, sorted as the spec asks:
// those the provider serves (the mirrors unless opts.MirrorsUnserved,
// lists of names in BackendTLSPolicies unless opts.NameListsUnserved,
// retries after a backendRequest timeout unless
// opts.TimeoutRetriesUnserved, none of opts.Unproven), those of static and empty addresses with
// an address pool (gatewaystatic.go), and GatewayInfrastructure with
// opts.GatewayServices (gatewayinfra.go).
func GatewaySupportedFeatures(opts Options) []gatewayv1.FeatureName {
	out := slices.Clone(gatewayFeatures)
	if opts.MirrorsUnserved == "" {
		out = append(out, gatewayMirrorFeatures...)
	}
	if opts.NameListsUnserved == "" {
		out = append(out, "BackendTLSPolicySANValidation")
	}
	if opts.TimeoutRetriesUnserved == "" {
		out = append(out, "HTTPRouteRetryBackendTimeout")
	}
	if opts.GatewayAddressPool.IsValid() {
		out = append(out, gatewayPoolFeatures...)
	}
	out = slices.DeleteFunc(out, func(f gatewayv1.FeatureName) bool { return slices.Contains(opts.Unproven, string(f)) })
	if opts.GatewayServices {
		out = append(out, gatewayInfraFeatures...)
	}
	slices.Sort(out)
	return out
}

// GatewayAPIStatus is the status of the Gateway API objects we own, as
// data: conditions have no lastTransitionTime, which the writer keeps
// from the object's current condition of the same status or sets.
type GatewayAPIStatus struct {
	// Classes are our GatewayClasses' statuses, by name.
	Classes map[string]gatewayv1.GatewayClassStatus
	// Gateways are our Gateways' statuses, by "<namespace>/<name>".
	Gateways map[string]gatewayv1.GatewayStatus
	// Routes are, for every HTTPRoute with a parentRef to one of our
	// Gateways, the entries of status.parents that are ours
	// (controllerName GatewayControllerName), one per such parentRef, by
	// "<namespace>/<name>".
	Routes map[string][]gatewayv1.RouteParentStatus
	// GRPCRoutes are the same for GRPCRoutes.
	GRPCRoutes map[string][]gatewayv1.RouteParentStatus
	// TLSRoutes are the same for TLSRoutes.
	TLSRoutes map[string][]gatewayv1.RouteParentStatus `json:",omitempty"`
	// TCPRoutes are the same for TCPRoutes.
	TCPRoutes map[string][]gatewayv1.RouteParentStatus
	// ListenerSets are the statuses of the ListenerSets whose parentRef
	// names one of our Gateways, by "<namespace>/<name>"
	// (gatewaylistenerset.go).
	ListenerSets map[string]gatewayv1.ListenerSetStatus `json:",omitempty"`
	// BackendTLSPolicies are, for every BackendTLSPolicy targeting a
	// Service that a route of our Gateways uses, the entries of
	// status.ancestors that are ours, by "<namespace>/<name>".
	BackendTLSPolicies map[string][]gatewayv1.PolicyAncestorStatus `json:",omitempty"`
}

// Applied is what the provider serves, for the Programmed conditions and
// the addresses of Gateways on the listen address.
type Applied struct {
	// Config is the config the provider last accepted; nil before the
	// first apply.
	Config *lbconfig.Config
	// Endpoints are the provider's addresses by load balancer.
	Endpoints map[string][]lbconfig.Address
}

// GatewayStatus translates snap as Ingresses does and returns the status
// of its Gateway API objects, Programmed as applied says.
func GatewayStatus(snap *Snapshot, opts Options, applied Applied) *GatewayAPIStatus {
	out := &GatewayAPIStatus{
		Classes:    map[string]gatewayv1.GatewayClassStatus{},
		Gateways:   map[string]gatewayv1.GatewayStatus{},
		Routes:     map[string][]gatewayv1.RouteParentStatus{},
		GRPCRoutes: map[string][]gatewayv1.RouteParentStatus{},
		TLSRoutes:  map[string][]gatewayv1.RouteParentStatus{},
	}
	_, g, _ := translateSnapshot(snap, opts)
	if g == nil {
		out.TCPRoutes = map[string][]gatewayv1.RouteParentStatus{}
		return out
	}
	out.TCPRoutes = g.tcpRouteStatuses()           // gatewaytcp.go
	out.BackendTLSPolicies = g.tlsPolicyStatuses() // gatewaybackendtls.go
	for name, c := range g.classes {
		out.Classes[name] = gatewayv1.GatewayClassStatus{
			Conditions:        []metav1.Condition{condition(string(gatewayv1.GatewayClassConditionStatusAccepted), true, string(gatewayv1.GatewayClassReasonAccepted), "served by "+GatewayControllerName, c.Generation)},
			SupportedFeatures: supportedFeatures(opts),
		}
	}
	for name, c := range g.badClasses {
		out.Classes[name] = gatewayv1.GatewayClassStatus{
			Conditions: []metav1.Condition{condition(string(gatewayv1.GatewayClassConditionStatusAccepted), false, string(gatewayv1.GatewayClassReasonInvalidParameters), "this controller takes no parametersRef", c.Generation)},
		}
	}
	servedLBs := map[string]*lbconfig.LoadBalancer{}
	if applied.Config != nil {
		for i := range applied.Config.LoadBalancers {
			lb := &applied.Config.LoadBalancers[i]
			servedLBs[lb.Name] = lb
		}
	}
	for _, st := range g.gateways {
		k := st.gw.Namespace + "/" + st.gw.Name
		out.Gateways[k] = gatewayStatus(st, applied, servedLBs)
	}
	out.ListenerSets = g.listenerSetStatuses(out.Gateways, servedLBs) // gatewaylistenerset.go
	for _, r := range g.routes {
		if len(r.parents) == 0 {
			continue
		}
		k := r.ref.Namespace + "/" + r.ref.Name
		routes := out.Routes
		switch r.ref.Kind {
		case kindGRPCRoute:
			routes = out.GRPCRoutes
		case kindTLSRoute:
			routes = out.TLSRoutes
		}
		for _, ps := range r.parents {
			routes[k] = append(routes[k], routeParentStatus(&r.routeCommon, ps))
		}
	}
	return out
}

func supportedFeatures(opts Options) []gatewayv1.SupportedFeature {
	var out []gatewayv1.SupportedFeature
	for _, f := range GatewaySupportedFeatures(opts) {
		out = append(out, gatewayv1.SupportedFeature{Name: f})
	}
	return out
}

func condition(typ string, ok bool, reason, msg string, generation int64) metav1.Condition {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: st, Reason: reason, Message: msg, ObservedGeneration: generation}
}

// gatewayStatus is the status of one Gateway.
func gatewayStatus(st *gatewayState, applied Applied, served map[string]*lbconfig.LoadBalancer) gatewayv1.GatewayStatus {
	gen := st.gw.Generation
	lbName := GatewayLoadBalancer(st.gw.Namespace, st.gw.Name)
	live := served[lbName]
	var out gatewayv1.GatewayStatus
	acceptedReason, acceptedMsg := string(gatewayv1.GatewayReasonAccepted), "accepted"
	if !st.accepted {
		acceptedReason, acceptedMsg = string(st.acceptedReason), st.acceptedMessage
	} else if msg := listenersNotValid(st); msg != "" { // gatewayanswers.go
		acceptedReason, acceptedMsg = string(gatewayv1.GatewayReasonListenersNotValid), msg
	}
	progOK, progReason, progMsg := false, string(gatewayv1.GatewayReasonInvalid), ""
	switch {
	case !st.accepted:
		progMsg = "the Gateway is not accepted"
	case st.noAddress != "":
		progReason, progMsg = string(cmp.Or(st.noAddressReason, gatewayv1.GatewayReasonAddressNotAssigned)), st.noAddress
	case st.buildError != "":
		progMsg = "the load balancer is invalid: " + st.buildError
	case st.lb == nil:
		progMsg = "no listener can be programmed"
	case live == nil:
		progReason, progMsg = string(gatewayv1.GatewayReasonPending), "not applied by the provider (yet); see the Gateway's events"
	default:
		progOK, progReason, progMsg = true, string(gatewayv1.GatewayReasonProgrammed), "programmed"
	}
	out.Conditions = []metav1.Condition{
		condition(string(gatewayv1.GatewayConditionAccepted), st.accepted, acceptedReason, acceptedMsg, gen),
		condition(string(gatewayv1.GatewayConditionProgrammed), progOK, progReason, progMsg, gen),
		gatewayResolvedRefs(st, gen), // gatewaybackendcert.go
	}
	if insecureFrontend(st.gw) { // gatewayclientauth.go
		out.Conditions = append(out.Conditions, condition(string(gatewayv1.GatewayConditionInsecureFrontendValidationMode), true,
			string(gatewayv1.GatewayReasonConfigurationChanged), "AllowInsecureFallback serves clients whose certificates fail validation", gen))
	}
	out.Addresses = statusAddresses(st, applied.Endpoints[lbName], live != nil)
	for _, ls := range ownListeners(st) {
		l := listenerStatus(ls, live, gen)
		if !progOK && progReason != string(gatewayv1.GatewayReasonPending) {
			// Not waiting for the provider: nothing will be applied.
			unprogrammable(l.Conditions, progMsg)
		}
		out.Listeners = append(out.Listeners, l)
	}
	return out
}

// unprogrammable turns a listener's Programmed condition that waits for
// the provider (Pending) into Invalid, for a Gateway that cannot be
// programmed: why.
func unprogrammable(conds []metav1.Condition, why string) {
	for i, c := range conds {
		if c.Type == string(gatewayv1.ListenerConditionProgrammed) && c.Reason == string(gatewayv1.ListenerReasonPending) {
			conds[i].Reason, conds[i].Message = string(gatewayv1.ListenerReasonInvalid), "the Gateway cannot be programmed: "+why
		}
	}
}

// statusAddresses are the addresses of a Gateway: its own, else those
// the provider reports for its load balancer once applied.
func statusAddresses(st *gatewayState, endpoints []lbconfig.Address, live bool) []gatewayv1.GatewayStatusAddress {
	var addrs []netip.Addr
	addrs = append(addrs, st.addresses...)
	if len(addrs) == 0 && live {
		for _, e := range endpoints {
			if a, err := netip.ParseAddr(e.IP); err == nil && !a.IsUnspecified() {
				addrs = append(addrs, a)
			}
		}
	}
	addrs = sortAddrs(addrs)
	var out []gatewayv1.GatewayStatusAddress
	for _, a := range addrs {
		out = append(out, gatewayv1.GatewayStatusAddress{Type: ptrTo(gatewayv1.IPAddressType), Value: a.String()})
	}
	return out
}

// listenerStatus is the status of one listener; live is the applied load
// balancer of its Gateway, or nil.
func listenerStatus(ls *listenerState, live *lbconfig.LoadBalancer, gen int64) gatewayv1.ListenerStatus {
	accReason, accMsg := string(gatewayv1.ListenerReasonAccepted), "accepted"
	if !ls.accepted {
		accReason, accMsg = string(ls.acceptedReason), ls.acceptedMessage
	}
	resReason, resMsg := string(gatewayv1.ListenerReasonResolvedRefs), "resolved"
	if !ls.resolved {
		resReason, resMsg = string(ls.resolvedReason), ls.resolvedMessage
	}
	conflicted, conflictReason, conflictMsg := false, string(gatewayv1.ListenerReasonNoConflicts), "no conflicts"
	if ls.conflictReason != "" {
		conflicted, conflictReason, conflictMsg = true, string(ls.conflictReason), conflictMessage(ls.conflictReason)
	}
	progOK, progReason, progMsg := false, string(gatewayv1.ListenerReasonInvalid), "the listener is not valid"
	switch {
	case !ls.usable():
	case live == nil || !slices.ContainsFunc(live.Listeners, func(l lbconfig.Listener) bool { return l.Port == ls.l.Port }):
		progReason, progMsg = string(gatewayv1.ListenerReasonPending), "not applied by the provider (yet)"
	default:
		progOK, progReason, progMsg = true, string(gatewayv1.ListenerReasonProgrammed), "programmed"
	}
	conds := []metav1.Condition{
		condition(string(gatewayv1.ListenerConditionAccepted), ls.accepted, accReason, accMsg, gen),
		condition(string(gatewayv1.ListenerConditionConflicted), conflicted, conflictReason, conflictMsg, gen),
		condition(string(gatewayv1.ListenerConditionProgrammed), progOK, progReason, progMsg, gen),
		condition(string(gatewayv1.ListenerConditionResolvedRefs), ls.resolved, resReason, resMsg, gen),
	}
	return gatewayv1.ListenerStatus{
		Name:           ls.l.Name,
		SupportedKinds: slices.Clone(ls.kinds),
		AttachedRoutes: ls.attached,
		Conditions:     conds,
	}
}

// routeParentStatus is the status of route r for one parentRef of ours.
func routeParentStatus(r *routeCommon, ps *parentState) gatewayv1.RouteParentStatus {
	gen := r.generation
	resOK, resReason, resMsg := true, string(gatewayv1.RouteReasonResolvedRefs), "resolved"
	if r.resolvedReason != "" {
		resOK, resReason, resMsg = false, string(r.resolvedReason), r.resolvedMessage
	}
	conds := []metav1.Condition{
		condition(string(gatewayv1.RouteConditionAccepted), ps.accepted, string(ps.reason), ps.message, gen),
		condition(string(gatewayv1.RouteConditionResolvedRefs), resOK, resReason, resMsg, gen),
	}
	if r.partial != "" && ps.accepted {
		conds = append(conds, condition(string(gatewayv1.RouteConditionPartiallyInvalid), true, string(gatewayv1.RouteReasonUnsupportedValue), r.partial, gen))
	}
	slices.SortFunc(conds, func(a, b metav1.Condition) int { return cmp.Compare(a.Type, b.Type) })
	return gatewayv1.RouteParentStatus{
		ParentRef:      ps.ref,
		ControllerName: GatewayControllerName,
		Conditions:     conds,
	}
}
