package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// index finds Services, their EndpointSlices and Secrets by namespace and
// name.
type index struct {
	services map[string]*corev1.Service
	secrets  map[string]*corev1.Secret
	// slices by "<namespace>/<service>", sorted by slice name.
	slices map[string][]*discoveryv1.EndpointSlice
}

func newIndex(snap *Snapshot) *index {
	ix := &index{
		services: map[string]*corev1.Service{},
		secrets:  map[string]*corev1.Secret{},
		slices:   map[string][]*discoveryv1.EndpointSlice{},
	}
	for _, sec := range snap.Secrets {
		if sec == nil {
			continue
		}
		// As for Services, the first of duplicates wins.
		if key := sec.Namespace + "/" + sec.Name; ix.secrets[key] == nil {
			ix.secrets[key] = sec
		}
	}
	for _, svc := range snap.Services {
		if svc == nil {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		// The snapshot should hold each Service once; if not, the first wins.
		if _, dup := ix.services[key]; !dup {
			ix.services[key] = svc
		}
	}
	for _, es := range snap.EndpointSlices {
		if es == nil {
			continue
		}
		name, ok := es.Labels[discoveryv1.LabelServiceName]
		if !ok {
			continue
		}
		key := es.Namespace + "/" + name
		ix.slices[key] = append(ix.slices[key], es)
	}
	for _, list := range ix.slices {
		slices.SortStableFunc(list, func(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })
	}
	return ix
}

// backendSite is where an Ingress refers to a backend: a path or the
// default backend.
type backendSite struct {
	ref   lbconfig.ObjectRef
	field string // e.g. "spec.rules[0].http.paths[1].backend"
	// what is ignored if the backend is unusable, e.g. "this path".
	what string
	// served is what answers 503 if the Service is missing, e.g. "the route".
	served string
	// tcp is set for a TCP listener: field is the annotation, and a
	// backend without endpoints closes connections rather than answer 503.
	tcp bool
}

// checkBackend returns the service backend, or reports why there is none
// usable. Only the backend's shape is checked here; a missing Service still
// gives a route (see resolve).
func (b *builder) checkBackend(s backendSite, be *networkingv1.IngressBackend) (*networkingv1.IngressServiceBackend, bool) {
	switch {
	case be.Service != nil && be.Resource != nil:
		b.problems.add(s.ref, s.field, "InvalidBackend",
			"a backend cannot name both a service and a resource; %s is ignored", s.what)
		return nil, false
	case be.Resource != nil:
		b.problems.add(s.ref, s.field+".resource", "UnsupportedBackend",
			"resource backends (%s %q) are not supported, only services; %s is ignored",
			be.Resource.Kind, be.Resource.Name, s.what)
		return nil, false
	case be.Service == nil:
		b.problems.add(s.ref, s.field, "InvalidBackend",
			"a backend needs a service; %s is ignored", s.what)
		return nil, false
	}
	svc := be.Service
	port := svc.Port
	switch {
	case !isDNSLabel(svc.Name, 63):
		b.problems.add(s.ref, s.field+".service.name", "InvalidBackend",
			"service name %q is not a valid DNS label; %s is ignored", svc.Name, s.what)
	case port.Name != "" && port.Number != 0:
		b.problems.add(s.ref, s.field+".service.port", "InvalidBackend",
			"a service port needs a name or a number, not both; %s is ignored", s.what)
	case port.Name == "" && port.Number == 0:
		b.problems.add(s.ref, s.field+".service.port", "InvalidBackend",
			"a service port name or number is required; %s is ignored", s.what)
	case port.Number < 0 || port.Number > 65535:
		b.problems.add(s.ref, s.field+".service.port.number", "InvalidBackend",
			"%d is not a port number; %s is ignored", port.Number, s.what)
	case port.Name != "" && !isDNSLabel(port.Name, 15):
		b.problems.add(s.ref, s.field+".service.port.name", "InvalidBackend",
			"service port name %q is not a valid port name; %s is ignored", port.Name, s.what)
	default:
		return svc, true
	}
	return nil, false
}

// isDNSLabel reports whether s is 1 to max characters of a-z, 0-9 and
// inner '-'. Service and port names must be, which also keeps backend names
// ("<ns>/<service>:<port>") unambiguous.
func isDNSLabel(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}

// resolvedBackend is a backend and what, if anything, is wrong with it.
type resolvedBackend struct {
	backend lbconfig.Backend
	// issue is reported at every site that refers to the backend.
	issue *backendIssue
}

type backendIssue struct {
	reason string
	field  string // relative to the site's field, e.g. ".service.name"
	msg    string // without the consequence, which depends on the site
}

// backend returns the name of the backend for svc, resolving it on first use
// and reporting its issue, if any, at this site. An Ingress with a policy
// of its own gets backends of its own, "<ns>/<service>:<port>@<ingress>",
// so that Ingresses sharing a Service never mix their policies.
func (b *builder) backend(s backendSite, svc *networkingv1.IngressServiceBackend) string {
	ns := s.ref.Namespace
	name := backendName(ns, svc)
	pol, ok := b.policies[s.ref]
	if !ok {
		pol.policy = DefaultPolicy()
	}
	if pol.custom {
		name += "@" + s.ref.Name
	}
	rb := b.backends[name]
	if rb == nil {
		rb = b.resolve(ns, svc)
		rb.backend.Name = name
		rb.backend.Policy = pol.policy
		rb.backend.Protocol = pol.protocol
		rb.backend.TLS = withServiceName(pol.tls, ns, svc.Name) // backendtls.go
		b.backends[name] = rb
	}
	if is := rb.issue; is != nil {
		if s.tcp {
			b.problems.add(s.ref, s.field, is.reason, "%s; connections to %s are closed", is.msg, s.served)
		} else {
			b.problems.add(s.ref, s.field+is.field, is.reason, "%s; %s answers 503", is.msg, s.served)
		}
	}
	return name
}

func backendName(ns string, svc *networkingv1.IngressServiceBackend) string {
	port := svc.Port.Name
	if port == "" {
		port = strconv.Itoa(int(svc.Port.Number))
	}
	return ns + "/" + svc.Name + ":" + port
}

// resolve finds the endpoints of a service port. When the Service or its
// port is missing, the backend has no endpoints, so its routes answer 503
// until the Service appears, and the issue says why.
func (b *builder) resolve(ns string, ref *networkingv1.IngressServiceBackend) *resolvedBackend {
	svc := b.index.services[ns+"/"+ref.Name]
	if svc == nil {
		return &resolvedBackend{issue: &backendIssue{
			reason: "ServiceNotFound",
			field:  ".service.name",
			msg:    fmt.Sprintf("service %q not found in namespace %q", ref.Name, ns),
		}}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return &resolvedBackend{issue: &backendIssue{
			reason: "UnsupportedBackend",
			field:  ".service.name",
			msg: fmt.Sprintf("service %q in namespace %q is of type ExternalName, which is not supported",
				ref.Name, ns),
		}}
	}
	sp := servicePort(svc, ref.Port)
	if sp == nil {
		is := &backendIssue{reason: "ServicePortNotFound"}
		if ref.Port.Name != "" {
			is.field = ".service.port.name"
			is.msg = fmt.Sprintf("service %q in namespace %q has no TCP port named %q",
				ref.Name, ns, ref.Port.Name)
		} else {
			is.field = ".service.port.number"
			is.msg = fmt.Sprintf("service %q in namespace %q has no TCP port %d",
				ref.Name, ns, ref.Port.Number)
		}
		return &resolvedBackend{issue: is}
	}
	return &resolvedBackend{backend: lbconfig.Backend{
		Endpoints: b.endpoints(ns, ref.Name, sp.Name),
	}}
}

// servicePort finds the TCP port an Ingress backend refers to. Ingress
// traffic is TCP, so a UDP or SCTP port of the same number does not count.
func servicePort(svc *corev1.Service, port networkingv1.ServiceBackendPort) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if !isTCP(sp.Protocol) {
			continue
		}
		if (port.Name != "" && sp.Name == port.Name) || (port.Name == "" && sp.Port == port.Number) {
			return sp
		}
	}
	return nil
}

func isTCP(p corev1.Protocol) bool { return p == "" || p == corev1.ProtocolTCP }
