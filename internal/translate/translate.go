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
// Ingresses (networking.k8s.io/v1) follow the Kubernetes Ingress spec.
// Where the spec leaves the choice to the implementation (classes, path
// types, merging, hosts, backends, TLS, redirects, load balancers and
// their ports, what each problem skips), the rules are written once, for
// users, in docs/ingress.md; this package implements them and its golden
// tests (testdata/) pin them down. group.go and ports.go say how load
// balancers are formed and get their ports; nginx.go how the Ingresses
// written for ingress-nginx are read with Options.NginxCompat (for users:
// docs/migrate-from-ingress-nginx.md).
package translate

import (
	"net/netip"

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
	// NginxControllerName is the spec.controller of ingress-nginx's
	// IngressClasses.
	NginxControllerName = "k8s.io/ingress-nginx"
	// DefaultNginxIngressClass is the default --nginx-ingress-class.
	DefaultNginxIngressClass = "nginx"
	// NginxAnnotationPrefix prefixes the ingress-nginx annotations read on
	// the Ingresses of the nginx class.
	NginxAnnotationPrefix = "nginx.ingress.kubernetes.io/"
	// RefusedBackendSuffix ends the name of the backend, without
	// endpoints, of the paths of an Ingress refused (nginx.go): the
	// routes to it answer 503. Their source is that Ingress, which is not
	// among the load balancer's sources.
	RefusedBackendSuffix = "!refused"
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
	// NginxCompat also serves the Ingresses of class NginxIngressClass and
	// reads their NginxAnnotationPrefix annotations as ingress-nginx does,
	// refusing the Ingresses whose protection it cannot honour (nginx.go).
	NginxCompat bool
	// NginxIngressClass is the class name of those Ingresses, served even
	// when no IngressClass object of that name exists, but not when one
	// exists that only another controller owns; "" means
	// DefaultNginxIngressClass.
	NginxIngressClass string
	// NginxAllowedResponseHeaders are the header names that ingress-nginx's
	// custom-headers may set (its global-allowed-response-headers; case
	// does not matter here); none by default (customheaders.go).
	NginxAllowedResponseHeaders []string
	// ScaleIgnored, when set, says why the replicas cannot be told apart
	// (they are published as one address): AnnotationScale is then
	// reported with this reason and every replica serves every load
	// balancer.
	ScaleIgnored string
	// StickyCanaryIgnored, when set, says why the provider cannot keep a
	// client on an ingress-nginx canary by its affinity cookie
	// (stickycanary.go): affinity-canary-behavior sticky is then reported
	// with this reason and served as legacy.
	StickyCanaryIgnored string
	// MirrorsUnserved, when set, says why the provider does not mirror
	// requests (lbconfig.Route.Mirrors): GatewayClasses then do not
	// declare the mirror features, and a RequestMirror filter is dropped
	// with this reason, its rule served without it (gatewaymirror.go).
	MirrorsUnserved string
	// NameListsUnserved, when set, says why the provider checks a backend
	// certificate against one DNS name only (no list, no URI):
	// GatewayClasses then do not declare BackendTLSPolicySANValidation.
	// The provider refuses such a policy's backends itself.
	NameListsUnserved string
	// TimeoutRetriesUnserved, when set, says why the provider does not
	// retry an attempt that passed a route's backendRequest timeout when
	// the route also has a request timeout: GatewayClasses then do not
	// declare HTTPRouteRetryBackendTimeout, and such a rule gets a
	// problem with this reason (gatewayretry.go).
	TimeoutRetriesUnserved string
	// Unproven are features the translator and the provider serve but
	// whose upstream conformance tests do not all pass with this provider
	// yet: GatewayClasses do not declare them (gatewaystatus.go).
	Unproven []string
	// GatewayServices says the leader keeps a Service per accepted
	// Gateway, labelled with its spec.infrastructure (the kubernetes
	// source's gatewayservice.go): GatewayClasses then declare
	// GatewayInfrastructure.
	GatewayServices bool
	// GatewayAddressPool, when valid, is where Gateways without
	// spec.addresses get their address (gatewayaddress.go).
	GatewayAddressPool netip.Prefix
	// ClusterDomain is the DNS domain of the cluster's Services, which
	// auth URLs that name one end with (authservice.go); "" means
	// DefaultClusterDomain.
	ClusterDomain string
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
