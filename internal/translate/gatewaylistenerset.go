package translate

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// ListenerSets (GEP-1713) add listeners to a Gateway whose
// spec.allowedListeners admits their namespace (none by default). Their
// listeners are read as the Gateway's own, the same listenerState with
// the ListenerSet as owner, and follow them in the Gateway's list:
// ListenerSets oldest first, then by namespace and name, so that
// findConflicts leaves the Gateway's listeners and the older
// ListenerSets' in place, as the spec orders them. They are served on
// the Gateway's load balancer, its addresses and ports. Routes attach to
// them with a parentRef of kind ListenerSet; a parentRef to the Gateway
// reaches its own listeners only. Certificates of their listeners are
// looked up as the ListenerSet's: a ReferenceGrant to Gateways does not
// open a Secret to ListenerSets, nor the other way round.

const kindListenerSet = "ListenerSet"

// listenerSetState is a ListenerSet whose parentRef names one of our
// Gateways.
type listenerSetState struct {
	set *gatewayv1.ListenerSet
	ref lbconfig.ObjectRef
	gw  *gatewayState
	// allowed is false when the Gateway does not take the ListenerSet;
	// reason and message say why.
	allowed   bool
	reason    gatewayv1.ListenerSetConditionReason
	message   string
	listeners []*listenerState
}

// accepted reports whether the ListenerSet is attached to its Gateway:
// allowed, with a listener that serves.
func (s *listenerSetState) accepted() bool {
	return s.allowed && slices.ContainsFunc(s.listeners, (*listenerState).usable)
}

// readListenerSets reads the ListenerSets of our Gateways and appends
// the listeners of those allowed to their Gateway's.
func (g *gatewayAPI) readListenerSets(snap *Snapshot) {
	for _, set := range snap.ListenerSets {
		if set == nil {
			continue
		}
		gw := g.parentGateway(set)
		key := set.Namespace + "/" + set.Name
		if gw == nil || g.setsByName[key] != nil {
			continue
		}
		s := &listenerSetState{set: set, ref: lbconfig.ObjectRef{Kind: kindListenerSet, Namespace: set.Namespace, Name: set.Name}, gw: gw}
		g.setsByName[key] = s
		g.listenerSets = append(g.listenerSets, s)
	}
	slices.SortFunc(g.listenerSets, func(a, b *listenerSetState) int { return byAge(a.set, b.set) })
	for _, s := range g.listenerSets {
		g.admit(s)
		if !s.allowed {
			g.t.problems.add(s.ref, "spec.parentRef", string(s.reason), "%s; its listeners are not served", s.message)
			continue
		}
		for i, e := range s.set.Spec.Listeners {
			ls := &listenerState{l: listenerOf(e), owner: s.ref, set: s, field: fmt.Sprintf("spec.listeners[%d]", i), accepted: true, resolved: true}
			s.listeners = append(s.listeners, ls)
			s.gw.listeners = append(s.gw.listeners, ls)
			g.readListener(s.gw, ls)
		}
	}
}

// listenerOf is a ListenerSet's listener as a Gateway's: the same fields.
func listenerOf(e gatewayv1.ListenerEntry) gatewayv1.Listener {
	return gatewayv1.Listener{Name: e.Name, Hostname: e.Hostname, Port: e.Port, Protocol: e.Protocol, TLS: e.TLS, AllowedRoutes: e.AllowedRoutes}
}

// parentGateway is the Gateway of ours that set's parentRef names, or
// nil.
func (g *gatewayAPI) parentGateway(set *gatewayv1.ListenerSet) *gatewayState {
	p := set.Spec.ParentRef
	if (p.Group != nil && string(*p.Group) != gatewayGroup) || (p.Kind != nil && string(*p.Kind) != kindGateway) {
		return nil
	}
	ns := set.Namespace
	if p.Namespace != nil && *p.Namespace != "" {
		ns = string(*p.Namespace)
	}
	return g.byName[ns+"/"+string(p.Name)]
}

// admit decides whether the Gateway of s takes it: the Gateway is
// accepted, and its allowedListeners admits the namespace of s (None by
// default).
func (g *gatewayAPI) admit(s *listenerSetState) {
	gw := s.gw.gw
	if !s.gw.accepted {
		s.reason, s.message = gatewayv1.ListenerSetReasonParentNotAccepted, fmt.Sprintf("Gateway %s/%s is not accepted", gw.Namespace, gw.Name)
		return
	}
	from := gatewayv1.NamespacesFromNone
	var sel *metav1.LabelSelector
	if al := gw.Spec.AllowedListeners; al != nil && al.Namespaces != nil {
		if al.Namespaces.From != nil {
			from = *al.Namespaces.From
		}
		sel = al.Namespaces.Selector
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		s.allowed = true
	case gatewayv1.NamespacesFromSame:
		s.allowed = s.set.Namespace == gw.Namespace
	case gatewayv1.NamespacesFromSelector:
		if sel != nil {
			selector, err := metav1.LabelSelectorAsSelector(sel)
			ns := g.namespaces[s.set.Namespace]
			s.allowed = err == nil && ns != nil && selector.Matches(labels.Set(ns.Labels))
		}
	}
	if !s.allowed {
		s.reason = gatewayv1.ListenerSetReasonNotAllowed
		s.message = fmt.Sprintf("the allowedListeners of Gateway %s/%s (from %s) do not admit ListenerSets of namespace %q", gw.Namespace, gw.Name, from, s.set.Namespace)
	}
}

// parentOf finds the Gateway of ours a route's parentRef p names,
// directly or through a ListenerSet (set, nil for a Gateway); gw is nil
// when p names neither.
func (g *gatewayAPI) parentOf(ns string, p gatewayv1.ParentReference) (gw *gatewayState, set *listenerSetState) {
	if p.Kind == nil || string(*p.Kind) != kindListenerSet {
		return g.isOurGateway(ns, p), nil
	}
	if p.Group != nil && string(*p.Group) != gatewayGroup {
		return nil, nil
	}
	if p.Namespace != nil {
		ns = string(*p.Namespace)
	}
	set = g.setsByName[ns+"/"+string(p.Name)]
	if set == nil {
		return nil, nil
	}
	return set.gw, set
}

// parentKind is the kind of the parent ps names.
func parentKind(ps *parentState) string {
	if ps.set != nil {
		return kindListenerSet
	}
	return kindGateway
}

// listenerSetStatuses are the statuses of the ListenerSets of our
// Gateways; each Gateway's status in gateways gets the number of its
// ListenerSets accepted (attachedListenerSets) when one names it.
func (g *gatewayAPI) listenerSetStatuses(gateways map[string]gatewayv1.GatewayStatus, served map[string]*lbconfig.LoadBalancer) map[string]gatewayv1.ListenerSetStatus {
	out := map[string]gatewayv1.ListenerSetStatus{}
	attached := map[*gatewayState]int32{}
	for _, s := range g.listenerSets {
		n := attached[s.gw]
		if s.accepted() {
			n++
		}
		attached[s.gw] = n
		out[s.ref.Namespace+"/"+s.ref.Name] = listenerSetStatus(s, served[GatewayLoadBalancer(s.gw.gw.Namespace, s.gw.gw.Name)])
	}
	for st, n := range attached {
		k := st.gw.Namespace + "/" + st.gw.Name
		gs := gateways[k]
		gs.AttachedListenerSets = ptrTo(n)
		gateways[k] = gs
	}
	return out
}

// listenerSetStatus is the status of one ListenerSet; live is the applied
// load balancer of its Gateway, or nil.
func listenerSetStatus(s *listenerSetState, live *lbconfig.LoadBalancer) gatewayv1.ListenerSetStatus {
	gen := s.set.Generation
	accOK, accReason, accMsg := true, string(gatewayv1.ListenerSetReasonAccepted), "accepted"
	switch {
	case !s.allowed:
		accOK, accReason, accMsg = false, string(s.reason), s.message
	case !s.accepted():
		accOK, accReason, accMsg = false, string(gatewayv1.ListenerSetReasonListenersNotValid), "no listener is valid"
	}
	var out gatewayv1.ListenerSetStatus
	programmed := false
	for _, ls := range s.listeners {
		st := listenerStatus(ls, live, gen)
		if ls.conflictReason != "" {
			refuseConflicted(st.Conditions, ls.conflictReason)
		}
		programmed = programmed || conditionTrue(st.Conditions, gatewayv1.ListenerConditionProgrammed)
		out.Listeners = append(out.Listeners, gatewayv1.ListenerEntryStatus{
			Name: st.Name, SupportedKinds: st.SupportedKinds, AttachedRoutes: st.AttachedRoutes, Conditions: st.Conditions,
		})
	}
	progOK, progReason, progMsg := false, accReason, accMsg
	switch {
	case !accOK:
	case !programmed:
		progReason, progMsg = string(gatewayv1.ListenerSetReasonPending), "not applied by the provider (yet); see the Gateway's status"
	default:
		progOK, progReason, progMsg = true, string(gatewayv1.ListenerSetReasonProgrammed), "programmed"
	}
	out.Conditions = []metav1.Condition{
		condition(string(gatewayv1.ListenerSetConditionAccepted), accOK, accReason, accMsg, gen),
		condition(string(gatewayv1.ListenerSetConditionProgrammed), progOK, progReason, progMsg, gen),
	}
	return out
}

// refuseConflicted makes the Accepted and Programmed conditions of a
// conflicted listener of a ListenerSet False for the conflict's reason,
// as the spec's ListenerSet tests ask (a Gateway's own conflicted
// listener stays Accepted, as before ListenerSets).
func refuseConflicted(conds []metav1.Condition, reason gatewayv1.ListenerConditionReason) {
	for i, c := range conds {
		if c.Type == string(gatewayv1.ListenerConditionAccepted) || c.Type == string(gatewayv1.ListenerConditionProgrammed) {
			conds[i].Status, conds[i].Reason, conds[i].Message = metav1.ConditionFalse, string(reason), conflictMessage(reason)
		}
	}
}

// conditionTrue reports whether conds has a condition of type typ that is True.
func conditionTrue(conds []metav1.Condition, typ gatewayv1.ListenerConditionType) bool {
	return slices.ContainsFunc(conds, func(c metav1.Condition) bool {
		return c.Type == string(typ) && c.Status == metav1.ConditionTrue
	})
}
