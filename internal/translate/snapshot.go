package translate

import (
	"fmt"
	"iter"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"ingress-controller/pkg/lbconfig"
)

// Snapshot is the set of objects the translator reads. Order does not matter.
//
// Sources and the engine reach its objects through Add, Objects and the
// functions beside them, so that the kinds are listed only here.
type Snapshot struct {
	Ingresses      []*networkingv1.Ingress
	IngressClasses []*networkingv1.IngressClass
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Secrets        []*corev1.Secret
	// ConfigMaps are read only for ingress-nginx's custom-headers
	// (customheaders.go) and for the CA bundles of Gateway API's frontend
	// client certificate validation (gatewayclientauth.go).
	ConfigMaps []*corev1.ConfigMap
	// Gateway API objects (gateway.go), and the Namespaces whose labels
	// a listener's allowedRoutes selector reads.
	GatewayClasses []*gatewayv1.GatewayClass
	Gateways       []*gatewayv1.Gateway
	// ListenerSets add listeners to Gateways that allow them
	// (gatewaylistenerset.go).
	ListenerSets []*gatewayv1.ListenerSet
	HTTPRoutes   []*gatewayv1.HTTPRoute
	GRPCRoutes   []*gatewayv1.GRPCRoute
	TLSRoutes    []*gatewayv1.TLSRoute
	TCPRoutes    []*gatewayv1.TCPRoute
	// BackendTLSPolicies, with the ConfigMaps of their CAs
	// (gatewaybackendtls.go).
	BackendTLSPolicies []*gatewayv1.BackendTLSPolicy
	ReferenceGrants    []*gatewayv1beta1.ReferenceGrant
	Namespaces         []*corev1.Namespace
}

// Object is an object a snapshot holds.
type Object interface {
	runtime.Object
	metav1.Object
}

// kinds are the kinds a snapshot holds, in the order Objects yields them:
// the one place that lists them.
var kinds = []kind{
	kindOf(networkingv1.SchemeGroupVersion.String(), "Ingress", func(s *Snapshot) *[]*networkingv1.Ingress { return &s.Ingresses }),
	kindOf(networkingv1.SchemeGroupVersion.String(), "IngressClass", func(s *Snapshot) *[]*networkingv1.IngressClass { return &s.IngressClasses }),
	kindOf(corev1.SchemeGroupVersion.String(), "Service", func(s *Snapshot) *[]*corev1.Service { return &s.Services }),
	kindOf(discoveryv1.SchemeGroupVersion.String(), "EndpointSlice", func(s *Snapshot) *[]*discoveryv1.EndpointSlice { return &s.EndpointSlices }),
	kindOf(corev1.SchemeGroupVersion.String(), "Secret", func(s *Snapshot) *[]*corev1.Secret { return &s.Secrets }),
	kindOf(corev1.SchemeGroupVersion.String(), "ConfigMap", func(s *Snapshot) *[]*corev1.ConfigMap { return &s.ConfigMaps }),
	kindOf(gatewayv1.GroupVersion.String(), "GatewayClass", func(s *Snapshot) *[]*gatewayv1.GatewayClass { return &s.GatewayClasses }),
	kindOf(gatewayv1.GroupVersion.String(), "Gateway", func(s *Snapshot) *[]*gatewayv1.Gateway { return &s.Gateways }),
	kindOf(gatewayv1.GroupVersion.String(), "ListenerSet", func(s *Snapshot) *[]*gatewayv1.ListenerSet { return &s.ListenerSets }),
	kindOf(gatewayv1.GroupVersion.String(), "HTTPRoute", func(s *Snapshot) *[]*gatewayv1.HTTPRoute { return &s.HTTPRoutes }),
	kindOf(gatewayv1.GroupVersion.String(), "GRPCRoute", func(s *Snapshot) *[]*gatewayv1.GRPCRoute { return &s.GRPCRoutes }),
	kindOf(gatewayv1.GroupVersion.String(), "TLSRoute", func(s *Snapshot) *[]*gatewayv1.TLSRoute { return &s.TLSRoutes }),
	kindOf(gatewayv1.GroupVersion.String(), "TCPRoute", func(s *Snapshot) *[]*gatewayv1.TCPRoute { return &s.TCPRoutes }),
	kindOf(gatewayv1.GroupVersion.String(), "BackendTLSPolicy", func(s *Snapshot) *[]*gatewayv1.BackendTLSPolicy { return &s.BackendTLSPolicies }),
	kindOf(gatewayv1beta1.GroupVersion.String(), "ReferenceGrant", func(s *Snapshot) *[]*gatewayv1beta1.ReferenceGrant { return &s.ReferenceGrants }),
	kindOf(corev1.SchemeGroupVersion.String(), "Namespace", func(s *Snapshot) *[]*corev1.Namespace { return &s.Namespaces }),
}

// kind is one kind of object a snapshot holds, with its list.
type kind struct {
	apiVersion, name string
	new              func() Object
	// match reports whether obj is of this kind, and whether it is a nil
	// pointer of it.
	match func(obj runtime.Object) (ok, isNil bool)
	add   func(s *Snapshot, obj runtime.Object)
	// each calls yield with every non-nil object of s's list until it
	// returns false, and reports whether it never did.
	each func(s *Snapshot, yield func(Object) bool) bool
}

func kindOf[T any, P interface {
	*T
	Object
}](apiVersion, name string, list func(*Snapshot) *[]P) kind {
	return kind{
		apiVersion: apiVersion,
		name:       name,
		new:        func() Object { return P(new(T)) },
		match: func(obj runtime.Object) (bool, bool) {
			p, ok := obj.(P)
			return ok, ok && p == nil
		},
		add: func(s *Snapshot, obj runtime.Object) {
			l := list(s)
			*l = append(*l, obj.(P))
		},
		each: func(s *Snapshot, yield func(Object) bool) bool {
			for _, o := range *list(s) {
				if o != nil && !yield(o) {
					return false
				}
			}
			return true
		},
	}
}

// kindOfObject returns the kind of obj, or nil if a snapshot holds no
// object of its type or obj is nil.
func kindOfObject(obj runtime.Object) *kind {
	for i := range kinds {
		if ok, isNil := kinds[i].match(obj); ok {
			if isNil {
				return nil
			}
			return &kinds[i]
		}
	}
	return nil
}

// NewObject returns an empty object of apiVersion and kind, for decoding
// into, or nil if a snapshot holds no such kind.
func NewObject(apiVersion, kind string) Object {
	for _, k := range kinds {
		if k.apiVersion == apiVersion && k.name == kind {
			return k.new()
		}
	}
	return nil
}

// APIVersion is the apiVersion of kind, or "" if a snapshot holds no such
// kind.
func APIVersion(kind string) string {
	for _, k := range kinds {
		if k.name == kind {
			return k.apiVersion
		}
	}
	return ""
}

// RefOf returns the reference of obj, and false if obj is nil or a
// snapshot holds no object of its type. The kind comes from the Go type:
// objects from an informer's cache have no TypeMeta.
func RefOf(obj runtime.Object) (lbconfig.ObjectRef, bool) {
	k := kindOfObject(obj)
	if k == nil {
		return lbconfig.ObjectRef{}, false
	}
	m := obj.(metav1.Object)
	return lbconfig.ObjectRef{Kind: k.name, Namespace: m.GetNamespace(), Name: m.GetName()}, true
}

// Add appends obj to the list of its kind. It fails for nil objects and
// those of other types.
func (s *Snapshot) Add(obj runtime.Object) error {
	k := kindOfObject(obj)
	if k == nil {
		return fmt.Errorf("a snapshot holds no %T (or a nil one)", obj)
	}
	k.add(s, obj)
	return nil
}

// Objects yields every object of s with its reference, kind by kind, in
// the order of each kind's list; nil entries are skipped. A nil s yields
// nothing.
func (s *Snapshot) Objects() iter.Seq2[lbconfig.ObjectRef, Object] {
	return func(yield func(lbconfig.ObjectRef, Object) bool) {
		if s == nil {
			return
		}
		for _, k := range kinds {
			more := k.each(s, func(o Object) bool {
				return yield(lbconfig.ObjectRef{Kind: k.name, Namespace: o.GetNamespace(), Name: o.GetName()}, o)
			})
			if !more {
				return
			}
		}
	}
}

// Without returns snap less what the objects of refs contribute as sources
// of load balancers (lbconfig.LoadBalancer.Sources): their Ingresses,
// Gateways, ListenerSets, HTTPRoutes, GRPCRoutes, TLSRoutes and TCPRoutes
// are left out, and their Services lose the TCP listener annotation but keep
// serving as the backends of Ingresses. References to objects of other
// kinds, or not in snap, change nothing. snap's objects are shared with
// its source and not modified: changed ones are copies.
func Without(snap *Snapshot, refs []lbconfig.ObjectRef) *Snapshot {
	if snap == nil {
		return &Snapshot{}
	}
	out := *snap
	excluded := func(o Object) bool {
		ref, ok := RefOf(o)
		return ok && slices.Contains(refs, ref)
	}
	out.Ingresses = slices.DeleteFunc(slices.Clone(snap.Ingresses), func(ing *networkingv1.Ingress) bool { return excluded(ing) })
	out.Gateways = slices.DeleteFunc(slices.Clone(snap.Gateways), func(gw *gatewayv1.Gateway) bool { return excluded(gw) })
	out.ListenerSets = slices.DeleteFunc(slices.Clone(snap.ListenerSets), func(ls *gatewayv1.ListenerSet) bool { return excluded(ls) })
	out.HTTPRoutes = slices.DeleteFunc(slices.Clone(snap.HTTPRoutes), func(r *gatewayv1.HTTPRoute) bool { return excluded(r) })
	out.GRPCRoutes = slices.DeleteFunc(slices.Clone(snap.GRPCRoutes), func(r *gatewayv1.GRPCRoute) bool { return excluded(r) })
	out.TLSRoutes = slices.DeleteFunc(slices.Clone(snap.TLSRoutes), func(r *gatewayv1.TLSRoute) bool { return excluded(r) })
	out.TCPRoutes = slices.DeleteFunc(slices.Clone(snap.TCPRoutes), func(r *gatewayv1.TCPRoute) bool { return excluded(r) })
	out.Services = slices.Clone(snap.Services)
	for i, svc := range out.Services {
		if svc == nil || !excluded(svc) {
			continue
		}
		if _, ok := svc.Annotations[AnnotationTCPListenPort]; ok {
			c := svc.DeepCopy()
			delete(c.Annotations, AnnotationTCPListenPort)
			out.Services[i] = c
		}
	}
	return &out
}
