// Package ingressstatus computes what an Ingress's
// status.loadBalancer.ingress should say: a pure function of the applied
// config, the addresses the provider reports and what the flags publish
// instead. The status writer (package kubernetes) only compares and
// writes.
package ingressstatus

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"ingress-controller/pkg/lbconfig"
)

// Publish is what the flags publish in place of the provider's addresses.
type Publish struct {
	// Addresses, IP addresses or hostnames, win over everything
	// (--publish-status-address).
	Addresses []string
	// UseService is set with --publish-service; Service is that Service,
	// nil while it is missing (then nothing is published).
	UseService bool
	Service    *corev1.Service
	// UseReplicas is set when some live replica of the controller has a
	// public address; Replicas are then the addresses of the replicas
	// that serve this load balancer, and none means nothing is published.
	UseReplicas bool
	Replicas    []string
}

// LoadBalancer is what to publish for lb, whose provider reported addrs,
// in priority order: pub.Addresses; else the publish Service's
// status.loadBalancer.ingress and spec.externalIPs, copied as they are;
// else pub.Replicas; else addrs. A load balancer on addresses of its own
// (lbconfig.LoadBalancer.Addresses) is reached there, not where the
// others are: when the provider reports addresses for it, those are
// published whatever pub says. Ports are listed for the first and last only, and only when
// a port is not 80 or 443: the HTTP and HTTPS listener ports, or the ports
// the provider reports with an address (those of other listeners left
// out).
func LoadBalancer(lb lbconfig.LoadBalancer, addrs []lbconfig.Address, pub Publish) []networkingv1.IngressLoadBalancerIngress {
	// Only the ports an Ingress is served on: TCP listeners of the same
	// load balancer are no concern of its clients.
	listenerPorts := make([]int32, 0, len(lb.Listeners))
	for _, l := range lb.Listeners {
		if l.Protocol == lbconfig.ProtocolHTTP || l.Protocol == lbconfig.ProtocolHTTPS {
			listenerPorts = append(listenerPorts, l.Port)
		}
	}
	var out []networkingv1.IngressLoadBalancerIngress
	if len(lb.Addresses) > 0 && len(addrs) > 0 {
		pub = Publish{}
	}
	if len(pub.Addresses) > 0 {
		for _, a := range pub.Addresses {
			out = append(out, addressStatus(lbconfig.Address{IP: a}, listenerPorts))
		}
		return Normalize(out)
	}
	if pub.UseService {
		if pub.Service == nil {
			return nil
		}
		return serviceStatus(pub.Service)
	}
	if pub.UseReplicas {
		for _, a := range pub.Replicas {
			out = append(out, addressStatus(lbconfig.Address{IP: a}, listenerPorts))
		}
		return Normalize(out)
	}
	for _, a := range addrs {
		if len(a.Ports) > 0 {
			a.Ports = slices.DeleteFunc(slices.Clone(a.Ports), func(p int32) bool { return !slices.Contains(listenerPorts, p) })
			if len(a.Ports) == 0 {
				continue // this address serves only other listeners
			}
		}
		out = append(out, addressStatus(a, listenerPorts))
	}
	return Normalize(out)
}

// Desired is the status of every Ingress in cfg, by namespace and name:
// the status of each of its load balancers (an Ingress on two gets both
// their addresses), computed with status. It also returns every status it
// computed, load balancers' and Ingresses', by Key.
func Desired(cfg *lbconfig.Config, status func(lbconfig.LoadBalancer) []networkingv1.IngressLoadBalancerIngress) (map[types.NamespacedName][]networkingv1.IngressLoadBalancerIngress, []string) {
	want := map[types.NamespacedName][]networkingv1.IngressLoadBalancerIngress{}
	var keys []string
	for _, lb := range cfg.LoadBalancers {
		st := status(lb)
		keys = append(keys, Key(st))
		for _, ref := range lb.Sources {
			if ref.Kind != "Ingress" {
				continue
			}
			k := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
			want[k] = Normalize(append(slices.Clone(want[k]), st...))
		}
	}
	for _, st := range want {
		keys = append(keys, Key(st))
	}
	slices.Sort(keys)
	return want, slices.Compact(keys)
}

// addressStatus turns a provider address into a status entry. An IP field
// that holds a hostname (as PublishAddresses may) becomes a hostname.
func addressStatus(a lbconfig.Address, listenerPorts []int32) networkingv1.IngressLoadBalancerIngress {
	e := networkingv1.IngressLoadBalancerIngress{IP: a.IP, Hostname: a.Hostname}
	if a.IP != "" {
		if ip, err := netip.ParseAddr(a.IP); err == nil {
			e.IP = ip.String()
		} else if a.Hostname == "" {
			e.IP, e.Hostname = "", strings.ToLower(a.IP)
		}
	}
	ports := a.Ports
	if len(ports) == 0 {
		ports = listenerPorts
	}
	e.Ports = portStatus(ports)
	return e
}

// portStatus lists ports only when one is not a well-known HTTP(S) port:
// clients assume 80 and 443.
func portStatus(ports []int32) []networkingv1.IngressPortStatus {
	if !slices.ContainsFunc(ports, func(p int32) bool { return p != 80 && p != 443 }) {
		return nil
	}
	sorted := slices.Clone(ports)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	out := make([]networkingv1.IngressPortStatus, 0, len(sorted))
	for _, p := range sorted {
		out = append(out, networkingv1.IngressPortStatus{Port: p, Protocol: corev1.ProtocolTCP})
	}
	return out
}

// serviceStatus copies a Service's load-balancer addresses and external
// IPs.
func serviceStatus(svc *corev1.Service) []networkingv1.IngressLoadBalancerIngress {
	var out []networkingv1.IngressLoadBalancerIngress
	for _, in := range svc.Status.LoadBalancer.Ingress {
		e := networkingv1.IngressLoadBalancerIngress{IP: in.IP, Hostname: in.Hostname}
		for _, p := range in.Ports {
			e.Ports = append(e.Ports, networkingv1.IngressPortStatus{Port: p.Port, Protocol: p.Protocol, Error: p.Error})
		}
		out = append(out, e)
	}
	for _, ip := range svc.Spec.ExternalIPs {
		out = append(out, networkingv1.IngressLoadBalancerIngress{IP: ip})
	}
	return Normalize(out)
}

// Normalize sorts entries, IP addresses first (in numeric order), then
// hostnames, and drops duplicates, so that the same addresses always give the same status.
func Normalize(in []networkingv1.IngressLoadBalancerIngress) []networkingv1.IngressLoadBalancerIngress {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b networkingv1.IngressLoadBalancerIngress) int {
		return cmp.Or(
			cmp.Compare(hostnameOnly(a), hostnameOnly(b)),
			compareIP(a.IP, b.IP),
			cmp.Compare(a.Hostname, b.Hostname),
			cmp.Compare(entryKey(a), entryKey(b)))
	})
	return slices.CompactFunc(out, func(a, b networkingv1.IngressLoadBalancerIngress) bool { return entryKey(a) == entryKey(b) })
}

// compareIP orders IP addresses numerically, IPv4 before IPv6, and
// anything else as text after them.
func compareIP(a, b string) int {
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	switch {
	case errX == nil && errY == nil:
		return x.Compare(y)
	case errX == nil:
		return -1
	case errY == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

func hostnameOnly(e networkingv1.IngressLoadBalancerIngress) int {
	if e.IP == "" {
		return 1
	}
	return 0
}

// Equal compares entry by entry, in order: a status in another order
// is rewritten once, sorted.
func Equal(a, b []networkingv1.IngressLoadBalancerIngress) bool {
	return slices.EqualFunc(a, b, func(x, y networkingv1.IngressLoadBalancerIngress) bool {
		return entryKey(x) == entryKey(y)
	})
}

// Key is a canonical text form of a status, for comparison and logs.
func Key(st []networkingv1.IngressLoadBalancerIngress) string {
	parts := make([]string, len(st))
	for i, e := range st {
		parts[i] = entryKey(e)
	}
	return strings.Join(parts, ",")
}

func entryKey(e networkingv1.IngressLoadBalancerIngress) string {
	var b strings.Builder
	b.WriteString(e.IP)
	if e.Hostname != "" {
		if e.IP != "" {
			b.WriteByte('/')
		}
		b.WriteString(e.Hostname)
	}
	for i, p := range e.Ports {
		if i == 0 {
			b.WriteByte(':')
		} else {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(int(p.Port)))
		if p.Protocol != corev1.ProtocolTCP {
			b.WriteString("/" + string(p.Protocol))
		}
		if p.Error != nil {
			b.WriteString("!" + *p.Error)
		}
	}
	return b.String()
}

// Recent is a set of strings that, past its bound, forgets the half it
// was told about least recently: the statuses a writer published lately.
type Recent struct {
	max int
	gen uint64
	set map[string]uint64 // the generation of each string's last Add
}

// NewRecent returns an empty set that holds at most max strings.
func NewRecent(max int) *Recent {
	return &Recent{max: max, set: map[string]uint64{}}
}

// Has reports whether k is in the set.
func (r *Recent) Has(k string) bool { _, ok := r.set[k]; return ok }

// Add puts k in the set as the newest.
func (r *Recent) Add(k string) {
	r.gen++
	r.set[k] = r.gen
	if len(r.set) <= r.max {
		return
	}
	gens := slices.Sorted(maps.Values(r.set))
	cutoff := gens[len(gens)/2]
	maps.DeleteFunc(r.set, func(_ string, g uint64) bool { return g < cutoff })
}

// Len is the number of strings in the set.
func (r *Recent) Len() int { return len(r.set) }
