package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// routeState is one HTTPRoute, GRPCRoute or TLSRoute being translated;
// TCPRoutes have their own (gatewaytcp.go).
type routeState struct {
	routeCommon
	obj metav1.Object
	// rules reads the rules as HTTPRoute rules, nil for one left out
	// (gatewaygrpc.go).
	rules func(g *gatewayAPI, r *routeState) []*gatewayv1.HTTPRouteRule
	// tls is the route when it is a TLSRoute (gatewaytlsroute.go), whose
	// rules are not HTTPRoute rules.
	tls *gatewayv1.TLSRoute
	// routes are its rules translated, without virtual host; nil until
	// readRules ran.
	routes []ruleRoute
	read   bool
	// backend is where a TLSRoute's connections go; "" until
	// readTLSRule ran.
	backend string
}

// routeCommon is what routes of every kind have: how they attach, and
// what their status says.
type routeCommon struct {
	ref        lbconfig.ObjectRef // Kind is the route's kind
	generation int64
	parentRefs []gatewayv1.ParentReference
	// hostnames are the route's hostnames; anyHost is set for kinds
	// without (TCPRoute), which take every listener's traffic.
	hostnames []gatewayv1.Hostname
	anyHost   bool
	// protocol is that of the backends of its rules.
	protocol lbconfig.BackendProtocol
	// parents are its parentRefs that name our Gateways, in order.
	parents []*parentState
	// resolvedReason is the first reason a backendRef could not be
	// resolved ("" when every one was), and resolvedMessage says which.
	resolvedReason  gatewayv1.RouteConditionReason
	resolvedMessage string
	// partial says which rules or matches are not served, "" when all
	// are.
	partial string
	// rejected says why the spec has the whole route not accepted, ""
	// when nothing does.
	rejected string
}

// anyRoute is a route of any kind, for what they have in common.
type anyRoute interface{ common() *routeCommon }

func (r *routeCommon) common() *routeCommon { return r }

// ruleRoute is one route a rule match makes, and where it came from.
type ruleRoute struct {
	route lbconfig.Route
	field string
}

// parentState is a parentRef of a route that names one of our Gateways,
// or a ListenerSet attached to one (set).
type parentState struct {
	ref             gatewayv1.ParentReference
	gw              *gatewayState
	set             *listenerSetState
	accepted        bool
	reason          gatewayv1.RouteConditionReason
	message         string
	listeners       []*listenerState
	hosts           [][]string // of each listener, the hostnames the route gets there
	field           string
	resolvedProblem bool
}

func routeRef(kind string, r metav1.Object) lbconfig.ObjectRef {
	return lbconfig.ObjectRef{Kind: kind, Namespace: r.GetNamespace(), Name: r.GetName()}
}

// httpRoute is the state of an HTTPRoute.
func httpRoute(r *gatewayv1.HTTPRoute) *routeState {
	return &routeState{
		obj: r, routeCommon: routeCommon{
			ref: routeRef(kindHTTPRoute, r), generation: r.Generation, parentRefs: r.Spec.ParentRefs, hostnames: r.Spec.Hostnames,
		},
		rules: func(*gatewayAPI, *routeState) []*gatewayv1.HTTPRouteRule {
			out := make([]*gatewayv1.HTTPRouteRule, len(r.Spec.Rules))
			for i := range r.Spec.Rules {
				out[i] = &r.Spec.Rules[i]
			}
			return out
		},
	}
}

// compareRoutes orders routes oldest first, then by kind.
func compareRoutes(a, b *routeState) int {
	return cmp.Or(byAge(a.obj, b.obj), cmp.Compare(a.ref.Kind, b.ref.Kind))
}

// attach finds the listeners of our Gateways that r attaches to.
func (g *gatewayAPI) attach(r *routeCommon) {
	for i, p := range r.parentRefs {
		gw, set := g.parentOf(r.ref.Namespace, p) // gatewaylistenerset.go
		if gw == nil {
			continue
		}
		ps := &parentState{ref: p, gw: gw, set: set, field: fmt.Sprintf("spec.parentRefs[%d]", i)}
		r.parents = append(r.parents, ps)
		g.attachParent(r, ps)
		g.checkKindConflict(r, ps) // gatewaygrpc.go
		if !ps.accepted {
			g.t.problems.add(r.ref, ps.field, string(ps.reason), "%s; the route is not served there", ps.message)
			continue
		}
		for _, ls := range ps.listeners {
			ls.attached++
		}
	}
}

// reject records that r is not accepted by any parent, as the spec asks
// for some invalid values (a ReplacePrefixMatch without a PathPrefix
// match); unaccept applies it once the rules are read.
func (g *gatewayAPI) reject(r *routeState, field, msg string) {
	g.t.problems.add(r.ref, field, string(gatewayv1.RouteReasonUnsupportedValue), "%s; the route is not served", msg)
	if r.rejected == "" {
		r.rejected = field + ": " + msg
	}
}

// unaccept takes a rejected route off the parents that accepted it.
func (g *gatewayAPI) unaccept(r *routeState) {
	if r.rejected == "" {
		return
	}
	for _, ps := range r.parents {
		if ps.accepted {
			for _, ls := range ps.listeners {
				ls.attached--
			}
		}
		ps.accepted, ps.reason, ps.message = false, gatewayv1.RouteReasonUnsupportedValue, r.rejected
	}
}

// attachParent decides whether r attaches to the Gateway or ListenerSet
// of ps, and to which of its listeners, as the spec says: by sectionName
// and port, the listeners' allowedRoutes, and hostnames. A Gateway's
// parentRef reaches its own listeners only, not its ListenerSets'.
func (g *gatewayAPI) attachParent(r *routeCommon, ps *parentState) {
	gw := ps.gw
	if !gw.accepted {
		ps.reason, ps.message = gatewayv1.RouteReasonNoMatchingParent, fmt.Sprintf("Gateway %s/%s is not accepted", gw.gw.Namespace, gw.gw.Name)
		return
	}
	if ps.set != nil && !ps.set.accepted() {
		ps.reason, ps.message = gatewayv1.RouteReasonNoMatchingParent, fmt.Sprintf("ListenerSet %s/%s is not accepted", ps.set.ref.Namespace, ps.set.ref.Name)
		return
	}
	var named []*listenerState
	for _, ls := range gw.listeners {
		if ls.set != ps.set {
			continue
		}
		if ps.ref.SectionName != nil && string(*ps.ref.SectionName) != string(ls.l.Name) {
			continue
		}
		if ps.ref.Port != nil && *ps.ref.Port != ls.l.Port {
			continue
		}
		named = append(named, ls)
	}
	if len(named) == 0 {
		ps.reason, ps.message = gatewayv1.RouteReasonNoMatchingParent, fmt.Sprintf("the %s has no listener of that sectionName and port", parentKind(ps))
		return
	}
	var allowed []*listenerState
	for _, ls := range named {
		if ls.attachable() && g.allows(ls, r.ref) {
			allowed = append(allowed, ls)
		}
	}
	if len(allowed) == 0 {
		ps.reason, ps.message = gatewayv1.RouteReasonNotAllowedByListeners, fmt.Sprintf("no valid listener of the %s allows %ss of this namespace", parentKind(ps), r.ref.Kind)
		return
	}
	for _, ls := range allowed {
		hosts := []string{""}
		if !r.anyHost {
			hosts = routeHosts(ls, gw.listeners, r.hostnames)
		}
		if len(hosts) == 0 {
			continue
		}
		ps.listeners = append(ps.listeners, ls)
		ps.hosts = append(ps.hosts, hosts)
	}
	if len(ps.listeners) == 0 {
		ps.reason, ps.message = gatewayv1.RouteReasonNoMatchingListenerHostname, "no hostname of the route matches a listener's hostname"
		return
	}
	ps.accepted, ps.reason, ps.message = true, gatewayv1.RouteReasonAccepted, "accepted"
}

// allows reports whether listener ls takes route r by its allowedRoutes
// namespaces (Same by default) and kinds.
func (g *gatewayAPI) allows(ls *listenerState, r lbconfig.ObjectRef) bool {
	if !slices.ContainsFunc(ls.kinds, func(k gatewayv1.RouteGroupKind) bool { return string(k.Kind) == r.Kind }) {
		return false
	}
	from := gatewayv1.NamespacesFromSame
	var sel *metav1.LabelSelector
	if ar := ls.l.AllowedRoutes; ar != nil && ar.Namespaces != nil {
		if ar.Namespaces.From != nil {
			from = *ar.Namespaces.From
		}
		sel = ar.Namespaces.Selector
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return r.Namespace == ls.owner.Namespace // the ListenerSet's, for its listeners
	case gatewayv1.NamespacesFromSelector:
		if sel == nil {
			return false
		}
		s, err := metav1.LabelSelectorAsSelector(sel)
		ns := g.namespaces[r.Namespace]
		return err == nil && ns != nil && s.Matches(labels.Set(ns.Labels))
	}
	return false
}

// routeHosts returns the virtual hosts a route with hostnames gets on
// listener ls: each hostname both allow (the more specific of the two),
// or the listener's own hostname ("" is any) when the route has none. A
// hostname that a more specific listener on the same port matches is
// that listener's, as the spec gives a request to the most specific
// listener.
func routeHosts(ls *listenerState, all []*listenerState, hostnames []gatewayv1.Hostname) []string {
	lh := ls.hostname()
	var out []string
	add := func(h string) {
		for _, o := range all {
			if o != ls && o.usable() && o.l.Port == ls.l.Port && hostnameCovers(o.hostname(), h) && specificity(o.hostname()) > specificity(lh) {
				return
			}
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	if len(hostnames) == 0 {
		add(lh)
		return out
	}
	for _, rh := range hostnames {
		h := strings.ToLower(string(rh))
		if lbconfig.CheckHostname(h) != nil || h == "" {
			continue
		}
		if x, ok := intersectHostnames(lh, h); ok {
			add(x)
		}
	}
	return out
}

// hostnameCovers reports whether listener hostname l (not "") takes the
// requests for h: the same name, or a wildcard above it.
func hostnameCovers(l, h string) bool {
	if l == "" {
		return false
	}
	return l == h || (strings.HasPrefix(l, "*.") && strings.HasSuffix(h, l[1:]) && len(h) > len(l)-1)
}

// specificity orders listener hostnames: any host, then wildcards by the
// length of their suffix, then exact names.
func specificity(l string) int {
	switch {
	case l == "":
		return 0
	case strings.HasPrefix(l, "*."):
		return len(l)
	}
	return 1 << 20
}

// intersectHostnames returns the more specific of a listener hostname l
// ("" is any) and a route hostname r when one includes the other, as the
// spec's wildcards do: "*.example.com" stands for one or more labels.
func intersectHostnames(l, r string) (string, bool) {
	switch {
	case l == "":
		return r, true
	case l == r:
		return l, true
	case strings.HasPrefix(l, "*.") && strings.HasSuffix(r, l[1:]):
		return r, true
	case strings.HasPrefix(r, "*.") && strings.HasSuffix(l, r[1:]):
		return l, true
	}
	return "", false
}
