package translate

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// An auth URL whose host names a Service of the cluster,
// "<service>.<namespace>.svc" or "<service>.<namespace>.svc.<cluster
// domain>", is resolved here to that Service's endpoints for the URL's
// port (lbconfig.ExternalAuth.Backend), as a path's backend is: the
// Service port of that number, then its target port in the
// EndpointSlices. Providers then need not resolve the name (HAProxy's
// Lua sockets cannot), and the endpoints change as any backend's do. The
// Service may be in any namespace, as ingress-nginx allows any URL; only
// its Service and EndpointSlices are read, which the source watches
// where it watches Services.
//
// "<service>.<namespace>", which pods resolve through their DNS search
// path, is not taken for a Service: it is as well a name on the
// Internet (auth.example), and nginx's resolver, which ingress-nginx
// asks, has no search path either. Such names, and every other, keep
// going by DNS (the builtin provider; the haproxy one refuses them), as
// do https URLs, whose certificate is checked against the name, and the
// names of ExternalName Services, which only DNS resolves.
//
// A Service that is missing, has no such port or no ready endpoint
// leaves the check failing closed (every request 500) with a problem,
// never open.

// DefaultClusterDomain is the DNS domain of a cluster's Services without
// Options.ClusterDomain, Kubernetes' default.
const DefaultClusterDomain = "cluster.local"

// clusterDomain is ClusterDomain, or the default.
func (o Options) clusterDomain() string {
	if o.ClusterDomain == "" {
		return DefaultClusterDomain
	}
	return strings.ToLower(strings.TrimSuffix(o.ClusterDomain, "."))
}

// serviceOfHost returns the Service and namespace a host names, lower
// case, a final dot ignored; ok is false for any other host.
func serviceOfHost(host, domain string) (service, namespace string, ok bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	rest, ok := strings.CutSuffix(host, ".svc."+domain)
	if !ok {
		if rest, ok = strings.CutSuffix(host, ".svc"); !ok {
			return "", "", false
		}
	}
	service, namespace, ok = strings.Cut(rest, ".")
	if !ok || !isDNSLabel(service, 63) || !isDNSLabel(namespace, 63) {
		return "", "", false
	}
	return service, namespace, true
}

// authService gives ext (nil: none) the backend of the Service its http
// URL names, if it names one, reporting on ing what keeps the check from
// being served.
func (b *builder) authService(ing *networkingv1.Ingress, ref lbconfig.ObjectRef, ext *lbconfig.ExternalAuth) {
	if ext == nil {
		return
	}
	https, _, host, port, _, err := lbconfig.AuthURLParts(ext.URL)
	if err != nil || https {
		return
	}
	service, ns, ok := serviceOfHost(host, b.clusterDomain)
	if !ok {
		return
	}
	if svc := b.index.services[ns+"/"+service]; svc != nil && svc.Spec.Type == corev1.ServiceTypeExternalName {
		return // a name elsewhere, which only DNS gives
	}
	sb := &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: int32(port)}}
	// The default policy's backend, shared with the paths that name
	// the same Service port without a policy of their own.
	name := backendName(ns, sb)
	rb := b.backends[name]
	if rb == nil {
		rb = b.resolve(ns, sb)
		rb.backend.Name = name
		rb.backend.Policy = DefaultPolicy()
		b.backends[name] = rb
	}
	ext.Backend = &lbconfig.BackendRef{Name: name}
	field := authURLField(ing)
	const failed = "the auth check fails: the Ingress's requests get 500, never served without"
	switch {
	case rb.issue != nil:
		b.problems.add(ref, field, rb.issue.reason, "%s; %s", rb.issue.msg, failed)
	case !anyReady(rb.backend.Endpoints):
		b.problems.add(ref, field, "NoReadyEndpoints",
			"service %q in namespace %q has no ready endpoint for port %d; %s", service, ns, port, failed)
	}
}

// authURLField is the field of ing's auth URL: ingress-nginx's when that
// one gave ours (readNginx keeps both on its copy).
func authURLField(ing *networkingv1.Ingress) string {
	a := ing.Annotations
	if v, ok := a[NginxAnnotationPrefix+"auth-url"]; ok && strings.TrimSpace(v) == strings.TrimSpace(a[AnnotationAuthURL]) {
		return nginxField("auth-url")
	}
	return annotationField(AnnotationAuthURL)
}

func anyReady(eps []lbconfig.Endpoint) bool {
	for _, e := range eps {
		if e.Ready {
			return true
		}
	}
	return false
}
