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
}

// Object is an object a snapshot holds.
type Object interface {
	runtime.Object
	metav1.Object
}

// kinds are the kinds a snapshot holds, in the order Objects yields them.
var kinds = []struct {
	apiVersion, kind string
	new              func() Object
}{
	{networkingv1.SchemeGroupVersion.String(), "Ingress", func() Object { return &networkingv1.Ingress{} }},
	{networkingv1.SchemeGroupVersion.String(), "IngressClass", func() Object { return &networkingv1.IngressClass{} }},
	{corev1.SchemeGroupVersion.String(), "Service", func() Object { return &corev1.Service{} }},
	{discoveryv1.SchemeGroupVersion.String(), "EndpointSlice", func() Object { return &discoveryv1.EndpointSlice{} }},
	{corev1.SchemeGroupVersion.String(), "Secret", func() Object { return &corev1.Secret{} }},
}

// NewObject returns an empty object of apiVersion and kind, for decoding
// into, or nil if a snapshot holds no such kind.
func NewObject(apiVersion, kind string) Object {
	for _, k := range kinds {
		if k.apiVersion == apiVersion && k.kind == kind {
			return k.new()
		}
	}
	return nil
}

// APIVersion is the apiVersion of kind, or "" if a snapshot holds no such
// kind.
func APIVersion(kind string) string {
	for _, k := range kinds {
		if k.kind == kind {
			return k.apiVersion
		}
	}
	return ""
}

// RefOf returns the reference of obj, and false if a snapshot holds no
// object of its type. The kind comes from the Go type: objects from an
// informer's cache have no TypeMeta.
func RefOf(obj runtime.Object) (lbconfig.ObjectRef, bool) {
	var kind string
	switch obj.(type) {
	case *networkingv1.Ingress:
		kind = "Ingress"
	case *networkingv1.IngressClass:
		kind = "IngressClass"
	case *corev1.Service:
		kind = "Service"
	case *discoveryv1.EndpointSlice:
		kind = "EndpointSlice"
	case *corev1.Secret:
		kind = "Secret"
	default:
		return lbconfig.ObjectRef{}, false
	}
	if isNil(obj) {
		return lbconfig.ObjectRef{}, false
	}
	m := obj.(metav1.Object)
	return lbconfig.ObjectRef{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName()}, true
}

// isNil reports whether obj is a typed nil pointer.
func isNil(obj runtime.Object) bool {
	switch v := obj.(type) {
	case *networkingv1.Ingress:
		return v == nil
	case *networkingv1.IngressClass:
		return v == nil
	case *corev1.Service:
		return v == nil
	case *discoveryv1.EndpointSlice:
		return v == nil
	case *corev1.Secret:
		return v == nil
	}
	return obj == nil
}

// Add appends obj to the list of its kind. It fails for objects of other
// types and for nil ones.
func (s *Snapshot) Add(obj runtime.Object) error {
	if obj == nil || isNil(obj) {
		return fmt.Errorf("snapshot: nil %T", obj)
	}
	switch v := obj.(type) {
	case *networkingv1.Ingress:
		s.Ingresses = append(s.Ingresses, v)
	case *networkingv1.IngressClass:
		s.IngressClasses = append(s.IngressClasses, v)
	case *corev1.Service:
		s.Services = append(s.Services, v)
	case *discoveryv1.EndpointSlice:
		s.EndpointSlices = append(s.EndpointSlices, v)
	case *corev1.Secret:
		s.Secrets = append(s.Secrets, v)
	default:
		return fmt.Errorf("snapshot: a snapshot holds no %T", obj)
	}
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
		lists := [][]Object{
			objects(s.Ingresses), objects(s.IngressClasses), objects(s.Services),
			objects(s.EndpointSlices), objects(s.Secrets),
		}
		for _, list := range lists {
			for _, o := range list {
				ref, ok := RefOf(o)
				if !ok {
					continue
				}
				if !yield(ref, o) {
					return
				}
			}
		}
	}
}

func objects[T any, P interface {
	*T
	Object
}](list []P) []Object {
	out := make([]Object, 0, len(list))
	for _, o := range list {
		out = append(out, o)
	}
	return out
}

// Without returns snap less what the objects of refs contribute as sources
// of load balancers (lbconfig.LoadBalancer.Sources): their Ingresses are
// left out, and their Services lose the TCP listener annotation but keep
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
