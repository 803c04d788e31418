package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// TCP services: Ingress cannot express TCP, so a Service asks for a TCP
// listener with an annotation. The load balancer forwards every connection
// on the public port to the Service's endpoints, balanced by the Service's
// own ingress-controller.io/load-balance (round_robin or least_request).
const (
	// AnnotationTCPListenPort on a Service: "<public port>" or
	// "<public port>:<service port name or number>".
	AnnotationTCPListenPort = AnnotationPrefix + "tcp-listen-port"
	// AnnotationServiceClass on a Service: the ingress class whose
	// controller exposes it; without it, every controller of ours does.
	AnnotationServiceClass = AnnotationPrefix + "ingress-class"
)

// tcpService is a Service's request for a TCP listener.
type tcpService struct {
	ref     lbconfig.ObjectRef
	port    int32
	backend string
}

// addTCPServices reads the TCP listen port annotations of the Services of
// our class, oldest first, which is the order in which they win a port.
func (b *builder) addTCPServices(services []*corev1.Service, opts Options) {
	var ours []*corev1.Service
	for _, svc := range services {
		if svc == nil {
			continue
		}
		if _, ok := svc.Annotations[AnnotationTCPListenPort]; !ok {
			continue
		}
		if class, ok := svc.Annotations[AnnotationServiceClass]; ok && class != opts.IngressClass {
			continue
		}
		ours = append(ours, svc)
	}
	slices.SortFunc(ours, func(a, c *corev1.Service) int {
		return cmp.Or(a.CreationTimestamp.Compare(c.CreationTimestamp.Time),
			cmp.Compare(a.Namespace, c.Namespace), cmp.Compare(a.Name, c.Name))
	})
	for _, svc := range ours {
		ref := lbconfig.ObjectRef{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name}
		if slices.ContainsFunc(b.tcp, func(t tcpService) bool { return t.ref == ref }) {
			continue // listed twice in the snapshot
		}
		field := "metadata.annotations[" + AnnotationTCPListenPort + "]"
		public, port, err := parseTCPListenPort(svc, svc.Annotations[AnnotationTCPListenPort])
		if err != nil {
			b.problems.add(ref, field, "InvalidAnnotation", "%v; no TCP listener for this Service", err)
			continue
		}
		if _, seen := b.policies[ref]; !seen {
			b.policies[ref] = b.policyOf(svc.Annotations, ref)
		}
		site := backendSite{ref: ref, field: field, what: "this TCP listener", served: fmt.Sprintf("TCP port %d", public), tcp: true}
		name := b.backend(site, &networkingv1.IngressServiceBackend{Name: svc.Name, Port: port})
		b.tcp = append(b.tcp, tcpService{ref: ref, port: public, backend: name})
		b.sources = append(b.sources, ref)
	}
}

// parseTCPListenPort reads "<public>[:<service port>]". Without a service
// port, the Service's only TCP port is used, or the one numbered like the
// public port.
func parseTCPListenPort(svc *corev1.Service, v string) (int32, networkingv1.ServiceBackendPort, error) {
	var none networkingv1.ServiceBackendPort
	pub, target, hasTarget := strings.Cut(strings.TrimSpace(v), ":")
	n, err := strconv.Atoi(pub)
	if err != nil || n < 1 || n > 65535 {
		return 0, none, fmt.Errorf("%q is not <public port>[:<service port>] with a public port from 1 to 65535", clip.Value(v))
	}
	public := int32(n)
	if hasTarget {
		if t, err := strconv.Atoi(target); err == nil {
			if t < 1 || t > 65535 {
				return 0, none, fmt.Errorf("%q: %d is not a port number", clip.Value(v), t)
			}
			return public, networkingv1.ServiceBackendPort{Number: int32(t)}, nil
		}
		if !isDNSLabel(target, 15) {
			return 0, none, fmt.Errorf("%q: %q is not a service port name", v, target)
		}
		return public, networkingv1.ServiceBackendPort{Name: target}, nil
	}
	var tcp []corev1.ServicePort
	for _, p := range svc.Spec.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			tcp = append(tcp, p)
		}
	}
	if len(tcp) == 1 {
		return public, networkingv1.ServiceBackendPort{Number: tcp[0].Port}, nil
	}
	for _, p := range tcp {
		if p.Port == public {
			return public, networkingv1.ServiceBackendPort{Number: p.Port}, nil
		}
	}
	return 0, none, fmt.Errorf("%q: the Service has %d TCP ports and none is %d; name one as <public port>:<service port>", v, len(tcp), public)
}

// tcpListeners returns the TCP listeners, leaving out, with a problem,
// those whose port another listener has.
func (b *builder) tcpListeners(taken map[int32]string) []lbconfig.Listener {
	var out []lbconfig.Listener
	for _, t := range b.tcp {
		if owner, clash := taken[t.port]; clash {
			b.problems.add(t.ref, "metadata.annotations["+AnnotationTCPListenPort+"]", "PortConflict",
				"port %d is already used by %s; no TCP listener for this Service", t.port, owner)
			continue
		}
		taken[t.port] = t.ref.String()
		out = append(out, lbconfig.Listener{Port: t.port, Protocol: lbconfig.ProtocolTCP, TCP: &lbconfig.BackendRef{Name: t.backend}})
	}
	return out
}
