// Package translate turns a snapshot of Kubernetes-shaped objects into one
// generic load-balancer config.
//
// It is a pure function: no I/O, no clock, no randomness, and the output is
// fully sorted, so the same snapshot always yields a byte-identical config.
// Everything wrong with the input becomes a Problem naming the object and the
// field; the object (or only the offending rule or path) is skipped and the
// rest of the config is built as usual.
package translate

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// Well-known names.
const (
	// DefaultControllerName is the spec.controller of IngressClasses we serve.
	DefaultControllerName = "ingress-controller.io/controller"
	// DefaultIngressClass is the default --ingress-class.
	DefaultIngressClass = "ingress-controller"
	// DefaultLoadBalancer is the name of the load balancer that Ingresses
	// share unless told otherwise.
	DefaultLoadBalancer = "default"
	// AnnotationPrefix prefixes every annotation we read.
	AnnotationPrefix = "ingress-controller.io/"
)

// Snapshot is the set of objects the translator reads. Order does not matter.
type Snapshot struct {
	Ingresses      []*networkingv1.Ingress
	IngressClasses []*networkingv1.IngressClass
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Secrets        []*corev1.Secret
}

// Options steer the translation; they come from flags.
type Options struct {
	// ControllerName is the IngressClass spec.controller we own.
	ControllerName string
	// IngressClass is the class name we serve even when no IngressClass
	// object of that name exists.
	IngressClass string
	// HTTPPort is the public port of the HTTP listener.
	HTTPPort int32
	// HTTPSPort is the public port of the HTTPS listener.
	HTTPSPort int32
}

// Problem is something wrong with one object, for events and logs.
type Problem struct {
	Object lbconfig.ObjectRef
	// Field is the path of the offending field, e.g.
	// "spec.rules[0].http.paths[1].backend.service.port.name".
	Field string
	// Reason is a short CamelCase cause for Kubernetes Events, e.g.
	// "ServiceNotFound".
	Reason string
	// Message says what is wrong and what the controller did about it.
	Message string
}

func (p Problem) String() string {
	return p.Object.String() + ": " + p.Field + ": " + p.Message
}
