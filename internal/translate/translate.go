// Package translate turns a snapshot of Kubernetes-shaped objects into one
// generic load-balancer config.
//
// It is a pure function: no I/O, no clock, no randomness, and the output is
// fully sorted, so the same snapshot always yields a byte-identical config.
// Everything wrong with the input becomes a Problem naming the object and the
// field; the object (or only the offending rule or path) is skipped and the
// rest of the config is built as usual.
//
// # Ingress semantics
//
// Ingresses (networking.k8s.io/v1) follow the Kubernetes Ingress spec; where
// the spec leaves the choice to the implementation we do this:
//
//   - Class: an Ingress is ours when the legacy annotation
//     kubernetes.io/ingress.class (which, as in ingress-nginx, takes
//     precedence over spec.ingressClassName) or else spec.ingressClassName
//     names Options.IngressClass or an IngressClass whose spec.controller is
//     Options.ControllerName. An Ingress that sets neither is ours when the
//     default IngressClass (annotated ingressclass.kubernetes.io/is-default-class:
//     "true"; the newest if several are, as the admission plugin picks) is.
//   - Paths: pathType ImplementationSpecific is treated as Prefix, and an
//     empty ImplementationSpecific path means "/". Exact and Prefix paths must
//     pass the same checks as in the API server.
//   - Grouping: every Ingress of our class shares the load balancer
//     DefaultLoadBalancer, unless ingress-controller.io/load-balancer puts
//     it on another or Options.LBPerIngress gives it one of its own; see
//     group.go for the load balancers' ports.
//   - Merging: the Ingresses of one load balancer merge. When two paths
//     claim the same host, match type and path (Prefix paths compared
//     without a trailing "/"), or two Ingresses set spec.defaultBackend, the
//     oldest Ingress wins (creationTimestamp, then namespace and name) and
//     the others get a Problem. Ingresses on different load balancers never
//     conflict.
//   - Hosts: hosts are lower-cased. A rule's host owns its requests even when
//     none of its paths survive, so they never fall through to another rule.
//   - Backends: a path whose Service or Service port is missing, or whose
//     Service is of type ExternalName, is still routed, to a backend without
//     endpoints that answers 503, so that fixing the Service needs no other
//     change. Endpoints come from every EndpointSlice of the Service; not
//     ready ones are kept so providers can drain them.
//   - TLS: an Ingress with spec.tls adds an HTTPS listener on
//     Options.HTTPSPort (or its load balancer's listen-ports) to its load
//     balancer. secretName names a kubernetes.io/tls Secret in the
//     Ingress's own namespace, never another; its tls.crt and tls.key (or
//     stringData) must parse and match (crypto/tls.X509KeyPair; expiry is
//     the client's concern). Each TLS host is served on HTTPS with that
//     certificate and the routes an HTTP request for it takes; a host whose
//     Secret is unusable is still served, with the default certificate,
//     and gets a Problem. Rule hosts under a wildcard TLS host get the
//     wildcard's certificate if all their routes come from its namespace.
//     A tls entry without hosts covers its Ingress's rule hosts and makes
//     its certificate the default one, unless Options.DefaultCertificate
//     names one. When two Ingresses give a TLS host different
//     certificates, the oldest wins.
//   - Redirect: on HTTP, the routes of an Ingress on its own TLS hosts
//     redirect to HTTPS with 308, unless annotated
//     ingress-controller.io/ssl-redirect: "false". Other Ingresses' paths
//     on the same host (an ACME HTTP-01 solver) are not redirected.
package translate

import "ingress-controller/pkg/lbconfig"

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

// Options steer the translation; they come from flags.
type Options struct {
	// ControllerName is the IngressClass spec.controller we own.
	ControllerName string
	// IngressClass is the class name we serve even when no IngressClass
	// object of that name exists.
	IngressClass string
	// HTTPPort is the public port of the HTTP listener.
	HTTPPort int32
	// HTTPSPort is the public port of the HTTPS listener, which exists when
	// an Ingress has spec.tls.
	HTTPSPort int32
	// DefaultCertificate is "<namespace>/<name>" of a kubernetes.io/tls
	// Secret served as the HTTPS listener's default certificate, or "".
	DefaultCertificate string
	// LBPerIngress gives every Ingress a load balancer of its own, named
	// "<namespace>/<name>", unless AnnotationLoadBalancer names one.
	LBPerIngress bool
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
