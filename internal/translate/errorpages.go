package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Error page annotations on an Ingress, applied to every route of its
// rules (not to its spec.defaultBackend, which is no route) as
// lbconfig.Route.Fallback and ErrorPages, with ingress-nginx's
// default-backend and custom-http-errors semantics. Each names a Service
// of the Ingress's namespace, "<service>" (its first TCP port, as
// ingress-nginx takes) or "<service>:<port>" (a number or a port name).
// A value that cannot be read, or a Service that does not exist, gets a
// problem and leaves that feature out: the rest of the Ingress is served
// (none of these protects the app).
const (
	// AnnotationDefaultBackend serves the requests of a route whose
	// Service has no ready endpoint, instead of the proxy's 503, and,
	// without AnnotationErrorBackend, the error pages.
	AnnotationDefaultBackend = AnnotationPrefix + "default-backend"
	// AnnotationErrorBackend serves the error pages.
	AnnotationErrorBackend = AnnotationPrefix + "error-backend"
	// AnnotationErrorStatuses lists the backend statuses replaced by a
	// page, comma-separated, each 400 to 599: "404,503".
	AnnotationErrorStatuses = AnnotationPrefix + "error-statuses"
)

// routeErrors are the error pages and fallback of one Ingress's routes.
type routeErrors struct {
	pages    *lbconfig.ErrorPages
	fallback *lbconfig.BackendRef
}

// applyTo gives r a copy of e.
func (e routeErrors) applyTo(r *lbconfig.Route) {
	if p := e.pages; p != nil {
		r.ErrorPages = &lbconfig.ErrorPages{Backend: p.Backend, Statuses: slices.Clone(p.Statuses)}
	}
	if fb := e.fallback; fb != nil {
		c := *fb
		r.Fallback = &c
	}
}

// errorsOf reads the error page annotations of an Ingress, reporting
// what it cannot read.
func (b *builder) errorsOf(ing *networkingv1.Ingress, ref lbconfig.ObjectRef) routeErrors {
	var e routeErrors
	a := ing.Annotations
	invalid := func(key, format string, args ...any) {
		b.problems.add(ref, annotationField(key), "InvalidAnnotation", format, args...)
	}
	var fallback string
	if v, ok := a[AnnotationDefaultBackend]; ok {
		fallback = b.errorService(ref, AnnotationDefaultBackend, v, false, "requests whose Service has no ready endpoint get 503")
		if fallback != "" {
			e.fallback = &lbconfig.BackendRef{Name: fallback}
		}
	}
	v, ok := a[AnnotationErrorStatuses]
	if !ok {
		if _, set := a[AnnotationErrorBackend]; set {
			invalid(AnnotationErrorBackend, "only applies with %s; ignored", AnnotationErrorStatuses)
		}
		return e
	}
	statuses, err := parseErrorStatuses(v)
	if err != nil {
		invalid(AnnotationErrorStatuses, "%v; the backends' error responses reach the client as they are", err)
		return e
	}
	key := AnnotationErrorBackend
	if _, set := a[key]; !set {
		key = AnnotationDefaultBackend
		if _, set := a[key]; !set {
			invalid(AnnotationErrorStatuses, "needs %s or %s to serve the pages; the backends' error responses reach the client as they are", AnnotationErrorBackend, AnnotationDefaultBackend)
			return e
		}
		if fallback == "" {
			return e // its problem is reported
		}
	}
	// Resolved again as the pages' own backend: plain HTTP/1.1.
	if pages := b.errorService(ref, key, a[key], true, "the backends' error responses reach the client as they are"); pages != "" {
		e.pages = &lbconfig.ErrorPages{Backend: lbconfig.BackendRef{Name: pages}, Statuses: statuses}
	}
	return e
}

// errorService resolves the Service an annotation names in ref's
// namespace to a backend, or reports why it cannot (otherwise saying
// what happens instead) and returns "". Error pages are asked for over
// HTTP/1.1 in the clear, whatever the Ingress's backend protocol, so
// their backend has the default policy; a fallback is a backend like
// the Ingress's others.
func (b *builder) errorService(ref lbconfig.ObjectRef, key, v string, pages bool, otherwise string) string {
	name, port, err := parseServiceRef(v)
	if err != nil {
		b.problems.add(ref, annotationField(key), "InvalidAnnotation", "%v; %s", err, otherwise)
		return ""
	}
	svc := b.index.services[ref.Namespace+"/"+name]
	if svc == nil {
		b.problems.add(ref, annotationField(key), "ServiceNotFound", "service %q not found in namespace %q; %s", name, ref.Namespace, otherwise)
		return ""
	}
	if port.Name == "" && port.Number == 0 {
		sp := firstTCPPort(svc)
		if sp == nil {
			b.problems.add(ref, annotationField(key), "ServicePortNotFound", "service %q in namespace %q has no TCP port; %s", name, ref.Namespace, otherwise)
			return ""
		}
		port.Number = sp.Port
	}
	sb := &networkingv1.IngressServiceBackend{Name: name, Port: port}
	if servicePort(svc, port) == nil {
		b.problems.add(ref, annotationField(key), "ServicePortNotFound", "service %q in namespace %q has no TCP port %s; %s", name, ref.Namespace, describePort(port), otherwise)
		return ""
	}
	site := backendSite{ref: ref, field: annotationField(key), what: "this annotation", served: "the page"}
	if !pages {
		return b.backend(site, sb)
	}
	// The default policy's backend, named as one: never "@<ingress>".
	bn := backendName(ref.Namespace, sb)
	rb := b.backends[bn]
	if rb == nil {
		rb = b.resolve(ref.Namespace, sb)
		rb.backend.Name = bn
		rb.backend.Policy = DefaultPolicy()
		b.backends[bn] = rb
	}
	if is := rb.issue; is != nil {
		b.problems.add(ref, annotationField(key), is.reason, "%s; %s", is.msg, otherwise)
		return ""
	}
	return bn
}

func describePort(p networkingv1.ServiceBackendPort) string {
	if p.Name != "" {
		return strconv.Quote(p.Name)
	}
	return strconv.Itoa(int(p.Number))
}

// firstTCPPort is the first TCP port of svc, the one ingress-nginx's
// default-backend takes.
func firstTCPPort(svc *corev1.Service) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		if isTCP(svc.Spec.Ports[i].Protocol) {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// parseServiceRef reads "<service>" or "<service>:<port>", the port a
// number from 1 to 65535 or a port name; spaces around it are allowed.
func parseServiceRef(v string) (string, networkingv1.ServiceBackendPort, error) {
	s := strings.TrimSpace(v)
	name, port, hasPort := strings.Cut(s, ":")
	var p networkingv1.ServiceBackendPort
	if !isDNSLabel(name, 63) {
		return "", p, fmt.Errorf("%q is not a service name (a DNS label) with an optional \":<port>\"", clip.Value(v))
	}
	if !hasPort {
		return name, p, nil
	}
	if n, err := strconv.Atoi(port); err == nil && port == strconv.Itoa(n) {
		if n < 1 || n > 65535 {
			return "", p, fmt.Errorf("%q: %d is not a port number", clip.Value(v), n)
		}
		p.Number = int32(n)
		return name, p, nil
	}
	if !isDNSLabel(port, 15) {
		return "", p, fmt.Errorf("%q: %q is not a port number or name", clip.Value(v), clip.Value(port))
	}
	p.Name = port
	return name, p, nil
}

// parseErrorStatuses reads a comma-separated list of statuses, 400 to
// 599, spaces around each allowed, into a sorted list without
// duplicates.
func parseErrorStatuses(v string) ([]int32, error) {
	var out []int32
	for e := range strings.SplitSeq(v, ",") {
		e = strings.TrimSpace(e)
		n, err := strconv.Atoi(e)
		if err != nil || n < 400 || n > 599 || e != strconv.Itoa(n) {
			return nil, fmt.Errorf("%q is not a list of statuses from 400 to 599", clip.Value(v))
		}
		out = append(out, int32(n))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// readErrorPages reads default-backend and custom-http-errors into
// ours. Without default-backend, ingress-nginx asks its own default
// backend (--default-backend-service) for the pages, which there is
// none of here.
func (r *nginxReader) readErrorPages() {
	const backend, codes = "default-backend", "custom-http-errors"
	if v, ok := r.get(backend); ok && r.free(backend, AnnotationDefaultBackend) {
		if _, _, err := parseServiceRef(v); err != nil || strings.Contains(v, ":") {
			r.invalid(backend, "%q is not the name of a Service of this namespace; requests whose Service has no ready endpoint get 503", clip.Value(v))
		} else {
			r.out[AnnotationDefaultBackend] = v
		}
	}
	v, ok := r.get(codes)
	if !ok || !r.free(codes, AnnotationErrorStatuses) {
		return
	}
	statuses, err := parseErrorStatuses(v)
	if err != nil {
		r.invalid(codes, "%v; the backends' error responses reach the client as they are", err)
		return
	}
	_, fallback := r.out[AnnotationDefaultBackend]
	_, pages := r.in[AnnotationErrorBackend]
	if !fallback && !pages {
		r.unsupported(codes, "without %sdefault-backend ingress-nginx asks the controller's default backend for the pages, which is not configured here; the backends' error responses reach the client as they are", NginxAnnotationPrefix)
		return
	}
	list := make([]string, len(statuses))
	for i, s := range statuses {
		list[i] = strconv.Itoa(int(s))
	}
	r.out[AnnotationErrorStatuses] = strings.Join(list, ",")
}
