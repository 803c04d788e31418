package translate

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"ingress-controller/pkg/lbconfig"
)

// Gateway API: each Gateway of a GatewayClass whose controllerName is
// GatewayControllerName becomes one load balancer, named
// GatewayLoadBalancerPrefix + "<namespace>/<name>", with the HTTP, HTTPS
// and TCP listeners it declares and the routes attached to them, and its
// TLS listeners of mode Passthrough with the TLSRoutes attached to them
// (gatewaytls.go, gatewaytlsroute.go). The rules are written for users in
// docs/gateway-api.md:
//
//   - Addresses (gatewayaddress.go): spec.addresses of type IPAddress,
//     else one from Options.GatewayAddressPool, else the provider's
//     listen address.
//   - Listeners of one Gateway on the same port share one lbconfig
//     listener; their hostnames become virtual hosts. Two on one port
//     with different protocols, or the same hostname, are Conflicted and
//     left out. A virtual host falls through to the next less specific
//     one of the same listener (gatewayfallthrough.go).
//   - On the listen address, Ingress load balancers keep their ports: a
//     Gateway listener on a port one of them uses is not programmed
//     (Accepted False, PortUnavailable) and the Gateway gets a Warning.
//     Between Gateways on one address the oldest keeps the port.
//   - HTTPRoutes (gatewayroute.go) attach to listeners by parentRefs
//     (sectionName, port), allowedRoutes and hostnames; their rules become
//     routes of the virtual hosts of the hostnames both allow.
//   - TCP listeners take TCPRoutes (gatewaytcp.go): the oldest attached
//     route's backendRefs get the connections, by weight.
//   - Status is computed as data (gatewaystatus.go); Programmed follows
//     what the provider applied, which GatewayAPIStatus is told.
//   - A Gateway or GatewayClass naming a parametersRef is not accepted
//     (InvalidParameters): we take none (gatewayinfra.go).

// Names of the Gateway API source.
const (
	// GatewayControllerName is the GatewayClass spec.controllerName we
	// serve.
	GatewayControllerName = "ingress-controller.io/gateway-controller"
	// GatewayLoadBalancerPrefix starts the name of a Gateway's load
	// balancer.
	GatewayLoadBalancerPrefix = "gateway/"
	// InvalidBackendSuffix ends the name of the backend, an answer of
	// 500, that takes the share of a backendRef that cannot be resolved
	// (gatewayanswers.go).
	InvalidBackendSuffix = "!invalid"
)

// Gateway API kinds and group, as references name them.
const (
	gatewayGroup     = gatewayv1.GroupName
	kindGateway      = "Gateway"
	kindHTTPRoute    = "HTTPRoute"
	kindGRPCRoute    = "GRPCRoute"
	kindTLSRoute     = "TLSRoute"
	kindService      = "Service"
	kindSecret       = "Secret"
	kindGatewayClass = "GatewayClass"
)

// gatewayAPI is the translation of the Gateway API objects of a snapshot.
type gatewayAPI struct {
	t    *translation
	snap *Snapshot
	// classes are ours, by name; badClasses are ours but not accepted.
	classes, badClasses map[string]*gatewayv1.GatewayClass
	gateways            []*gatewayState // ours, oldest first
	// byName finds our Gateways by "<namespace>/<name>".
	byName map[string]*gatewayState
	// listenerSets name our Gateways, oldest first; setsByName finds
	// them by "<namespace>/<name>" (gatewaylistenerset.go).
	listenerSets []*listenerSetState
	setsByName   map[string]*listenerSetState
	routes       []*routeState    // every HTTPRoute, GRPCRoute and TLSRoute, oldest first
	tcpRoutes    []*tcpRouteState // every TCPRoute, oldest first (gatewaytcp.go)
	grants       []*gatewayv1beta1.ReferenceGrant
	namespaces   map[string]*corev1.Namespace
	// rank is the lbconfig.Route.Rank of the next rule read.
	rank int32
	// tlsPolicies are the BackendTLSPolicies, oldest first; tlsTargets
	// the one that applies to "<namespace>/<service>/<sectionName>"
	// (gatewaybackendtls.go); serviceParents the routes to each Service,
	// by "<namespace>/<name>".
	tlsPolicies    []*tlsPolicyState
	tlsTargets     map[string]*tlsPolicyState
	serviceParents map[string][]*routeCommon
}

// gatewayState is one of our Gateways being translated.
type gatewayState struct {
	gw  *gatewayv1.Gateway
	ref lbconfig.ObjectRef
	// addresses the load balancer binds; empty is the listen address.
	addresses []netip.Addr
	// noAddress says why a Gateway that wants a pool address has none,
	// or why its spec.addresses cannot be used; noAddressReason is
	// AddressNotAssigned unless set (gatewaystatic.go).
	noAddress       string
	noAddressReason gatewayv1.GatewayConditionReason
	// accepted is false when the Gateway as a whole is not served; reason
	// and message say why.
	accepted        bool
	acceptedReason  gatewayv1.GatewayConditionReason
	acceptedMessage string
	listeners       []*listenerState
	// lb is the load balancer, nil when none is served.
	lb *lbconfig.LoadBalancer
	// buildError is set when the load balancer failed lbconfig's checks.
	buildError string
	// backendCert is the client certificate presented to backends under
	// a BackendTLSPolicy; backendCertReason and backendCertMessage say
	// why the one named does not resolve (gatewaybackendcert.go).
	backendCert        *lbconfig.Certificate
	backendCertReason  gatewayv1.GatewayConditionReason
	backendCertMessage string
}

// listenerState is one listener of a Gateway, its own or one of a
// ListenerSet attached to it.
type listenerState struct {
	l gatewayv1.Listener
	// owner declares the listener at field: the Gateway, or the
	// ListenerSet set.
	owner lbconfig.ObjectRef
	set   *listenerSetState
	field string
	// accepted, resolved and conflicted with the reasons of their
	// conditions.
	accepted        bool
	acceptedReason  gatewayv1.ListenerConditionReason
	acceptedMessage string
	resolved        bool
	resolvedReason  gatewayv1.ListenerConditionReason
	resolvedMessage string
	conflictReason  gatewayv1.ListenerConditionReason // "" when not conflicted
	kinds           []gatewayv1.RouteGroupKind
	cert            *lbconfig.Certificate
	// clientAuth is the client certificate validation of an HTTPS
	// listener, or nil (gatewayclientauth.go).
	clientAuth *lbconfig.ClientAuth
	// badCert is set when an HTTPS listener has no usable certificate.
	badCert  bool
	attached int32
	// routeHosts are the hostnames the accepted routes got on the
	// listener, for the conflicts between route kinds.
	routeHosts []routeHost
	// portTaken is set when another load balancer holds the port.
	portTaken string
}

// attachable reports whether routes attach to the listener (and count in
// its attachedRoutes): it is accepted, not conflicted, and takes some
// route kind. A route kind it cannot take makes ResolvedRefs False, but it
// still takes the kinds it can.
func (ls *listenerState) attachable() bool {
	return ls.accepted && len(ls.kinds) > 0 && ls.conflictReason == ""
}

// usable reports whether the listener serves: attachable, with its
// certificate, and its port.
func (ls *listenerState) usable() bool {
	return ls.attachable() && !ls.badCert && ls.portTaken == ""
}

// hostname is the listener's hostname, lower case; "" (any) when it has
// none or its protocol ignores it (TCP).
func (ls *listenerState) hostname() string {
	if ls.l.Hostname == nil || ls.l.Protocol == gatewayv1.TCPProtocolType {
		return ""
	}
	return strings.ToLower(string(*ls.l.Hostname))
}

func gatewayRef(gw *gatewayv1.Gateway) lbconfig.ObjectRef {
	return lbconfig.ObjectRef{Kind: kindGateway, Namespace: gw.Namespace, Name: gw.Name}
}

// GatewayLoadBalancer is the name of the load balancer of the Gateway
// namespace/name.
func GatewayLoadBalancer(namespace, name string) string {
	return GatewayLoadBalancerPrefix + namespace + "/" + name
}

func byAge(a, b metav1.Object) int {
	at, bt := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	return cmp.Or(
		at.Compare(bt.Time),
		cmp.Compare(a.GetNamespace(), b.GetNamespace()),
		cmp.Compare(a.GetName(), b.GetName()),
	)
}

// addGateways translates the Gateway API objects of snap and adds their
// load balancers to cfg, the Ingresses' config, whose ports they leave
// alone.
func (t *translation) addGateways(snap *Snapshot, cfg *lbconfig.Config) *gatewayAPI {
	g := &gatewayAPI{
		t:          t,
		snap:       snap,
		classes:    map[string]*gatewayv1.GatewayClass{},
		badClasses: map[string]*gatewayv1.GatewayClass{},
		byName:     map[string]*gatewayState{},
		setsByName: map[string]*listenerSetState{},
		namespaces: map[string]*corev1.Namespace{},
	}
	for _, c := range snap.GatewayClasses {
		if c == nil || c.Spec.ControllerName != GatewayControllerName || g.classes[c.Name] != nil || g.badClasses[c.Name] != nil {
			continue
		}
		if c.Spec.ParametersRef != nil {
			// No parameters are defined for our classes.
			g.badClasses[c.Name] = c
			t.problems.add(lbconfig.ObjectRef{Kind: kindGatewayClass, Name: c.Name}, "spec.parametersRef", string(gatewayv1.GatewayClassReasonInvalidParameters), "this controller takes no parameters; the class's Gateways are not served")
			continue
		}
		g.classes[c.Name] = c
	}
	for _, ns := range snap.Namespaces {
		if ns != nil && g.namespaces[ns.Name] == nil {
			g.namespaces[ns.Name] = ns
		}
	}
	g.grants = slices.DeleteFunc(slices.Clone(snap.ReferenceGrants), func(rg *gatewayv1beta1.ReferenceGrant) bool { return rg == nil })
	for _, gw := range snap.Gateways {
		if gw == nil || g.classes[string(gw.Spec.GatewayClassName)] == nil {
			continue
		}
		key := gw.Namespace + "/" + gw.Name
		if g.byName[key] != nil {
			continue // a snapshot holding one twice: the first wins
		}
		st := &gatewayState{gw: gw, ref: gatewayRef(gw), accepted: true}
		g.byName[key] = st
		g.gateways = append(g.gateways, st)
		g.readParametersRef(st) // gatewayinfra.go
	}
	slices.SortFunc(g.gateways, func(a, b *gatewayState) int { return byAge(a.gw, b.gw) })
	g.assignAddresses() // gatewayaddress.go
	for _, st := range g.gateways {
		g.readListeners(st)
		g.readBackendCert(st) // gatewaybackendcert.go
	}
	g.readListenerSets(snap) // gatewaylistenerset.go
	for _, st := range g.gateways {
		g.readConflicts(st)
	}
	g.placePorts(cfg)              // gatewaybuild.go
	g.readBackendTLSPolicies(snap) // gatewaybackendtls.go
	for _, r := range snap.HTTPRoutes {
		if r != nil {
			g.routes = append(g.routes, httpRoute(r))
		}
	}
	for _, r := range snap.GRPCRoutes {
		if r != nil {
			g.routes = append(g.routes, grpcRoute(r)) // gatewaygrpc.go
		}
	}
	g.addTLSRoutes(snap) // gatewaytlsroute.go
	slices.SortFunc(g.routes, compareRoutes)
	g.routes = slices.CompactFunc(g.routes, func(a, b *routeState) bool { return a.ref == b.ref })
	for _, r := range g.routes {
		g.attach(&r.routeCommon) // gatewayroute.go
		if len(r.parents) == 0 {
			continue
		}
		if r.tls != nil {
			g.readTLSRule(r) // gatewaytlsroute.go
		} else {
			g.readRules(r) // gatewayrules.go
		}
		g.unaccept(r)
	}
	g.readTCPRoutes(snap) // gatewaytcp.go
	for _, st := range g.gateways {
		g.build(st)
	}
	g.place(cfg)
	return g
}

// readListeners checks the Gateway's own listeners.
func (g *gatewayAPI) readListeners(st *gatewayState) {
	for i, l := range st.gw.Spec.Listeners {
		ls := &listenerState{l: l, owner: st.ref, field: fmt.Sprintf("spec.listeners[%d]", i), accepted: true, resolved: true}
		st.listeners = append(st.listeners, ls)
		g.readListener(st, ls)
	}
	if !st.accepted {
		return
	}
	for _, ls := range st.listeners {
		if ls.accepted {
			return
		}
	}
	st.accepted = false
	st.acceptedReason = gatewayv1.GatewayReasonListenersNotValid
	st.acceptedMessage = "no listener is valid"
}

// readConflicts finds the conflicts among the listeners of st: its own,
// then those of its ListenerSets.
func (g *gatewayAPI) readConflicts(st *gatewayState) {
	findConflicts(st.listeners)
	for _, ls := range st.listeners {
		if ls.conflictReason != "" {
			g.t.problems.add(ls.owner, ls.field, string(ls.conflictReason), "%s; the listener is not served", conflictMessage(ls.conflictReason))
		}
	}
}

// ownListeners are the listeners of st's spec, without its ListenerSets'.
func ownListeners(st *gatewayState) []*listenerState {
	return slices.DeleteFunc(slices.Clone(st.listeners), func(ls *listenerState) bool { return ls.set != nil })
}

// readListener checks one listener: its protocol, route kinds and
// certificates.
func (g *gatewayAPI) readListener(st *gatewayState, ls *listenerState) {
	l := ls.l
	if ok, msg := protocolServed(l.Protocol); !ok { // gatewayanswers.go
		ls.accepted = false
		ls.acceptedReason = gatewayv1.ListenerReasonUnsupportedProtocol
		ls.acceptedMessage = msg
		g.t.problems.add(ls.owner, ls.field+".protocol", string(ls.acceptedReason), "%s; the listener is not served", ls.acceptedMessage)
		return
	}
	if l.Port < 1 || l.Port > 65535 {
		ls.accepted = false
		ls.acceptedReason = gatewayv1.ListenerReasonUnsupportedValue
		ls.acceptedMessage = fmt.Sprintf("%d is not a port number", l.Port)
		g.t.problems.add(ls.owner, ls.field+".port", string(ls.acceptedReason), "%s; the listener is not served", ls.acceptedMessage)
		return
	}
	if h := ls.hostname(); h != "" {
		if err := lbconfig.CheckHostname(h); err != nil {
			ls.accepted = false
			ls.acceptedReason = gatewayv1.ListenerReasonUnsupportedValue
			ls.acceptedMessage = err.Error()
			g.t.problems.add(ls.owner, ls.field+".hostname", string(ls.acceptedReason), "%s; the listener is not served", ls.acceptedMessage)
			return
		}
	}
	g.readRouteKinds(st, ls)
	switch {
	case l.Protocol == gatewayv1.HTTPSProtocolType:
		g.readListenerTLS(st, ls) // gatewaytls.go
		g.readClientAuth(st, ls)  // gatewayclientauth.go
	case l.Protocol == gatewayv1.TLSProtocolType:
		g.readTLSListener(st, ls) // gatewaytls.go
	case l.TLS != nil:
		ls.accepted = false
		ls.acceptedReason = gatewayv1.ListenerReasonUnsupportedValue
		ls.acceptedMessage = fmt.Sprintf("a %s listener has no tls", l.Protocol)
		g.t.problems.add(ls.owner, ls.field+".tls", string(ls.acceptedReason), "%s; the listener is not served", ls.acceptedMessage)
	}
}

// servedKinds are the route kinds served on listeners of protocol p, nil
// for protocols not served.
func servedKinds(p gatewayv1.ProtocolType) []gatewayv1.Kind {
	for _, pk := range protocolKinds {
		if pk.protocol == p {
			return pk.kinds
		}
	}
	return nil
}

// protocolKinds are the listener protocols served, in the order
// messages name them, each with the route kinds it takes; adding one here
// is all a listener of that protocol needs to be accepted.
var protocolKinds = []struct {
	protocol gatewayv1.ProtocolType
	kinds    []gatewayv1.Kind
}{
	{gatewayv1.HTTPProtocolType, []gatewayv1.Kind{kindHTTPRoute, kindGRPCRoute}},
	{gatewayv1.HTTPSProtocolType, []gatewayv1.Kind{kindHTTPRoute, kindGRPCRoute}},
	{gatewayv1.TLSProtocolType, []gatewayv1.Kind{kindTLSRoute}}, // gatewaytlsroute.go
	{gatewayv1.TCPProtocolType, []gatewayv1.Kind{kindTCPRoute}}, // gatewaytcp.go
}

// readRouteKinds finds the route kinds the listener takes: those its
// protocol serves (servedKinds). Other kinds listed make ResolvedRefs
// False (InvalidRouteKinds); the listener still takes the valid ones.
func (g *gatewayAPI) readRouteKinds(st *gatewayState, ls *listenerState) {
	served := servedKinds(ls.l.Protocol)
	ar := ls.l.AllowedRoutes
	if ar == nil || len(ar.Kinds) == 0 {
		for _, k := range served {
			ls.kinds = append(ls.kinds, gatewayv1.RouteGroupKind{Group: ptrTo(gatewayv1.Group(gatewayGroup)), Kind: k})
		}
		return
	}
	for i, k := range ar.Kinds {
		group := gatewayGroup
		if k.Group != nil {
			group = string(*k.Group)
		}
		if group == gatewayGroup && slices.Contains(served, k.Kind) {
			if !slices.ContainsFunc(ls.kinds, func(x gatewayv1.RouteGroupKind) bool { return x.Kind == k.Kind }) {
				ls.kinds = append(ls.kinds, gatewayv1.RouteGroupKind{Group: ptrTo(gatewayv1.Group(gatewayGroup)), Kind: k.Kind})
			}
			continue
		}
		ls.resolved = false
		ls.resolvedReason = gatewayv1.ListenerReasonInvalidRouteKinds
		ls.resolvedMessage = fmt.Sprintf("route kind %s/%s is not supported on %s listeners", group, k.Kind, ls.l.Protocol)
		g.t.problems.add(ls.owner, fmt.Sprintf("%s.allowedRoutes.kinds[%d]", ls.field, i), string(ls.resolvedReason), "%s", ls.resolvedMessage)
	}
	if ls.kinds == nil {
		ls.kinds = []gatewayv1.RouteGroupKind{}
	}
}

// findConflicts marks the listeners that share a port with an earlier
// one (in the list) of a different protocol (ProtocolConflict), or of the
// same protocol and hostname (HostnameConflict): the first keeps the port
// or hostname, so that adding a listener never takes one from a listener
// that serves. Listeners that are not accepted take no part. A Gateway's
// list has its own listeners first, then its ListenerSets', as the spec
// orders them.
func findConflicts(listeners []*listenerState) {
	for j, b := range listeners {
		for _, a := range listeners[:j] {
			if !a.accepted || !b.accepted || a.l.Port != b.l.Port || a.conflictReason != "" {
				continue
			}
			switch {
			case a.l.Protocol != b.l.Protocol:
				b.conflictReason = gatewayv1.ListenerReasonProtocolConflict
			case a.hostname() == b.hostname() && b.conflictReason == "":
				b.conflictReason = gatewayv1.ListenerReasonHostnameConflict
			}
		}
	}
}

func conflictMessage(reason gatewayv1.ListenerConditionReason) string {
	if reason == gatewayv1.ListenerReasonProtocolConflict {
		return "an earlier listener of the Gateway has the same port and another protocol"
	}
	return "an earlier listener of the Gateway has the same port, protocol and hostname"
}

// isOurGateway finds the Gateway a parentRef of a route in namespace ns
// names, if it is one of ours.
func (g *gatewayAPI) isOurGateway(ns string, p gatewayv1.ParentReference) *gatewayState {
	if p.Group != nil && string(*p.Group) != gatewayGroup {
		return nil
	}
	if p.Kind != nil && string(*p.Kind) != kindGateway {
		return nil
	}
	if p.Namespace != nil {
		ns = string(*p.Namespace)
	}
	return g.byName[ns+"/"+string(p.Name)]
}

// granted reports whether a ReferenceGrant in toNamespace lets objects of
// fromKind in fromNamespace refer to the object toKind/toName there.
func (g *gatewayAPI) granted(fromKind, fromNamespace, toGroup, toKind, toNamespace, toName string) bool {
	if fromNamespace == toNamespace {
		return true
	}
	for _, rg := range g.grants {
		if rg.Namespace != toNamespace {
			continue
		}
		from := slices.ContainsFunc(rg.Spec.From, func(f gatewayv1beta1.ReferenceGrantFrom) bool {
			return string(f.Group) == gatewayGroup && string(f.Kind) == fromKind && string(f.Namespace) == fromNamespace
		})
		to := slices.ContainsFunc(rg.Spec.To, func(t gatewayv1beta1.ReferenceGrantTo) bool {
			return string(t.Group) == toGroup && string(t.Kind) == toKind && (t.Name == nil || *t.Name == "" || string(*t.Name) == toName)
		})
		if from && to {
			return true
		}
	}
	return false
}

func ptrTo[T any](v T) *T { return &v }
